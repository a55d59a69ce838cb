//! The cgroup v2 path of the `cgact` daemon, in-process, against a fixture
//! tree in a tmpdir (`cgcal_core::cgroupfs::fixture`): the real v2 backend
//! on ordinary files, events delivered through real inotify when the test
//! rewrites a cgroup's `memory.events` counters. React raises `memory.max`
//! after an `oom_kill` increase; rescue keeps `memory.high` under
//! `memory.max` at start and after acting on a `high` increase; preempt
//! acts on a `max` increase without writing `memory.high`; a dry run writes
//! nothing; a new cgroup is armed and a removed one dropped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cgact::cli::Cli;
use cgact::daemon::{Daemon, SignalHandling};
use cgcal_core::cgroupfs::fixture::FixtureTree;
use cgcal_core::cgroupfs::V2Fs;
use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;
use clap::Parser;
use serde_json::Value;

const MIB: u64 = 1 << 20;
/// Bound on every wait-until (not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(20);

/// A v2 fixture: `/g` (the global cgroup, 512 MiB) with `/g/a` (20 MiB used
/// of 32 MiB) and `/g/b` (8 MiB of 64 MiB).
struct Fake {
    dir: tempfile::TempDir,
    tree: FixtureTree,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let fs_dir = dir.path().join("fs");
        std::fs::create_dir(&fs_dir).unwrap();
        let tree = FixtureTree::new(&fs_dir, CgroupVersion::V2).unwrap();
        tree.add("g", 28 * MIB, Some(512 * MIB)).unwrap();
        tree.add("g/a", 20 * MIB, Some(32 * MIB)).unwrap();
        tree.add("g/b", 8 * MIB, Some(64 * MIB)).unwrap();
        let stats = serde_json::json!({
            "/g/a": {"min_consumption": 4 * MIB, "median_consumption": 20 * MIB, "max_consumption": 64 * MIB},
            "/g/b": {"min_consumption": 4 * MIB, "median_consumption": 32 * MIB, "max_consumption": 64 * MIB},
        });
        std::fs::write(dir.path().join("stats.json"), stats.to_string()).unwrap();
        Fake { dir, tree }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start(&self, mode: &str) -> Daemon {
        self.start_with(mode, &[])
    }

    /// [`Fake::start`] with more flags (`--dry-run`).
    fn start_with(&self, mode: &str, more: &[&str]) -> Daemon {
        let root = self.tree.dir("g");
        let (stats, log, lock) = (
            self.path("stats.json"),
            self.path("audit.log"),
            self.path("cgact.lock"),
        );
        let args = [
            "cgact".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
            "--cgroup-version".as_ref(),
            "2".as_ref(),
            "--stats".as_ref(),
            stats.as_os_str(),
            "--log".as_ref(),
            log.as_os_str(),
            "--lock-file".as_ref(),
            lock.as_os_str(),
            "--mode".as_ref(),
            std::ffi::OsStr::new(mode),
        ];
        let args = args
            .into_iter()
            .chain(more.iter().map(std::ffi::OsStr::new));
        let config = Cli::try_parse_from(args).unwrap().validate().unwrap();
        let fs = Box::new(V2Fs::on_plain_dir_for_tests(
            &root,
            CgroupName::parse("/g").unwrap(),
        ));
        Daemon::start(fs, &config, SignalHandling::None).expect("start the daemon")
    }

    fn read(&self, rel: &str, file: &str) -> String {
        std::fs::read_to_string(self.tree.dir(rel).join(file)).unwrap()
    }

    fn bytes(&self, rel: &str, file: &str) -> Option<u64> {
        self.read(rel, file).trim().parse().ok()
    }

    fn events(&self, rel: &str, high: u64, max: u64, oom: u64, oom_kill: u64) {
        let text = format!(
            "low 0\nhigh {high}\nmax {max}\noom {oom}\noom_kill {oom_kill}\noom_group_kill 0\n"
        );
        self.tree.write(rel, "memory.events", &text).unwrap();
    }

    fn audit(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path("audit.log")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Runs the daemon on this thread while `script` runs on another; the
/// daemon is stopped when the script ends, whatever it returns.
fn drive(daemon: Daemon, script: impl FnOnce() -> Result<(), String> + Send) {
    let stop = daemon.stop_handle();
    let outcome = std::thread::scope(|s| {
        let h = s.spawn(move || {
            let r = script();
            stop.stop();
            r
        });
        daemon.run().expect("the daemon failed");
        h.join().expect("the script panicked")
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

#[test]
fn react_raises_memory_max_after_an_oom_kill_delta() {
    let f = Fake::new();
    let daemon = f.start("react");
    assert_eq!(daemon.armed().len(), 2, "{:?}", daemon.armed());
    assert_eq!(
        f.read("g/a", "memory.high").trim(),
        "max",
        "react touched memory.high"
    );
    drive(daemon, || {
        // high and max alone mean nothing to react mode.
        f.events("g/a", 3, 1, 0, 0);
        std::thread::sleep(Duration::from_millis(100));
        check(f.bytes("g/a", "memory.max") == Some(32 * MIB), || {
            "react acted on high/max events".into()
        })?;
        f.events("g/a", 3, 2, 1, 1);
        check(
            wait_until(|| f.bytes("g/a", "memory.max").is_some_and(|m| m > 32 * MIB)),
            || format!("memory.max not raised: {}", f.read("g/a", "memory.max")),
        )
    });
    let audit = f.audit();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["oom_cgroup"], "/g/a");
    assert_eq!(audit[0]["mode"], "react");
    assert_eq!(audit[0]["outcome"], "resolved");
    assert_eq!(f.bytes("g/b", "memory.max"), Some(64 * MIB), "b touched");
    assert_eq!(
        audit[0]["limits_after"]["/g/a"].as_u64(),
        f.bytes("g/a", "memory.max")
    );
}

#[test]
fn rescue_keeps_memory_high_under_memory_max() {
    let f = Fake::new();
    let daemon = f.start("rescue");
    let under = |rel: &str| match (f.bytes(rel, "memory.high"), f.bytes(rel, "memory.max")) {
        (Some(h), Some(m)) => h < m && h + m / 10 >= m,
        _ => false,
    };
    assert!(
        under("g/a"),
        "high {} max {}",
        f.read("g/a", "memory.high"),
        f.read("g/a", "memory.max")
    );
    assert!(under("g/b"));
    let high_before = f.bytes("g/a", "memory.high").unwrap();
    drive(daemon, || {
        f.events("g/a", 5, 0, 0, 0);
        check(
            wait_until(|| f.bytes("g/a", "memory.max").is_some_and(|m| m > 32 * MIB)),
            || format!("memory.max not raised: {}", f.read("g/a", "memory.max")),
        )?;
        check(
            wait_until(|| under("g/a") && f.bytes("g/a", "memory.high") > Some(high_before)),
            || {
                format!(
                    "high {} not kept under max {}",
                    f.read("g/a", "memory.high"),
                    f.read("g/a", "memory.max")
                )
            },
        )
    });
    let audit = f.audit();
    assert!(!audit.is_empty());
    assert!(audit
        .iter()
        .all(|l| l["mode"] == "rescue" && l["oom_cgroup"] == "/g/a"));
    assert!(under("g/b"));
}

#[test]
fn a_removed_cgroup_is_dropped_and_a_new_one_armed() {
    let f = Fake::new();
    let daemon = f.start("rescue");
    drive(daemon, || {
        // A kernel cgroup appears with all its files: build it aside, then
        // move it in (one IN_MOVED_TO, like one IN_CREATE on cgroupfs).
        let staging = f.dir.path().join("staging");
        std::fs::create_dir(&staging).unwrap();
        FixtureTree::new(&staging, CgroupVersion::V2)
            .and_then(|t| t.add("c", 4 * MIB, Some(16 * MIB)))
            .unwrap();
        std::fs::rename(staging.join("c"), f.tree.dir("g/c")).unwrap();
        check(
            wait_until(|| f.read("g/c", "memory.high").trim() != "max"),
            || "the new cgroup's memory.high was not armed".into(),
        )?;
        std::fs::remove_dir_all(f.tree.dir("g/b")).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        f.events("g/a", 0, 0, 0, 1);
        check(
            wait_until(|| f.bytes("g/a", "memory.max").is_some_and(|m| m > 32 * MIB)),
            || "the daemon stopped handling events after a removal".into(),
        )
    });
}

#[test]
fn preempt_raises_memory_max_on_max_events_and_leaves_memory_high() {
    let f = Fake::new();
    let daemon = f.start("preempt");
    drive(daemon, || {
        f.events("g/a", 0, 4, 0, 0);
        check(
            wait_until(|| f.bytes("g/a", "memory.max").is_some_and(|m| m > 32 * MIB)),
            || format!("memory.max not raised: {}", f.read("g/a", "memory.max")),
        )
    });
    assert_eq!(
        f.read("g/a", "memory.high").trim(),
        "max",
        "preempt wrote memory.high"
    );
    let audit = f.audit();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["mode"], "preempt");
}

#[test]
fn dry_run_writes_nothing_on_v2() {
    let f = Fake::new();
    let daemon = f.start_with("rescue", &["--dry-run"]);
    assert_eq!(
        f.read("g/a", "memory.high").trim(),
        "max",
        "dry run armed memory.high"
    );
    drive(daemon, || {
        f.events("g/a", 2, 1, 1, 1);
        check(wait_until(|| !f.audit().is_empty()), || {
            "no audit line".into()
        })
    });
    assert!(
        f.audit().iter().all(|l| l["outcome"] == "dry_run"),
        "{:?}",
        f.audit()
    );
    assert_eq!(f.bytes("g/a", "memory.max"), Some(32 * MIB));
    assert_eq!(f.read("g/a", "memory.high").trim(), "max");
}
