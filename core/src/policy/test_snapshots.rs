//! Snapshot builders and proptest strategies for the policy tests.

use proptest::prelude::*;

use crate::name::CgroupName;
use crate::stats::Phase1;

use super::config::PolicyConfig;
use super::snapshot::{CgroupView, GlobalView, OomKind, Snapshot, Trigger};

pub use super::config::MIB;
pub const PAGE: u64 = 4096;

pub fn name(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

/// Phase 1 figures (min, max, median).
pub fn p1(min: u64, max: u64, median: u64) -> Option<Phase1> {
    Some(Phase1 {
        min,
        max,
        median,
        ..Default::default()
    })
}

pub fn cg(n: &str, limit: Option<u64>, usage: u64, phase1: Option<Phase1>) -> CgroupView {
    CgroupView {
        name: name(n),
        limit,
        usage,
        phase1,
        original_limit: limit,
    }
}

/// A snapshot under the global cgroup `/apps`.
pub fn snap(global_limit: Option<u64>, global_usage: u64, cgroups: Vec<CgroupView>) -> Snapshot {
    Snapshot {
        time_ns: 1_000_000_000,
        cgroups,
        global: GlobalView {
            name: name("/apps"),
            limit: global_limit,
            usage: global_usage,
            host_memory: None,
        },
    }
}

pub fn oom(cgroup: usize, usage_at_oom: u64, kind: OomKind) -> Trigger {
    Trigger::Oom {
        cgroup,
        usage_at_oom,
        kind,
    }
}

fn arb_kind() -> impl Strategy<Value = OomKind> {
    prop_oneof![
        Just(OomKind::Oom),
        Just(OomKind::OomKill),
        Just(OomKind::Pressure)
    ]
}

/// One random managed cgroup: (parent choice, limit, usage, phase1).
fn arb_cgroup(
    aligned: bool,
) -> impl Strategy<Value = (Option<usize>, Option<u64>, u64, Option<Phase1>)> {
    let limit = prop_oneof![
        1 => Just(None),
        6 => (1u64..200_000).prop_map(Some),
    ];
    let phase1 = prop_oneof![
        1 => Just(None),
        4 => (0u64..100_000, 0u64..100_000, 0u64..100_000).prop_map(|(a, b, c)| {
            let mut v = [a, b, c];
            v.sort_unstable();
            // pages → bytes, min ≤ median ≤ max
            p1(v[0] * PAGE, v[2] * PAGE, v[1] * PAGE)
        }),
    ];
    (
        prop::option::weighted(0.2, 0usize..16),
        limit,
        0u64..220_000,
        phase1,
        0u64..PAGE,
    )
        .prop_map(move |(parent, limit, usage, phase1, jitter)| {
            let jitter = if aligned { 0 } else { jitter };
            (
                parent,
                limit.map(|l| l * PAGE + jitter),
                usage * PAGE + jitter,
                phase1,
            )
        })
}

/// A random snapshot of 1 to 16 cgroups under `/apps` (some nested), a random
/// OOM trigger on one of them, and a random valid configuration. With
/// `aligned`, every limit and usage is a whole number of pages.
pub fn arb_case(aligned: bool) -> impl Strategy<Value = (Snapshot, Trigger, PolicyConfig)> {
    (
        prop::collection::vec(arb_cgroup(aligned), 1..16),
        prop::option::weighted(0.8, 0u64..2_000_000),
        prop::option::weighted(0.5, 0u64..2_000_000),
        0u64..1_500_000,
        any::<prop::sample::Index>(),
        0u64..300_000,
        arb_kind(),
        arb_config(),
    )
        .prop_map(
            |(cgs, glimit, host, gusage, target, usage_at_oom, kind, cfg)| {
                let mut names: Vec<String> = Vec::new();
                let mut cgroups = Vec::new();
                for (i, (parent, limit, usage, phase1)) in cgs.into_iter().enumerate() {
                    let n = match parent {
                        Some(p) if p < names.len() => format!("{}/n{i}", names[p]),
                        _ => format!("/apps/c{i}"),
                    };
                    names.push(n.clone());
                    cgroups.push(cg(&n, limit, usage, phase1));
                }
                let x = target.index(cgroups.len());
                let mut s = snap(glimit.map(|g| g * PAGE), gusage * PAGE, cgroups);
                s.global.host_memory = host.map(|h| h * PAGE);
                (s, oom(x, usage_at_oom * PAGE, kind), cfg)
            },
        )
}

/// A random valid configuration with a 4 KiB page.
pub fn arb_config() -> impl Strategy<Value = PolicyConfig> {
    (
        0.05f64..=1.0,
        0.0f64..1.0,
        0u64..20_000,
        0u64..2_000,
        0.0f64..0.3,
    )
        .prop_map(
            |(threshold, bump_ratio, min_bump, guard_min, guard_ratio)| PolicyConfig {
                threshold,
                bump_ratio,
                min_bump: min_bump * PAGE,
                guard_min: guard_min * PAGE,
                guard_ratio,
                page_size: PAGE,
            },
        )
}

/// Anything at all: extreme sizes, any floats (NaN, negative, infinite),
/// page size 0, trigger indices out of range. For "never panics".
pub fn arb_wild_case() -> impl Strategy<Value = (Snapshot, Trigger, PolicyConfig)> {
    let cgroup = (
        any::<Option<u64>>(),
        any::<u64>(),
        any::<Option<(u64, u64, u64)>>(),
    );
    let cfg = (
        any::<f64>(),
        any::<f64>(),
        any::<u64>(),
        any::<u64>(),
        any::<f64>(),
        prop_oneof![Just(0u64), Just(1), Just(4096), any::<u64>()],
    )
        .prop_map(
            |(threshold, bump_ratio, min_bump, guard_min, guard_ratio, page_size)| PolicyConfig {
                threshold,
                bump_ratio,
                min_bump,
                guard_min,
                guard_ratio,
                page_size,
            },
        );
    (
        prop::collection::vec(cgroup, 0..8),
        any::<Option<u64>>(),
        any::<Option<u64>>(),
        any::<u64>(),
        0usize..10,
        any::<u64>(),
        arb_kind(),
        cfg,
    )
        .prop_map(|(cgs, glimit, host, gusage, x, usage_at_oom, kind, cfg)| {
            let cgroups = cgs
                .into_iter()
                .enumerate()
                .map(|(i, (limit, usage, p))| {
                    cg(
                        &format!("/apps/c{i}"),
                        limit,
                        usage,
                        p.and_then(|(a, b, c)| p1(a, b, c)),
                    )
                })
                .collect();
            let mut s = snap(glimit, gusage, cgroups);
            s.global.host_memory = host;
            (s, oom(x, usage_at_oom, kind), cfg)
        })
}
