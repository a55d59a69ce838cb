//! Live tests of `cgact`'s decision engine (`cgact::engine`) on the
//! machine's v1 memory hierarchy, under a `LiveParent` guard (SKIP where
//! none is writable), with real `cgcal-hog` processes holding anonymous
//! memory (no swap here, so the kernel cannot reclaim it):
//! * a donor whose limit would go below what its tasks hold answers EBUSY
//!   from the kernel: it is skipped and the next donor gives instead;
//! * an intermediate ancestor whose limit caps the target is raised;
//! * every value in the audit line's `limits_after` is what the kernel holds.
//!
//! Needs the hog: `cargo build -p cgcal-testkit --bins`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::time::Instant;

use cgact::cli::{Cli, DaemonConfig};
use cgact::engine::hooked_fs::{HookedFs, Op, Verdict};
use cgact::engine::Engine;
use cgcal_core::audit::{AuditLine, Outcome, Source};
use cgcal_core::cgroupfs::{open_root, CgroupFs};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::OomKind;
use cgcal_testkit::{spawn_hog, wait_ready, HogOptions, LiveParent};
use clap::Parser;

const MIB: u64 = 1 << 20;

pub(super) fn name(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

/// The daemon config for `parent`: rescue mode, `--min-bump 8M`,
/// `--threshold` as given, a 1 MiB guard, stats `(rel, min, median, max)`
/// in MiB written to a file in `dir`.
pub(super) fn config(
    parent: &LiveParent,
    dir: &Path,
    threshold: &str,
    stats: &[(&str, u64, u64, u64)],
) -> DaemonConfig {
    let json: BTreeMap<String, serde_json::Value> = stats
        .iter()
        .map(|(rel, min, med, max)| {
            (
                parent.name_of(rel),
                serde_json::json!({"min_consumption": min * MIB, "median_consumption": med * MIB, "max_consumption": max * MIB}),
            )
        })
        .collect();
    let stats_path = dir.join("stats.json");
    std::fs::write(&stats_path, serde_json::to_string(&json).unwrap()).unwrap();
    let arg = |p: &Path| p.display().to_string();
    let cli = Cli::try_parse_from([
        "cgact".to_string(),
        "--root".into(),
        arg(parent.path()),
        "--stats".into(),
        arg(&stats_path),
        "--mode".into(),
        "rescue".into(),
        "--min-bump".into(),
        "8M".into(),
        "--threshold".into(),
        threshold.into(),
        "--log".into(),
        arg(&dir.join("audit.log")),
        "--journal".into(),
        arg(&dir.join("journal")),
        "--lock-file".into(),
        arg(&dir.join("lock")),
    ])
    .unwrap();
    let mut cfg = cli.validate().unwrap();
    cfg.policy.guard_min = MIB;
    cfg.policy.guard_ratio = 0.0;
    cfg
}

pub(super) fn v1(parent: &LiveParent) -> Box<dyn CgroupFs> {
    open_root(parent.path(), None).expect("open_root on the live parent")
}

/// The donors an audit line names, in its order.
pub(super) fn donor_names(line: &AuditLine) -> Vec<&str> {
    line.adjusted_cgroups
        .iter()
        .map(|x| x.name.as_str())
        .collect()
}

pub(super) fn kernel_limit(parent: &LiveParent, rel: &str) -> u64 {
    let text =
        std::fs::read_to_string(parent.path().join(rel).join("memory.limit_in_bytes")).unwrap();
    text.trim().parse().unwrap()
}

pub(super) fn hog(parent: &LiveParent, rel: &str, mib: u64) -> Child {
    let mut h = spawn_hog(&parent.path().join(rel), mib, HogOptions::default());
    wait_ready(&mut h).unwrap_or_else(|e| panic!("hog of {mib} MiB in {rel}: {e:?}"));
    h
}

/// Every value of `limits_after` is what `memory.limit_in_bytes` holds now.
fn assert_after_is_kernel(parent: &LiveParent, after: &BTreeMap<String, u64>) {
    assert!(!after.is_empty());
    for (cg, value) in after {
        let rel = cg
            .strip_prefix(parent.name())
            .unwrap()
            .trim_start_matches('/');
        assert_eq!(*value, kernel_limit(parent, rel), "{cg}");
    }
}

#[test]
fn a_donor_the_kernel_cannot_shrink_answers_ebusy_and_the_next_donor_gives() {
    let Some(parent) = LiveParent::new("apply-ebusy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for rel in ["a", "b", "c"] {
        parent.child(rel);
    }
    parent.set_limit("", 256 * MIB);
    parent.set_limit("a", 40 * MIB);
    parent.set_limit("b", 48 * MIB);
    parent.set_limit("c", 48 * MIB);
    // b holds 40 MiB, c 8 MiB; with --threshold 0.05 the parent has no
    // headroom (256 MiB × 0.05 < 48 MiB used), so the 24 MiB a needs
    // (Phase 1 max 64 − limit 40) must come from the donors.
    let mut hogs = vec![
        hog(&parent, "b", 40),
        hog(&parent, "c", 8),
        hog(&parent, "a", 30),
    ];
    let cfg = config(
        &parent,
        dir.path(),
        "0.05",
        &[("a", 1, 30, 64), ("b", 1, 44, 48), ("c", 1, 44, 48)],
    );
    // b's usage reads as 1 MiB (a reading already stale when the write
    // lands): the plan asks b for more than the kernel can reclaim from its
    // anonymous memory, so the write answers EBUSY.
    let b = name(&parent.name_of("b"));
    let tried = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let t = tried.clone();
    let hooked = HookedFs::new(v1(&parent), move |op| match op {
        Op::Usage(c) if *c == b => Verdict::Report(MIB),
        Op::SetLimit(c, Some(v)) if *c == b => {
            t.lock().unwrap().push(*v);
            Verdict::Pass
        }
        _ => Verdict::Pass,
    });
    let mut engine = Engine::new(Box::new(hooked), &cfg).unwrap();
    let a = name(&parent.name_of("a"));
    let d = engine.handle(&a, OomKind::Oom, Instant::now()).unwrap();

    let tried = tried.lock().unwrap().clone();
    assert!(
        tried.len() == 1 && tried[0] < 40 * MIB,
        "one write of b below what it holds: {tried:?}"
    );
    assert_eq!(
        kernel_limit(&parent, "b"),
        48 * MIB,
        "b kept its limit (EBUSY)"
    );
    assert_eq!(d.added_to_target, 24 * MIB, "{:?}", d.line);
    assert_eq!(kernel_limit(&parent, "a"), 64 * MIB);
    assert_eq!(kernel_limit(&parent, "c"), 24 * MIB, "c gave all 24 MiB");
    assert_eq!(donor_names(&d.line), vec![parent.name_of("c").as_str()]);
    assert_eq!(d.line.source, Source::Donors);
    assert_eq!(d.line.outcome, Outcome::Resolved);
    assert_after_is_kernel(&parent, &d.line.limits_after);
    assert!(!d.line.limits_after.contains_key(&parent.name_of("b")));
    // The hogs all survived the shrinks.
    for h in &mut hogs {
        assert!(h.try_wait().unwrap().is_none(), "a hog was killed");
    }
    let audit = std::fs::read_to_string(dir.path().join("audit.log")).unwrap();
    assert_eq!(audit.lines().count(), 1);
    for mut h in hogs {
        let _ = h.kill();
        let _ = h.wait();
    }
}

#[test]
fn an_ancestor_capping_the_target_is_raised_and_the_root_is_not() {
    let Some(parent) = LiveParent::new("apply-ancestor") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    parent.child("g/a");
    parent.set_limit("", 512 * MIB);
    parent.set_limit("g", 48 * MIB);
    parent.set_limit("g/a", 40 * MIB);
    let mut h = hog(&parent, "g/a", 20);
    let cfg = config(&parent, dir.path(), "0.9", &[("g/a", 1, 20, 64)]);
    let mut engine = Engine::new(v1(&parent), &cfg).unwrap();
    assert_eq!(
        engine.managed().unwrap(),
        vec![name(&parent.name_of("g/a"))]
    );
    let a = name(&parent.name_of("g/a"));
    let d = engine.handle(&a, OomKind::Oom, Instant::now()).unwrap();

    // a: 40 → 64 MiB from the headroom. Its room (64 − its usage) exceeds
    // g's free room (48 − g's usage) by 16 MiB plus what g holds beyond a
    // (a few pages): g is raised by that, and by no more than a got.
    assert_eq!(kernel_limit(&parent, "g/a"), 64 * MIB);
    let g = kernel_limit(&parent, "g");
    assert!((64 * MIB..=66 * MIB).contains(&g), "g raised to {g}");
    assert_eq!(
        kernel_limit(&parent, ""),
        512 * MIB,
        "the root is never written"
    );
    assert_eq!(d.line.source, Source::Global);
    assert_eq!(d.line.limits_before[&parent.name_of("g")], 48 * MIB);
    assert_after_is_kernel(&parent, &d.line.limits_after);
    assert!(h.try_wait().unwrap().is_none());
    let _ = h.kill();
    let _ = h.wait();
}
