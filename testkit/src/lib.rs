//! Test support for cgcal's live cgroup tests.
//!
//! * [`LiveParent`]: a uniquely named parent cgroup in the v1 memory
//!   hierarchy (`/sys/fs/cgroup/memory/cgcal-test-<pid>-<n>-<tag>`) under
//!   which a test creates its cgroups; dropping it kills every task below
//!   it, resets `oom_kill_disable` and removes the whole subtree;
//!   [`LiveParent::new_v2`] makes one on a cgroup v2 hierarchy (the VM
//!   scenarios of `tests/v2vm/`).
//! * [`spawn_hog`] / [`wait_ready`]: run the `cgcal-hog` memory hog in a
//!   cgroup and wait until its memory is charged.
//! * [`bin_path`]: the path of a workspace binary next to the test executable.
//!
//! ```no_run
//! use cgcal_testkit::{spawn_hog, wait_ready, HogOptions, LiveParent};
//! let Some(parent) = LiveParent::new("doc") else { return }; // printed SKIP
//! let dir = parent.child("a");
//! parent.set_limit("a", 64 << 20);
//! let mut hog = spawn_hog(&dir, 20, HogOptions::default());
//! let bytes = wait_ready(&mut hog).expect("hog ready");
//! assert_eq!(bytes, 20 << 20);
//! // parent's Drop kills the hog and removes the cgroups.
//! ```
#![deny(missing_docs)]

use std::fs;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where the v1 memory hierarchy is mounted on the test machines.
pub const V1_MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";

/// Longest a [`wait_ready`] waits for the hog's `ready` line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest [`LiveParent`]'s drop waits for the subtree's tasks to exit.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest it retries removing the directories.
const RMDIR_TIMEOUT: Duration = Duration::from_secs(5);

static NEXT_PARENT: AtomicU32 = AtomicU32::new(0);

/// A uniquely named parent cgroup for one test, removed with everything
/// below it on drop.
#[derive(Debug)]
pub struct LiveParent {
    path: PathBuf,
    name: String,
}

impl LiveParent {
    /// Creates `/sys/fs/cgroup/memory/cgcal-test-<pid>-<n>-<tag>`, `n` from a
    /// process-wide counter; characters of `tag` other than ASCII
    /// alphanumerics, `-` and `_` become `_`. Returns `None` after printing
    /// `SKIP: <why>` when there is no writable v1 memory hierarchy.
    pub fn new(tag: &str) -> Option<LiveParent> {
        let root = Path::new(V1_MEMORY_ROOT);
        if !root.join("memory.limit_in_bytes").exists() {
            println!("SKIP: no cgroup v1 memory hierarchy at {V1_MEMORY_ROOT}");
            return None;
        }
        Self::create_in(root, tag)
    }

    /// Like [`LiveParent::new`] on a cgroup v2 hierarchy mounted at
    /// `mount` (its root, so that [`LiveParent::name`] stays `/leaf`), with
    /// `+memory` written to the new parent's `cgroup.subtree_control` so
    /// that its children get the memory files. Returns `None` after
    /// printing `SKIP: <why>` when `mount` has no memory controller for its
    /// children or the parent cannot be created.
    pub fn new_v2(mount: &Path, tag: &str) -> Option<LiveParent> {
        let subtree = fs::read_to_string(mount.join("cgroup.subtree_control")).unwrap_or_default();
        if !subtree.split_whitespace().any(|c| c == "memory") {
            println!(
                "SKIP: no cgroup v2 memory controller enabled for the children of {}",
                mount.display()
            );
            return None;
        }
        let parent = Self::create_in(mount, tag)?;
        let control = parent.path.join("cgroup.subtree_control");
        if let Err(e) = fs::write(&control, "+memory") {
            println!("SKIP: cannot write +memory to {}: {e}", control.display());
            return None;
        }
        Some(parent)
    }

    /// Creates `root/cgcal-test-<pid>-<n>-<tag>` (see [`LiveParent::new`]).
    fn create_in(root: &Path, tag: &str) -> Option<LiveParent> {
        let tag: String = tag
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let n = NEXT_PARENT.fetch_add(1, Ordering::Relaxed);
        let leaf = format!("cgcal-test-{}-{n}-{tag}", std::process::id());
        let path = root.join(&leaf);
        if let Err(e) = fs::create_dir(&path) {
            println!("SKIP: cannot create {}: {e}", path.display());
            return None;
        }
        Some(LiveParent {
            path,
            name: format!("/{leaf}"),
        })
    }

    /// The parent's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parent's cgroup name in the hierarchy (`/cgcal-test-...`; the v1
    /// memory hierarchy is mounted with root `/` on the test machines).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cgroup name of the sub-cgroup `rel` (`"a/b"` gives
    /// `/cgcal-test-.../a/b`).
    pub fn name_of(&self, rel: &str) -> String {
        format!("{}/{}", self.name, rel.trim_matches('/'))
    }

    /// Creates the sub-cgroup `rel` (`"a"` or `"a/b"`, parents included)
    /// and returns its directory. Panics (failing the test) if it cannot.
    pub fn child(&self, rel: &str) -> PathBuf {
        let dir = self.path.join(rel.trim_matches('/'));
        assert!(
            dir.starts_with(&self.path) && !rel.split('/').any(|c| c == ".."),
            "child {rel:?} escapes the test parent"
        );
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        dir
    }

    /// Writes `bytes` to `memory.limit_in_bytes` of the sub-cgroup `rel`
    /// (`""` for the parent itself). Panics if the write fails.
    pub fn set_limit(&self, rel: &str, bytes: u64) {
        let file = self
            .path
            .join(rel.trim_matches('/'))
            .join("memory.limit_in_bytes");
        fs::write(&file, bytes.to_string())
            .unwrap_or_else(|e| panic!("write {bytes} to {}: {e}", file.display()));
    }

    /// Every cgroup directory of the subtree, deepest first.
    fn subtree_deepest_first(&self) -> Vec<PathBuf> {
        let mut all = Vec::new();
        let mut stack = vec![self.path.clone()];
        while let Some(dir) = stack.pop() {
            if let Ok(entries) = fs::read_dir(&dir) {
                for e in entries.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        stack.push(e.path());
                    }
                }
            }
            all.push(dir);
        }
        all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        all
    }

    fn reset_oom_kill_disable(dirs: &[PathBuf]) {
        for d in dirs {
            let _ = fs::write(d.join("memory.oom_control"), "0");
        }
    }

    /// SIGKILLs every task of the subtree until none is left (bounded).
    fn kill_all(dirs: &[PathBuf]) -> bool {
        let deadline = Instant::now() + KILL_TIMEOUT;
        loop {
            let mut any = false;
            for d in dirs {
                let Ok(text) = fs::read_to_string(d.join("cgroup.procs")) else {
                    continue;
                };
                for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    any = true;
                    if pid > 0 {
                        // SAFETY: kill(2) on a pid read from our own test cgroup.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
            if !any {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LiveParent {
    fn drop(&mut self) {
        let dirs = self.subtree_deepest_first();
        Self::reset_oom_kill_disable(&dirs);
        if !Self::kill_all(&dirs) {
            eprintln!(
                "cgcal-testkit: tasks still in {} after {KILL_TIMEOUT:?}",
                self.path.display()
            );
        }
        Self::reset_oom_kill_disable(&dirs);
        let deadline = Instant::now() + RMDIR_TIMEOUT;
        for d in &dirs {
            loop {
                match fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() >= deadline => {
                        eprintln!("cgcal-testkit: cannot remove {}: {e}", d.display());
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

/// How [`spawn_hog`] runs the hog beyond the total size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HogOptions {
    /// Allocate in steps of this many MiB (default: all at once).
    pub step_mib: Option<u64>,
    /// Milliseconds between steps.
    pub step_ms: Option<u64>,
    /// Hold the memory this many milliseconds and exit 0 (default: until killed).
    pub hold_ms: Option<u64>,
}

/// The path of the workspace binary `name` in the directory of the running
/// test's profile (`target/<profile>/<name>`, found from the test
/// executable `target/<profile>/deps/<test>` or from an example
/// `target/<profile>/examples/<example>`). Panics when it is missing.
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not found: build it first: cargo build --workspace --bins",
        path.display()
    );
    path
}

/// Starts `cgcal-hog` in the cgroup directory `cgroup_dir` allocating `mib`
/// MiB, stdout piped (for [`wait_ready`]), stderr inherited. Panics when
/// the binary is missing or cannot start.
pub fn spawn_hog(cgroup_dir: &Path, mib: u64, opts: HogOptions) -> Child {
    let mut cmd = Command::new(bin_path("cgcal-hog"));
    cmd.arg("--cgroup")
        .arg(cgroup_dir)
        .arg("--mib")
        .arg(mib.to_string());
    if let Some(s) = opts.step_mib {
        cmd.arg("--step-mib").arg(s.to_string());
    }
    if let Some(t) = opts.step_ms {
        cmd.arg("--step-ms").arg(t.to_string());
    }
    if let Some(h) = opts.hold_ms {
        cmd.arg("--hold-ms").arg(h.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn cgcal-hog: {e}"))
}

/// Why a hog did not become ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HogError {
    /// The hog's stdout was already taken (wait_ready called twice).
    NoStdout,
    /// The hog closed stdout (it exited, e.g. OOM-killed) before `ready`.
    Exited,
    /// No `ready` line within [`READY_TIMEOUT`].
    Timeout,
    /// The hog printed something else.
    Unexpected(String),
}

/// Waits (at most [`READY_TIMEOUT`]) for the hog's `ready <bytes>` line and
/// returns the bytes. Takes the child's stdout; a thread keeps draining it.
pub fn wait_ready(child: &mut Child) -> Result<u64, HogError> {
    wait_ready_within(child, READY_TIMEOUT)
}

/// [`wait_ready`] with an explicit bound.
pub fn wait_ready_within(child: &mut Child, timeout: Duration) -> Result<u64, HogError> {
    let stdout = child.stdout.take().ok_or(HogError::NoStdout)?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next();
        let _ = tx.send(first);
        for _ in lines {}
    });
    match rx.recv_timeout(timeout) {
        Ok(Some(Ok(line))) => line
            .strip_prefix("ready ")
            .and_then(|b| b.trim().parse::<u64>().ok())
            .ok_or(HogError::Unexpected(line)),
        Ok(_) => Err(HogError::Exited),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(HogError::Timeout),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(HogError::Exited),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_path_names_the_build_command() {
        let r = std::panic::catch_unwind(|| bin_path("cgcal-no-such-binary"));
        let msg = r
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(msg.contains("cargo build --workspace --bins"), "{msg}");
    }

    #[test]
    fn live_parent_is_created_and_removed() {
        let Some(parent) = LiveParent::new("testkit self/test") else {
            return;
        };
        let path = parent.path().to_path_buf();
        assert!(parent.name().starts_with("/cgcal-test-"));
        assert!(parent.name().ends_with("-testkit_self_test"));
        let deep = parent.child("a/b");
        assert!(deep.is_dir());
        parent.set_limit("a", 32 << 20);
        let limit = fs::read_to_string(path.join("a/memory.limit_in_bytes")).unwrap();
        assert_eq!(limit.trim(), (32u64 << 20).to_string());
        assert_eq!(parent.name_of("a/b"), format!("{}/a/b", parent.name()));
        drop(parent);
        assert!(!path.exists(), "{} left behind", path.display());
    }
}
