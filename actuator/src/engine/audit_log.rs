//! The audit log (`--log`, SPEC §6): one JSON line per decision, appended
//! with a single `write` on an `O_APPEND` file (so a line is never
//! interleaved or half-replaced) before the next event is handled.
//!
//! A failing write (disk full, file made unwritable) never stops the
//! daemon: the line is logged in full at error level through `tracing`
//! (stderr, journald), kept in memory and written before the next line
//! once the file accepts writes again (at most [`MAX_PENDING`] lines are
//! kept; older ones are dropped with a warning), and the engine records it
//! in the journal's `done` record.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use cgcal_cli::UserError;
use cgcal_core::audit::AuditLine;

/// Lines kept in memory while the log cannot be written.
pub const MAX_PENDING: usize = 1024;

/// The `--log` file, or nothing without `--log`.
#[derive(Debug, Default)]
pub struct AuditLog {
    file: Option<(PathBuf, File)>,
    pending: VecDeque<String>,
}

impl AuditLog {
    /// Opens `path` for appending, creating it with mode 0640.
    pub fn open(path: Option<&Path>) -> Result<AuditLog, UserError> {
        let Some(path) = path else {
            return Ok(AuditLog::default());
        };
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .map_err(|e| {
                UserError::new(format!("cannot open the audit log: {e}"))
                    .at(path.display().to_string())
                    .hint("give a writable file with --log")
            })?;
        Ok(AuditLog {
            file: Some((path.to_path_buf(), file)),
            pending: VecDeque::new(),
        })
    }

    /// Appends `line` (after any lines still pending). On failure the line
    /// is logged at error level with its full JSON and kept for the next
    /// attempt; the error is returned for the caller to record.
    pub fn append(&mut self, line: &AuditLine) -> io::Result<()> {
        let json = line.to_json();
        tracing::debug!(audit = %json, "audit line");
        let Some((path, file)) = &mut self.file else {
            return Ok(());
        };
        if self.pending.len() >= MAX_PENDING {
            if let Some(dropped) = self.pending.pop_front() {
                tracing::warn!(log = %path.display(), line = %dropped, "audit line dropped: too many unwritten lines");
            }
        }
        self.pending.push_back(json);
        while let Some(next) = self.pending.front() {
            let mut bytes = Vec::with_capacity(next.len() + 1);
            bytes.extend_from_slice(next.as_bytes());
            bytes.push(b'\n');
            if let Err(e) = file.write_all(&bytes).and_then(|_| file.flush()) {
                tracing::error!(
                    log = %path.display(),
                    error = %e,
                    line = %self.pending.back().map_or("", String::as_str),
                    pending = self.pending.len(),
                    "cannot write the audit log; the line is kept and written later"
                );
                return Err(io::Error::new(
                    e.kind(),
                    format!("audit log {}: {e}", path.display()),
                ));
            }
            self.pending.pop_front();
        }
        Ok(())
    }

    /// Lines not written yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    use cgcal_core::audit::{Outcome, Source};

    use super::*;

    fn line(added: u64) -> AuditLine {
        AuditLine {
            time: "2026-11-28T12:00:00.000000Z".into(),
            oom_cgroup: "/a".into(),
            added_memory: added,
            adjusted_cgroups: vec![],
            source: Source::Global,
            outcome: Outcome::Resolved,
            algo: "proportional".into(),
            mode: "rescue".into(),
            latency_us: 1,
            limits_before: BTreeMap::new(),
            limits_after: BTreeMap::new(),
        }
    }

    #[test]
    fn appends_one_line_per_call_to_a_0640_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let mut log = AuditLog::open(Some(&path)).unwrap();
        log.append(&line(1)).unwrap();
        log.append(&line(2)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let text = std::fs::read_to_string(&path).unwrap();
        let added: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<AuditLine>(l).unwrap().added_memory)
            .collect();
        assert_eq!(added, vec![1, 2]);
        // Reopening appends.
        let mut again = AuditLog::open(Some(&path)).unwrap();
        again.append(&line(3)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    }

    #[test]
    fn a_full_disk_keeps_the_line_and_reports_the_error() {
        let mut log = AuditLog::open(Some(Path::new("/dev/full"))).unwrap();
        let err = log.append(&line(1)).unwrap_err();
        assert!(err.to_string().contains("/dev/full"), "{err}");
        assert_eq!(log.pending(), 1);
        assert!(log.append(&line(2)).is_err());
        assert_eq!(log.pending(), 2);
    }

    #[test]
    fn no_log_file_writes_nothing() {
        let mut log = AuditLog::open(None).unwrap();
        log.append(&line(1)).unwrap();
        assert_eq!(log.pending(), 0);
    }

    #[test]
    fn an_unopenable_log_is_a_user_error_naming_it() {
        let e = AuditLog::open(Some(Path::new("/nonexistent/a.log")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/a.log"), "{e}");
    }
}
