//! Engine tests against core's in-memory hierarchy ([`MemoryFs`]), through
//! [`HookedFs`] where the tree must move between the snapshot and a write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cgcal_cli::CgroupRoot;
use cgcal_core::audit::{Outcome, Source};
use cgcal_core::cgroupfs::{CgroupFs, CgroupFsError, FakeWrite, MemoryFs};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::{OomKind, PolicyConfig};
use cgcal_core::trace::CgroupVersion;

use super::hooked_fs::{HookedFs, Op, Verdict};
use super::*;
use crate::cli::{DaemonConfig, DaemonMode};

const MIB: u64 = 1 << 20;

pub(super) fn n(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

/// A test directory with a stats file, and the daemon config using it.
pub(super) struct Setup {
    dir: tempfile::TempDir,
    pub(super) config: DaemonConfig,
}

impl Setup {
    /// `stats`: (cgroup, min, median, max) in MiB.
    fn new(stats: &[(&str, u64, u64, u64)]) -> Setup {
        let bytes: Vec<(&str, u64, u64, u64)> = stats
            .iter()
            .map(|(c, a, b, d)| (*c, a * MIB, b * MIB, d * MIB))
            .collect();
        Setup::new_bytes(&bytes)
    }

    /// `stats`: (cgroup, min, median, max) in bytes.
    pub(super) fn new_bytes(stats: &[(&str, u64, u64, u64)]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let json: BTreeMap<&str, serde_json::Value> = stats
            .iter()
            .map(|(name, min, med, max)| {
                (
                    *name,
                    serde_json::json!({"min_consumption": min, "median_consumption": med, "max_consumption": max}),
                )
            })
            .collect();
        let stats_path = dir.path().join("stats.json");
        std::fs::write(&stats_path, serde_json::to_string(&json).unwrap()).unwrap();
        let config = DaemonConfig {
            root: CgroupRoot {
                path: PathBuf::from("/unused"),
                version: None,
            },
            stats: stats_path,
            algo: "proportional",
            mode: DaemonMode::Rescue,
            policy: PolicyConfig::default(),
            audit_log: Some(dir.path().join("audit.log")),
            dry_run: false,
            once: false,
            deadline: Duration::from_millis(500),
            journal: Some(dir.path().join("journal")),
            lock_file: dir.path().join("lock"),
        };
        Setup { dir, config }
    }

    fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The donors scenario: root /r without headroom (limit 200 MiB, usage
/// 190 MiB), target /r/a at its 64 MiB limit (Phase 1 max 100 MiB: needs
/// 36 MiB), donors /r/b and /r/c below their median, /r/d above its median.
fn donors_tree(version: CgroupVersion) -> MemoryFs {
    let fs = MemoryFs::new(version, n("/r"));
    fs.insert(&n("/r"), 190 * MIB, Some(200 * MIB)).unwrap();
    fs.insert(&n("/r/a"), 64 * MIB, Some(64 * MIB)).unwrap();
    fs.insert(&n("/r/b"), 20 * MIB, Some(100 * MIB)).unwrap();
    fs.insert(&n("/r/c"), 30 * MIB, Some(100 * MIB)).unwrap();
    fs.insert(&n("/r/d"), 70 * MIB, Some(100 * MIB)).unwrap();
    fs
}

fn donors_setup() -> Setup {
    Setup::new(&[
        ("/r/a", 10, 50, 100),
        ("/r/b", 10, 50, 90),
        ("/r/c", 10, 50, 90),
        ("/r/d", 10, 50, 90),
    ])
}

fn limit(fs: &MemoryFs, name: &str) -> u64 {
    fs.state(&n(name)).unwrap().limit.unwrap()
}

fn managed_sum(fs: &MemoryFs) -> u64 {
    ["/r/a", "/r/b", "/r/c", "/r/d"]
        .iter()
        .map(|c| limit(fs, c))
        .sum()
}

fn limit_writes(fs: &MemoryFs) -> Vec<(String, u64, bool)> {
    fs.writes()
        .into_iter()
        .filter_map(|w| match w {
            FakeWrite::Limit {
                cgroup,
                value,
                accepted,
            } => Some((cgroup.to_string(), value.unwrap_or(0), accepted)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_plan_from_donors_is_applied_exactly_shrinks_first_and_logged() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    assert_eq!(
        e.managed().unwrap(),
        vec![n("/r/a"), n("/r/b"), n("/r/c"), n("/r/d")]
    );
    let before = managed_sum(&fs);
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert!(d.wrote);
    assert_eq!(d.added_to_target, 36 * MIB);
    assert_eq!(limit(&fs, "/r/a"), 100 * MIB);
    // Donors give in proportion to their spare: b 75 MiB, c 65 MiB (guard 5 MiB).
    let (gb, gc) = (
        100 * MIB - limit(&fs, "/r/b"),
        100 * MIB - limit(&fs, "/r/c"),
    );
    assert_eq!(gb + gc, 36 * MIB);
    assert!(
        gb > gc && gb.abs_diff(36 * MIB * 75 / 140) <= 4096,
        "{gb} {gc}"
    );
    assert_eq!(limit(&fs, "/r/d"), 100 * MIB, "above its median: untouched");
    assert_eq!(managed_sum(&fs), before);
    // Shrinks were written before the grow.
    let writes = limit_writes(&fs);
    assert_eq!(writes.len(), 3);
    assert_eq!(writes[2], ("/r/a".to_string(), 100 * MIB, true));
    // The audit line holds the re-read values.
    assert_eq!(d.line.source, Source::Donors);
    assert_eq!(d.line.outcome, Outcome::Resolved);
    assert_eq!(d.line.limits_after["/r/b"], limit(&fs, "/r/b"));
    assert_eq!(d.line.limits_before["/r/a"], 64 * MIB);
    let lines = s.audit_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["oom_cgroup"], "/r/a");
    assert_eq!(lines[0]["added_memory"], 36 * MIB);
    assert_eq!(lines[0]["adjusted_cgroups"].as_array().unwrap().len(), 2);
    assert_eq!(lines[0]["mode"], "rescue");
}

#[test]
fn a_donor_whose_usage_grew_since_the_snapshot_is_re_clamped() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let inner = fs.clone();
    let reads = Arc::new(AtomicUsize::new(0));
    let r = reads.clone();
    // The second usage read of /r/b (the one right before its write) sees
    // it at 80 MiB: it may then give only 100 − 85 = 15 MiB.
    let hooked = HookedFs::new(Box::new(fs.clone()), move |op| {
        if *op == Op::Usage(n("/r/b")) && r.fetch_add(1, Ordering::SeqCst) == 1 {
            inner.set_usage(&n("/r/b"), 80 * MIB).unwrap();
        }
        Verdict::Pass
    });
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert_eq!(limit(&fs, "/r/b"), 85 * MIB, "usage 80 + guard 5");
    // c covers the shortfall from its own spare; the target gets it all.
    assert_eq!(d.added_to_target, 36 * MIB);
    assert_eq!(limit(&fs, "/r/c"), 100 * MIB - 21 * MIB);
    assert_eq!(d.line.outcome, Outcome::Resolved);
}

#[test]
fn a_donor_answering_ebusy_is_skipped_and_the_next_donor_gives() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let hooked = HookedFs::new(Box::new(fs.clone()), |op| match op {
        Op::SetLimit(c, _) if *c == n("/r/b") => Verdict::Fail(CgroupFsError::Busy {
            cgroup: c.clone(),
            path: PathBuf::from("/r/b/memory.limit_in_bytes"),
        }),
        _ => Verdict::Pass,
    });
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert_eq!(limit(&fs, "/r/b"), 100 * MIB);
    assert_eq!(limit(&fs, "/r/c"), 64 * MIB, "c gave all 36 MiB");
    assert_eq!(d.added_to_target, 36 * MIB);
    let names: Vec<&str> = d
        .line
        .adjusted_cgroups
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, vec!["/r/c"]);
}

#[test]
fn when_no_donor_can_give_enough_the_target_gets_only_what_was_freed() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    // c refuses, and b's usage jumps so that it can give only 15 MiB.
    let inner = fs.clone();
    let hooked = HookedFs::new(Box::new(fs.clone()), move |op| match op {
        Op::SetLimit(c, _) if *c == n("/r/c") => Verdict::Fail(CgroupFsError::Busy {
            cgroup: c.clone(),
            path: PathBuf::from("x"),
        }),
        Op::SetLimit(c, _) if *c == n("/r/a") => Verdict::Pass,
        Op::Usage(c) if *c == n("/r/b") && limit(&inner, "/r/a") == 64 * MIB => {
            Verdict::Report(80 * MIB)
        }
        _ => Verdict::Pass,
    });
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let before = managed_sum(&fs);
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert_eq!(d.line.outcome, Outcome::Partial);
    assert_eq!(d.added_to_target, 100 * MIB - limit(&fs, "/r/b"));
    assert!(d.added_to_target < 36 * MIB);
    assert_eq!(managed_sum(&fs), before);
}

#[test]
fn an_ancestor_that_caps_the_target_is_raised_by_what_is_needed() {
    let s = Setup::new(&[("/r/g/a", 10, 30, 64)]);
    let fs = MemoryFs::new(CgroupVersion::V1, n("/r"));
    fs.insert(&n("/r"), 100 * MIB, Some(1024 * MIB)).unwrap();
    fs.insert(&n("/r/g"), 60 * MIB, Some(80 * MIB)).unwrap();
    fs.insert(&n("/r/g/a"), 60 * MIB, Some(64 * MIB)).unwrap();
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let d = e
        .handle(&n("/r/g/a"), OomKind::Oom, Instant::now())
        .unwrap();
    // N = 32 MiB from the headroom; a's room 96 − 60 = 36 MiB, g's 80 − 60 = 20 MiB.
    assert_eq!(limit(&fs, "/r/g/a"), 96 * MIB);
    assert_eq!(limit(&fs, "/r/g"), 96 * MIB);
    assert_eq!(limit(&fs, "/r"), 1024 * MIB, "the root is never written");
    assert_eq!(d.line.limits_before["/r/g"], 80 * MIB);
    assert_eq!(d.line.limits_after["/r/g"], 96 * MIB);
    assert_eq!(d.line.source, Source::Global);
    // The ancestor was raised before the target.
    let writes = limit_writes(&fs);
    assert_eq!(writes[0].0, "/r/g");
    assert_eq!(writes[1].0, "/r/g/a");
}

#[test]
fn memory_moved_between_siblings_does_not_raise_their_ancestor() {
    let s = Setup::new(&[("/r/g/a", 10, 30, 64), ("/r/g/b", 10, 50, 90)]);
    let fs = MemoryFs::new(CgroupVersion::V1, n("/r"));
    fs.insert(&n("/r"), 200 * MIB, Some(200 * MIB)).unwrap();
    fs.insert(&n("/r/g"), 70 * MIB, Some(80 * MIB)).unwrap();
    fs.insert(&n("/r/g/a"), 60 * MIB, Some(64 * MIB)).unwrap();
    fs.insert(&n("/r/g/b"), 10 * MIB, Some(100 * MIB)).unwrap();
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let d = e
        .handle(&n("/r/g/a"), OomKind::Oom, Instant::now())
        .unwrap();
    assert_eq!(d.added_to_target, 32 * MIB);
    assert_eq!(limit(&fs, "/r/g/b"), 68 * MIB);
    assert_eq!(limit(&fs, "/r/g"), 80 * MIB);
}

#[test]
fn a_dry_run_writes_nothing_and_logs_dry_run() {
    let mut s = donors_setup();
    s.config.dry_run = true;
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert!(!d.wrote);
    assert_eq!(d.added_to_target, 0);
    assert!(fs.writes().is_empty());
    assert_eq!(d.line.outcome, Outcome::DryRun);
    assert_eq!(d.line.added_memory, 36 * MIB, "what would have been added");
    assert_eq!(s.audit_lines()[0]["outcome"], "dry_run");
    e.arm_high(&n("/r/a")).unwrap();
    assert!(fs.writes().is_empty());
}

#[test]
fn v2_rescue_keeps_high_a_margin_under_every_max_written() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V2);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    for c in ["/r/a", "/r/b", "/r/c"] {
        let st = fs.state(&n(c)).unwrap();
        let max = st.limit.unwrap();
        assert_eq!(st.high, Some(apply::high_for(max, 4096)), "{c}");
        assert!(
            st.usage + 4 * MIB <= max,
            "{c}: never below usage + guard on v2"
        );
        assert_eq!(st.oom_kill, 0, "{c}: no donor OOM-killed");
    }
    assert_eq!(fs.state(&n("/r/d")).unwrap().high, None);
    e.arm_high(&n("/r/d")).unwrap();
    assert_eq!(
        fs.state(&n("/r/d")).unwrap().high,
        Some(apply::high_for(100 * MIB, 4096))
    );
}

#[test]
fn unknown_and_vanished_cgroups_are_typed_errors() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let err = e
        .handle(&n("/r"), OomKind::Oom, Instant::now())
        .unwrap_err();
    assert!(matches!(err, EngineError::NotManaged { .. }), "{err}");
    let err = e
        .handle(&n("/r/zz"), OomKind::Oom, Instant::now())
        .unwrap_err();
    assert!(matches!(err, EngineError::Gone { .. }), "{err}");
    fs.remove(&n("/r/d")).unwrap();
    let err = e
        .handle(&n("/r/d"), OomKind::Oom, Instant::now())
        .unwrap_err();
    assert!(err.is_gone() && err.to_string().contains("/r/d"), "{err}");
    // A new cgroup is picked up without an explicit refresh.
    fs.insert(&n("/r/e"), 10 * MIB, Some(10 * MIB)).unwrap();
    e.handle(&n("/r/e"), OomKind::OomKill, Instant::now())
        .unwrap();
}

#[test]
fn an_unwritable_audit_log_does_not_stop_the_decision() {
    let mut s = donors_setup();
    s.config.audit_log = Some(PathBuf::from("/dev/full"));
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert!(d.wrote && d.added_to_target == 36 * MIB);
    assert!(d.audit_error.as_deref().unwrap().contains("/dev/full"));
    let (_, contents) = journal::Journal::open(s.config.journal.as_deref().unwrap()).unwrap();
    assert_eq!(contents.unlogged.len(), 1);
    assert!(contents.unlogged[0].contains("\"oom_cgroup\":\"/r/a\""));
    e.log_fallback_kill(&n("/r/a"), Instant::now()).unwrap();
}

#[test]
fn fallback_kill_lines_add_nothing() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    e.log_fallback_kill(&n("/r/a"), Instant::now()).unwrap();
    let lines = s.audit_lines();
    assert_eq!(lines[0]["outcome"], "fallback_kill");
    assert_eq!(lines[0]["added_memory"], 0);
    assert_eq!(lines[0]["source"], "none");
    assert_eq!(lines[0]["limits_after"]["/r/a"], 64 * MIB);
}

#[test]
fn stats_errors_name_the_file_and_stats_reload_keeps_the_old_on_error() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    std::fs::write(&s.config.stats, r#"{"/r/a": {"min_consumption": 5}}"#).unwrap();
    let err = e.reload_stats().unwrap_err().to_string();
    assert!(err.contains(&s.config.stats.display().to_string()), "{err}");
    assert!(
        err.contains("median_consumption") || err.contains("max_consumption"),
        "{err}"
    );
    // The old stats still make b and c donors.
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert_eq!(d.line.source, Source::Donors);
    let err = Engine::new(Box::new(fs), &s.config)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(&s.config.stats.display().to_string()), "{err}");
}

/// Runs the donors decision on a hierarchy that dies (every later limit
/// write and read fails) after `k` writes; then a fresh engine on the same
/// journal recovers.
fn crash_after(k: usize, fail_reads_too: bool, fs: &MemoryFs, s: &Setup) -> Option<Recovery> {
    let writes = Arc::new(AtomicUsize::new(0));
    let w = writes.clone();
    let dead = move |what: &str| {
        Verdict::Fail(CgroupFsError::Io {
            path: PathBuf::from(what),
            source: std::io::Error::other("instance died"),
        })
    };
    let hooked = HookedFs::new(Box::new(fs.clone()), move |op| match op {
        Op::SetLimit(..) if w.fetch_add(1, Ordering::SeqCst) >= k => dead("write"),
        Op::Limit(_) if fail_reads_too && w.load(Ordering::SeqCst) >= k && k > 0 => dead("read"),
        _ => Verdict::Pass,
    });
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let _ = e.handle(&n("/r/a"), OomKind::Oom, Instant::now());
    drop(e);
    let mut fresh = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let r = fresh.recover().unwrap();
    assert_eq!(fresh.recover().unwrap(), None, "recovery is done once");
    r
}

#[test]
fn a_crash_after_any_write_is_completed_or_rolled_back_never_losing_memory() {
    // Donors only (no headroom): the sum of the limits is kept exactly.
    for k in 0..=3 {
        for fail_reads in [false, true] {
            let s = donors_setup();
            let fs = donors_tree(CgroupVersion::V1);
            let before = managed_sum(&fs);
            let r = crash_after(k, fail_reads, &fs, &s);
            assert_eq!(managed_sum(&fs), before, "k={k} reads={fail_reads} {r:?}");
            if k > 0 && k < 3 {
                assert!(
                    matches!(
                        r.as_ref().unwrap().action,
                        recovery::Action::Completed { .. }
                    ),
                    "k={k}: {r:?}"
                );
                assert!(limit(&fs, "/r/a") > 64 * MIB);
            }
        }
    }
    // Mixed (8 MiB of headroom): the sum is what it was, or the plan's.
    for k in 0..=3 {
        let s = donors_setup();
        let fs = donors_tree(CgroupVersion::V1);
        fs.insert(&n("/r"), 172 * MIB, Some(200 * MIB)).unwrap();
        let before = managed_sum(&fs);
        let r = crash_after(k, true, &fs, &s);
        let after = managed_sum(&fs);
        assert!(
            after == before || after == before + 8 * MIB,
            "k={k} {r:?}: {after} vs {before}"
        );
    }
}

#[test]
fn a_crashed_plan_whose_target_vanished_is_rolled_back() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let hooked = HookedFs::new(Box::new(fs.clone()), |op| match op {
        Op::SetLimit(c, _) if *c == n("/r/a") => Verdict::Fail(CgroupFsError::Io {
            path: PathBuf::from("x"),
            source: std::io::Error::other("died"),
        }),
        Op::SetLimit(..) => Verdict::Pass,
        _ => Verdict::Pass,
    });
    // The engine stops at the target's write; its own immediate recovery
    // fails on the target too, so it rolls the donors back itself.
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let err = e
        .handle(&n("/r/a"), OomKind::Oom, Instant::now())
        .unwrap_err();
    assert!(matches!(err, EngineError::Fs { .. }), "{err}");
    assert_eq!(limit(&fs, "/r/b"), 100 * MIB);
    assert_eq!(limit(&fs, "/r/c"), 100 * MIB);
    assert_eq!(limit(&fs, "/r/a"), 64 * MIB);

    // A journal left by a dead instance whose target is gone since.
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    let writes = Arc::new(AtomicUsize::new(0));
    let w = writes.clone();
    let hooked = HookedFs::new(Box::new(fs.clone()), move |op| match op {
        Op::SetLimit(..) if w.fetch_add(1, Ordering::SeqCst) >= 2 => {
            Verdict::Fail(CgroupFsError::Io {
                path: PathBuf::from("x"),
                source: std::io::Error::other("died"),
            })
        }
        Op::Limit(_) if w.load(Ordering::SeqCst) >= 2 => Verdict::Fail(CgroupFsError::Io {
            path: PathBuf::from("x"),
            source: std::io::Error::other("died"),
        }),
        _ => Verdict::Pass,
    });
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let _ = e.handle(&n("/r/a"), OomKind::Oom, Instant::now());
    drop(e);
    fs.remove(&n("/r/a")).unwrap();
    let mut fresh = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let r = fresh.recover().unwrap().unwrap();
    assert!(
        matches!(r.action, recovery::Action::RolledBack { .. }),
        "{r}"
    );
    assert_eq!(limit(&fs, "/r/b"), 100 * MIB);
    assert_eq!(limit(&fs, "/r/c"), 100 * MIB);
    assert!(r.to_string().contains("rolled back"));
}

#[test]
fn a_torn_journal_tail_is_ignored() {
    let s = donors_setup();
    let path: &Path = s.config.journal.as_deref().unwrap();
    let line = journal::encode(&journal::Record::Begin(journal::Begin {
        seq: 7,
        target: Some("/r/a".into()),
        changes: vec![journal::PlannedWrite {
            name: "/r/b".into(),
            old: 200 * MIB,
            new: 100 * MIB,
        }],
    }));
    std::fs::write(path, &line[..line.len() - 5]).unwrap();
    let fs = donors_tree(CgroupVersion::V1);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    assert_eq!(e.recover().unwrap(), None);
    assert!(fs.writes().is_empty());
    // The whole line: b lost 100 MiB against the plan's old limit: a gets it.
    std::fs::write(path, &line).unwrap();
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    let r = e.recover().unwrap().unwrap();
    assert_eq!(
        r.action,
        recovery::Action::Completed {
            target: n("/r/a"),
            added: 100 * MIB
        }
    );
}

#[test]
fn original_limits_are_remembered_across_instances() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    fs.insert(&n("/r/u"), MIB, None).unwrap();
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    // First an empty plan (an unlimited cgroup is never changed): its
    // snapshot's limits are saved with the next plan's begin record.
    let d = e.handle(&n("/r/u"), OomKind::Oom, Instant::now()).unwrap();
    assert!(!d.wrote);
    e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    drop(e);
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    assert_eq!(e.original_limits().get(&n("/r/a")), Some(&Some(64 * MIB)));
    assert_eq!(e.original_limits().get(&n("/r/u")), Some(&None));
    assert_eq!(e.original_limits().get(&n("/r/d")), Some(&Some(100 * MIB)));
    e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert_eq!(e.original_limits().get(&n("/r/a")), Some(&Some(64 * MIB)));
}

#[test]
fn a_donor_created_after_start_is_used_once_listed() {
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    fs.remove(&n("/r/c")).unwrap();
    fs.remove(&n("/r/b")).unwrap();
    let mut e = Engine::new(Box::new(fs.clone()), &s.config).unwrap();
    fs.insert(&n("/r/b"), 20 * MIB, Some(100 * MIB)).unwrap();
    assert!(e.managed().unwrap().contains(&n("/r/b")));
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    assert_eq!(d.line.adjusted_cgroups[0].name, "/r/b");
}

#[test]
fn the_fakes_own_ebusy_for_a_limit_below_what_it_holds_is_skipped() {
    // b holds 90 MiB of anonymous memory but reads as 1 MiB (a stale
    // reading): the plan lowers it below 90 MiB, which the fake refuses
    // with EBUSY like the v1 kernel; c gives instead.
    let s = donors_setup();
    let fs = donors_tree(CgroupVersion::V1);
    fs.set_usage(&n("/r/b"), 90 * MIB).unwrap();
    let hooked = HookedFs::new(Box::new(fs.clone()), |op| match op {
        Op::Usage(c) if *c == n("/r/b") => Verdict::Report(MIB),
        _ => Verdict::Pass,
    });
    let mut e = Engine::new(Box::new(hooked), &s.config).unwrap();
    let d = e.handle(&n("/r/a"), OomKind::Oom, Instant::now()).unwrap();
    let writes = limit_writes(&fs);
    assert!(
        writes
            .iter()
            .any(|(c, v, ok)| c == "/r/b" && *v < 90 * MIB && !ok),
        "{writes:?}"
    );
    assert_eq!(limit(&fs, "/r/b"), 100 * MIB);
    assert_eq!(limit(&fs, "/r/c"), 64 * MIB);
    assert_eq!(d.added_to_target, 36 * MIB);
}
