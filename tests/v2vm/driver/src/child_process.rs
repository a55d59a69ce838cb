//! The programs a scenario runs (`cgrec`, `cgact`, `cgcal-hog`, all next to
//! this binary): a guard that kills a child on drop, a daemon started until
//! it logs that it is ready, and one-shot runs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cgcal_testkit::{bin_path, spawn_hog, wait_ready_within, HogOptions};

/// Longest a daemon may take to log its start line, and a hog to become
/// ready (bounds, never asserted timings: the VM is emulated and slow).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A child process that is SIGKILLed and reaped when dropped.
pub struct Running {
    child: Child,
    /// The child's stderr lines, as they come.
    pub log: mpsc::Receiver<String>,
}

impl Running {
    /// Waits for the child to exit (bounded by the program's own
    /// `--duration`, or by a signal sent first).
    pub fn wait(&mut self) -> Result<std::process::ExitStatus, String> {
        self.child.wait().map_err(|e| format!("wait: {e}"))
    }

    /// Sends SIGTERM, waits, and returns the exit code (`None`: killed by a
    /// signal).
    pub fn terminate(&mut self) -> Result<Option<i32>, String> {
        // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        Ok(self.wait()?.code())
    }

    /// Every stderr line received so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the workspace binary `program` with `args`, stderr piped, and
/// waits until a stderr line contains `ready_marker`. Fails with the lines
/// seen when the program exits first or logs nothing within [`PATIENCE`].
pub fn start_daemon(program: &str, args: &[&str], ready_marker: &str) -> Result<Running, String> {
    let mut child = Command::new(bin_path(program))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {program}: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let running = Running { child, log: rx };
    let mut seen = Vec::new();
    loop {
        match running.log.recv_timeout(PATIENCE) {
            Ok(line) if line.contains(ready_marker) => return Ok(running),
            Ok(line) => seen.push(line),
            Err(e) => {
                return Err(format!(
                    "{program} {args:?} did not log {ready_marker:?} ({e}); its stderr: {seen:?}"
                ))
            }
        }
    }
}

/// Runs `program args` to completion; its output when it exits 0.
pub fn run_ok(program: &str, args: &[&str]) -> Result<Output, String> {
    let out = Command::new(bin_path(program))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {program}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{program} {args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A `cgcal-hog` of `mib` MiB in `cgroup`, killed on drop.
pub struct Hog {
    child: Child,
}

impl Hog {
    /// Starts the hog (see [`spawn_hog`]).
    pub fn spawn(cgroup: &Path, mib: u64, opts: HogOptions) -> Hog {
        Hog {
            child: spawn_hog(cgroup, mib, opts),
        }
    }

    /// Waits (bounded by [`PATIENCE`]) until all its memory is charged: the
    /// bytes, or why not (`Exited` when it was OOM-killed first).
    pub fn ready(&mut self) -> Result<u64, String> {
        wait_ready_within(&mut self.child, PATIENCE).map_err(|e| format!("{e:?}"))
    }

    /// True while the hog has not exited.
    pub fn running(&mut self) -> Result<bool, String> {
        let status = self
            .child
            .try_wait()
            .map_err(|e| format!("hog status: {e}"))?;
        Ok(status.is_none())
    }

    /// Reaps the hog after it ended; its exit status.
    pub fn wait(&mut self) -> Result<std::process::ExitStatus, String> {
        self.child
            .wait()
            .map_err(|e| format!("wait for the hog: {e}"))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
