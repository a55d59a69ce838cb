//! One instance per root: an exclusive, non-blocking `flock` on a lock file
//! that holds the holder's pid.
//!
//! The lock belongs to the open file description, so the kernel drops it
//! when the process dies, SIGKILL included: a stale file never blocks a
//! restart. The file itself is left in place (removing it would race with
//! a new instance that just opened it).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cgcal_cli::UserError;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct InstanceLock {
    path: PathBuf,
    _file: Flock<File>,
}

impl InstanceLock {
    /// Opens (creating it 0600) and locks `path`, then writes our pid into it.
    /// When another process holds it, the error names the file and the pid
    /// the holder wrote.
    pub fn acquire(path: &Path) -> anyhow::Result<InstanceLock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                UserError::new(format!("cannot open the lock file: {e}"))
                    .at(path.display().to_string())
                    .hint("give a writable path with --lock-file")
            })?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim();
                let holder = if holder.is_empty() {
                    "unknown pid".to_string()
                } else {
                    format!("pid {holder}")
                };
                return Err(UserError::new(format!(
                    "another cgact instance ({holder}) manages this root"
                ))
                .at(path.display().to_string())
                .hint("stop it first; only one instance may run per root")
                .into());
            }
            Err((_, e)) => {
                return Err(UserError::new(format!("cannot lock the lock file: {e}"))
                    .at(path.display().to_string())
                    .into())
            }
        };
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.flush())
            .with_context(|| format!("writing our pid into {}", path.display()))?;
        Ok(InstanceLock {
            path: path.to_path_buf(),
            _file: file,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn second_acquire_names_file_and_holder_pid_then_succeeds_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cgact.lock");
        let held = InstanceLock::acquire(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let err = InstanceLock::acquire(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        let again = InstanceLock::acquire(&path).unwrap();
        assert_eq!(again.path(), path);
    }

    #[test]
    fn unopenable_path_is_a_user_error_naming_it() {
        let err = InstanceLock::acquire(Path::new("/nonexistent-dir/x.lock"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent-dir/x.lock"), "{err}");
    }
}
