//! Cost of one `cgact` decision (`Engine::handle`: snapshot, policy,
//! check, journal, apply with re-reads, audit line), each against a
//! baseline measured in the same run:
//! * in-memory hierarchy (`MemoryFs`): `handle` on 8 and on 200 managed
//!   cgroups (global-headroom path and donor path) vs the policy's
//!   `decide` alone on the same snapshot;
//! * the same decision with `--journal` on the local disk (two
//!   `fdatasync`s) vs without;
//! * live v1 (skipped where no writable v1 memory hierarchy exists): `handle`
//!   on 8 live cgroups vs reading the limit and usage of each (the
//!   snapshot's reads alone).
//!
//! Between iterations the written limits are put back (untimed), so every
//! iteration makes the same decision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cgact::cli::{Cli, DaemonConfig};
use cgact::engine::Engine;
use cgcal_core::cgroupfs::{open_root, MemoryFs};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::{self, CgroupView, GlobalView, OomKind, PolicyConfig, Snapshot, Trigger};
use cgcal_core::stats::Phase1;
use cgcal_core::trace::CgroupVersion;
use cgcal_testkit::LiveParent;
use clap::Parser;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const MIB: u64 = 1 << 20;

fn n(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

/// Config for `root` with stats for `names` (median 50 MiB, max 100 MiB).
fn config(dir: &Path, root: &str, names: &[CgroupName], journal: bool) -> DaemonConfig {
    let stats: BTreeMap<String, serde_json::Value> = names
        .iter()
        .map(|c| {
            (
                c.to_string(),
                serde_json::json!({"min_consumption": MIB, "median_consumption": 50 * MIB, "max_consumption": 100 * MIB}),
            )
        })
        .collect();
    let path = dir.join("stats.json");
    std::fs::write(&path, serde_json::to_string(&stats).unwrap()).unwrap();
    let mut args: Vec<String> = [
        "cgact",
        "--root",
        root,
        "--stats",
        path.to_str().unwrap(),
        "--mode",
        "rescue",
        "--lock-file",
        "/dev/null",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if journal {
        args.push("--journal".into());
        args.push(dir.join("journal").display().to_string());
    }
    Cli::try_parse_from(args).unwrap().validate().unwrap()
}

/// `count` leaves under /r: /r/c000 is the target (64 MiB limit, full),
/// the others 100 MiB limits using 20 MiB (donors). `global_headroom`:
/// the root's limit leaves room for the raise, else none.
fn fake(count: usize, global_headroom: bool) -> (MemoryFs, Vec<CgroupName>) {
    let fs = MemoryFs::new(CgroupVersion::V1, n("/r"));
    let names: Vec<CgroupName> = (0..count).map(|i| n(&format!("/r/c{i:03}"))).collect();
    let used = 64 * MIB + (count as u64 - 1) * 20 * MIB;
    let root_limit = if global_headroom { 4 * used } else { used };
    fs.insert(&n("/r"), used, Some(root_limit)).unwrap();
    for (i, c) in names.iter().enumerate() {
        let (usage, limit) = if i == 0 {
            (64 * MIB, 64 * MIB)
        } else {
            (20 * MIB, 100 * MIB)
        };
        fs.insert(c, usage, Some(limit)).unwrap();
    }
    (fs, names)
}

fn reset(fs: &MemoryFs, names: &[CgroupName]) {
    for (i, c) in names.iter().enumerate() {
        let limit = if i == 0 { 64 * MIB } else { 100 * MIB };
        fs.update(c, |s| s.limit = Some(limit)).unwrap();
    }
}

/// The snapshot the engine would read from `fake`.
fn snapshot(fs: &MemoryFs, names: &[CgroupName]) -> Snapshot {
    let root = fs.state(&n("/r")).unwrap();
    Snapshot {
        time_ns: 0,
        cgroups: names
            .iter()
            .map(|c| {
                let s = fs.state(c).unwrap();
                CgroupView {
                    name: c.clone(),
                    limit: s.limit,
                    usage: s.usage,
                    phase1: Some(Phase1 {
                        min: MIB,
                        median: 50 * MIB,
                        max: 100 * MIB,
                        ..Default::default()
                    }),
                    original_limit: s.limit,
                }
            })
            .collect(),
        global: GlobalView {
            name: n("/r"),
            limit: root.limit,
            usage: root.usage,
            host_memory: None,
        },
    }
}

fn in_memory(c: &mut Criterion) {
    let mut g = c.benchmark_group("cgact_engine_memoryfs");
    for (count, global) in [(8, true), (200, true), (200, false)] {
        let path = if global { "global" } else { "donors" };
        let (fs, names) = fake(count, global);
        let snap = snapshot(&fs, &names);
        let cfg = PolicyConfig::default();
        let mut p = policy::by_name("proportional").unwrap();
        let trigger = Trigger::Oom {
            cgroup: 0,
            usage_at_oom: 64 * MIB,
            kind: OomKind::Oom,
        };
        g.bench_function(format!("baseline_decide_{count}_{path}"), |b| {
            b.iter(|| p.decide(&snap, &trigger, &cfg))
        });
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::new(
            Box::new(fs.clone()),
            &config(dir.path(), "/unused", &names, false),
        )
        .unwrap();
        g.bench_function(format!("handle_{count}_{path}"), |b| {
            b.iter_batched(
                || reset(&fs, &names),
                |_| {
                    let d = e.handle(&names[0], OomKind::Oom, Instant::now()).unwrap();
                    assert_eq!(d.added_to_target, 36 * MIB);
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn journal(c: &mut Criterion) {
    let mut g = c.benchmark_group("cgact_engine_journal");
    let (fs, names) = fake(8, true);
    for journal in [false, true] {
        let dir = tempfile::Builder::new()
            .prefix("cgact-bench")
            .tempdir_in(env_tmp())
            .unwrap();
        let mut e = Engine::new(
            Box::new(fs.clone()),
            &config(dir.path(), "/unused", &names, journal),
        )
        .unwrap();
        let name = if journal {
            "handle_8_with_journal"
        } else {
            "baseline_handle_8_no_journal"
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || reset(&fs, &names),
                |_| e.handle(&names[0], OomKind::Oom, Instant::now()).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// The directory the journal bench writes in (`CGCAL_BENCH_DIR`, default
/// the system temporary directory).
fn env_tmp() -> PathBuf {
    std::env::var_os("CGCAL_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn live(c: &mut Criterion) {
    let Some(parent) = LiveParent::new("bench-engine") else {
        return;
    };
    let mut g = c.benchmark_group("cgact_engine_live_v1");
    parent.set_limit("", 1024 * MIB);
    let rels: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    for r in &rels {
        parent.child(r);
        parent.set_limit(r, 64 * MIB);
    }
    let fs = open_root(parent.path(), None).unwrap();
    let names: Vec<CgroupName> = rels.iter().map(|r| n(&parent.name_of(r))).collect();
    let mut handles: Vec<_> = names.iter().map(|c| fs.open(c).unwrap()).collect();
    g.bench_function("baseline_read_limit_and_usage_of_8", |b| {
        b.iter(|| {
            for h in handles.iter_mut() {
                std::hint::black_box((h.limit().unwrap(), h.usage().unwrap()));
            }
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), parent.path().to_str().unwrap(), &names, false);
    let mut e = Engine::new(fs, &cfg).unwrap();
    let target = parent.path().join("c0");
    g.bench_function("handle_8_global", |b| {
        b.iter_batched(
            || {
                std::fs::write(target.join("memory.limit_in_bytes"), (64 * MIB).to_string())
                    .unwrap()
            },
            |_| {
                let d = e.handle(&names[0], OomKind::Oom, Instant::now()).unwrap();
                assert_eq!(d.added_to_target, 36 * MIB);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, in_memory, journal, live);
criterion_main!(benches);
