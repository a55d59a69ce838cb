//! `decide` latency of the policies on a 200-cgroup snapshot: `proportional`
//! on its global path (headroom covers the need) and on its donor path (no
//! headroom, 199 candidate donors), and an `autopilot` Tick over 24 h of history.

use std::hint::black_box;

use cgcal_core::name::CgroupName;
use cgcal_core::policy::{self, CgroupView, GlobalView, OomKind, PolicyConfig, Snapshot, Trigger};
use cgcal_core::stats::Phase1;
use criterion::{criterion_group, criterion_main, Criterion};

const MIB: u64 = 1 << 20;
const CGROUPS: usize = 200;

/// 200 cgroups under `/apps`; cgroup 0 is at its limit, the others use less
/// than their median (all donors); the global usage sets the headroom.
fn snapshot(global_usage: u64) -> Snapshot {
    let cgroups = (0..CGROUPS)
        .map(|i| {
            let limit = (256 + (i as u64 * 37) % 512) * MIB;
            let usage = if i == 0 {
                limit
            } else {
                limit / 4 + (i as u64 % 7) * MIB
            };
            CgroupView {
                name: CgroupName::parse(&format!("/apps/svc-{i:03}")).unwrap(),
                limit: Some(limit),
                usage,
                phase1: Some(Phase1 {
                    min: limit / 8,
                    max: limit + 64 * MIB,
                    median: limit / 2,
                    ..Default::default()
                }),
                original_limit: Some(limit),
            }
        })
        .collect();
    Snapshot {
        time_ns: 1_800_000_000_000_000_000,
        cgroups,
        global: GlobalView {
            name: CgroupName::parse("/apps").unwrap(),
            limit: Some(256 * 1024 * MIB),
            usage: global_usage,
            host_memory: None,
        },
    }
}

fn bench(c: &mut Criterion) {
    let cfg = PolicyConfig::default();
    let trigger = Trigger::Oom {
        cgroup: 0,
        usage_at_oom: 256 * MIB,
        kind: OomKind::Oom,
    };
    let mut proportional = policy::by_name("proportional").unwrap();

    let global = snapshot(10 * 1024 * MIB);
    let plan = proportional.decide(&global, &trigger, &cfg);
    assert_eq!(
        (plan.changes.len(), plan.from_donors),
        (1, 0),
        "global path"
    );
    c.bench_function("proportional_decide_200_global", |b| {
        b.iter(|| proportional.decide(black_box(&global), black_box(&trigger), &cfg))
    });

    let donors = snapshot(256 * 1024 * MIB);
    let plan = proportional.decide(&donors, &trigger, &cfg);
    assert_eq!(
        (plan.changes.len(), plan.from_global),
        (CGROUPS, 0),
        "donor path"
    );
    policy::check_plan(&donors, &plan, &cfg).unwrap();
    c.bench_function("proportional_decide_200_donors", |b| {
        b.iter(|| proportional.decide(black_box(&donors), black_box(&trigger), &cfg))
    });

    let mut autopilot = policy::by_name("autopilot").unwrap();
    let mut snap = snapshot(10 * 1024 * MIB);
    let start = snap.time_ns;
    for minute in 0..24 * 60 {
        snap.time_ns = start + minute * 60_000_000_000;
        autopilot.observe(&snap);
    }
    c.bench_function("autopilot_tick_200_after_24h", |b| {
        b.iter(|| autopilot.decide(black_box(&snap), &Trigger::Tick, &cfg))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
