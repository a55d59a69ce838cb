//! Replay-level properties over random traces written to files: `static`
//! kills equal an independent count, `proportional` keeps every safety
//! rule at every decision, and the same input gives the same report bytes.

use std::path::Path;

use cgcal_core::audit::Source;
use cgcal_core::name::CgroupName;
use cgcal_core::parse::InitialLimits;
use cgcal_core::policy::safety::{guard, headroom};
use cgcal_core::policy::{Plan, PolicyConfig, Snapshot};
use cgcal_core::trace::{create_trace, CgroupVersion, Event, EventKind, Header, Sample};
use proptest::prelude::*;

use super::*;
use crate::cli::{ReplayConfig, ReplayMode, ReportFormat, Training};
use crate::report::render;

const MIB: u64 = 1 << 20;
const SEC: u64 = 1_000_000_000;

/// A random trace: per cgroup a constant limit (or none) and usages.
#[derive(Debug, Clone)]
struct RandomTrace {
    root_limit: Option<Option<u64>>,
    host_memory: Option<u64>,
    cgroups: Vec<(Option<u64>, Vec<u64>)>,
    kills: Vec<(usize, usize)>,
}

fn random_trace() -> impl Strategy<Value = RandomTrace> {
    let steps = 4usize..40;
    (steps, 1usize..6).prop_flat_map(|(steps, n)| {
        let cgroup = (
            prop_oneof![3 => (16u64..256).prop_map(|m| Some(m * MIB)), 1 => Just(None)],
            prop::collection::vec(0u64..320 * MIB, steps),
        );
        (
            prop_oneof![
                Just(None),
                (256u64..4096).prop_map(|m| Some(Some(m * MIB))),
                Just(Some(None))
            ],
            prop_oneof![Just(None), (256u64..4096).prop_map(|m| Some(m * MIB))],
            prop::collection::vec(cgroup, n),
            prop::collection::vec((0..n, 0..steps), 0..3),
        )
            .prop_map(|(root_limit, host_memory, cgroups, kills)| RandomTrace {
                root_limit,
                host_memory,
                cgroups,
                kills,
            })
    })
}

fn write(t: &RandomTrace, path: &Path) {
    let header = Header {
        host: "h".into(),
        kernel: String::new(),
        cgroup_version: CgroupVersion::Unknown,
        root: CgroupName::parse("/g").unwrap(),
        interval_ns: SEC,
        host_memory: t.host_memory,
        start_ns: 0,
        tool: "test".into(),
    };
    let mut w = create_trace(path, &header).unwrap();
    let root = w.cgroup_id(&header.root, 0);
    let ids: Vec<u32> = (0..t.cgroups.len())
        .map(|i| w.cgroup_id(&CgroupName::parse(&format!("/g/c{i}")).unwrap(), 0))
        .collect();
    let steps = t.cgroups[0].1.len();
    for k in 0..steps {
        let time_ns = k as u64 * SEC;
        if let Some(limit) = t.root_limit {
            let usage = t
                .cgroups
                .iter()
                .map(|c| c.1.get(k).copied().unwrap_or(0))
                .sum();
            w.push_sample(sample(time_ns, root, usage, limit)).unwrap();
        }
        for (i, (limit, usages)) in t.cgroups.iter().enumerate() {
            if let Some(&u) = usages.get(k) {
                w.push_sample(sample(time_ns, ids[i], u, *limit)).unwrap();
            }
        }
        for &(i, at) in &t.kills {
            if at == k {
                let kind = EventKind::OomKill {
                    usage: None,
                    limit: t.cgroups[i].0,
                };
                w.push_event(Event {
                    time_ns,
                    cgroup: ids[i],
                    kind,
                })
                .unwrap();
            }
        }
        if k % 7 == 6 {
            w.flush_chunk().unwrap();
        }
    }
    w.finish().unwrap();
}

fn sample(time_ns: u64, cgroup: u32, usage: u64, limit: Option<u64>) -> Sample {
    Sample {
        time_ns,
        cgroup,
        usage,
        limit,
        inactive_file: None,
        peak: None,
        failcnt: None,
    }
}

fn config(trace: &Path, algos: &[&'static str], mode: ReplayMode) -> ReplayConfig {
    ReplayConfig {
        traces: vec![trace.to_path_buf()],
        algos: algos.to_vec(),
        mode,
        training: Training::FirstHalf,
        initial_limits: InitialLimits::Trace,
        format: ReportFormat::Json,
        audit_log: None,
        plot: None,
        output: None,
        policy: PolicyConfig {
            min_bump: 8 * MIB,
            ..PolicyConfig::default()
        },
    }
}

/// Independent count of `static` kills: demand points at or after the
/// replay start above the cgroup's constant limit.
fn independent_kills(t: &RandomTrace) -> u64 {
    let steps = t.cgroups[0].1.len() as u64;
    let replay_from = (steps - 1) / 2 + 1;
    let mut kills = 0;
    for (i, (limit, usages)) in t.cgroups.iter().enumerate() {
        let Some(l) = *limit else { continue };
        for (k, &u) in usages.iter().enumerate() {
            if (k as u64) < replay_from {
                continue;
            }
            let killed_at = t.kills.iter().any(|&(c, at)| c == i && at == k);
            let demand = if killed_at {
                u.max(oom_kill_demand(l))
            } else {
                u
            };
            if demand > l {
                kills += 1;
            }
        }
    }
    kills
}

/// Checks the safety rules of every `proportional` decision.
struct Checker {
    cfg: PolicyConfig,
    decisions: u64,
    failure: Option<String>,
}

impl DecisionSink for Checker {
    fn decision(&mut self, _: &'static str, _: ReplayMode, snap: &Snapshot, plan: &Plan) {
        self.decisions += 1;
        let mut fail = |why: String| {
            self.failure.get_or_insert(why);
        };
        let h = headroom(&snap.global, &self.cfg);
        if plan.from_global > h {
            fail(format!(
                "granted {} from global, headroom {h}",
                plan.from_global
            ));
        }
        for c in &plan.changes {
            let view = &snap.cgroups[c.cgroup];
            if c.new < view.floor() {
                fail(format!("{} below floor", view.name));
            }
            if c.is_shrink() {
                let g = guard(c.old.unwrap_or(0), &self.cfg);
                if c.new < view.usage + g {
                    fail(format!("donor {} below usage + guard", view.name));
                }
            }
        }
        if plan.source == Source::Donors && plan.added_to_target() != plan.reclaimed() {
            fail(format!(
                "donor step gave {} and took {}",
                plan.added_to_target(),
                plan.reclaimed()
            ));
        }
        if plan.granted() > plan.reclaimed() + h {
            fail("over budget".into());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn static_kills_equal_an_independent_count(t in random_trace()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bin");
        write(&t, &path);
        for mode in [ReplayMode::React, ReplayMode::Rescue] {
            let report = replay_trace(&path, &config(&path, &["static"], mode)).unwrap();
            let tally = &report.results[0].tally;
            prop_assert_eq!(tally.kills, independent_kills(&t));
            prop_assert_eq!(tally.oom_events, tally.kills);
            prop_assert_eq!(tally.adjustments, 0);
        }
    }

    #[test]
    fn proportional_keeps_the_safety_rules_and_is_deterministic(t in random_trace()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bin");
        write(&t, &path);
        for mode in [ReplayMode::React, ReplayMode::Rescue] {
            let cfg = config(&path, &["proportional"], mode);
            let mut checker = Checker { cfg: cfg.policy.clone(), decisions: 0, failure: None };
            let hooks = ReplayHooks { sink: &mut checker, plot: None, progress: &|_| {} };
            let first = replay_trace_with(&path, &cfg, hooks).unwrap().report;
            prop_assert_eq!(checker.failure, None);
            let tally = &first.results[0].tally;
            prop_assert_eq!(tally.floor_violations, 0);
            prop_assert_eq!(tally.unsafe_plans, 0);
            prop_assert!(checker.decisions >= tally.oom_events);
            let again = replay_trace(&path, &cfg).unwrap();
            prop_assert_eq!(render(std::slice::from_ref(&first), ReportFormat::Json), render(&[again], ReportFormat::Json));
        }
    }

    #[test]
    fn every_algorithm_replays_safely(t in random_trace()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bin");
        write(&t, &path);
        let cfg = config(&path, cgcal_core::policy::all_names(), ReplayMode::Rescue);
        let report = replay_trace(&path, &cfg).unwrap();
        for r in &report.results {
            prop_assert_eq!(r.tally.floor_violations, 0, "{}", r.algo);
            prop_assert_eq!(r.tally.unsafe_plans, 0, "{}", r.algo);
            prop_assert!(r.tally.kills <= r.tally.oom_events);
            prop_assert!(r.tally.collateral_kills <= r.tally.kills);
        }
    }
}

#[test]
fn a_donor_lowered_below_its_later_demand_is_a_collateral_kill() {
    // /g/c0 OOMs at t=2 (needs 32 MiB more, the global headroom is 10 MiB);
    // /g/c1, under its median, gives it. At t=3 c1's demand returns to
    // 90 MiB: its original 100 MiB limit would have held it, its lowered one
    // (68 MiB) does not.
    let t = RandomTrace {
        root_limit: Some(Some(100 * MIB)),
        host_memory: None,
        cgroups: vec![
            (Some(64 * MIB), vec![60 * MIB, 60 * MIB, 70 * MIB, 60 * MIB]),
            (
                Some(100 * MIB),
                vec![10 * MIB, 90 * MIB, 10 * MIB, 90 * MIB],
            ),
        ],
        kills: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.bin");
    write(&t, &path);
    let mut cfg = config(&path, &["static", "proportional"], ReplayMode::React);
    cfg.training = Training::Until(cgcal_core::parse::TimeSpec::Absolute(SEC));
    cfg.policy.min_bump = 32 * MIB;
    let report = replay_trace(&path, &cfg).unwrap();
    let (st, pr) = (&report.results[0].tally, &report.results[1].tally);
    assert_eq!(report.replayed.samples, 4);
    assert_eq!((st.kills, st.collateral_kills), (1, 0));
    assert_eq!((pr.kills, pr.collateral_kills), (2, 1), "{pr:?}");
    assert_eq!(pr.bytes_added, pr.bytes_reclaimed);
}

#[test]
fn a_missing_trace_names_the_file() {
    let cfg = config(
        Path::new("/nonexistent/t.bin"),
        &["static"],
        ReplayMode::React,
    );
    let err = replay_trace(Path::new("/nonexistent/t.bin"), &cfg).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/t.bin") && text.contains("offset 0"),
        "{text}"
    );
}
