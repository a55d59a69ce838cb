//! Phase 1 statistics throughput: `cgcal_core::stats::compute` over 2 M and
//! 4 M in-memory samples of 1,000 cgroups (usage, median + p90 + p99),
//! reported in samples per second. With 2,000 samples per cgroup the engine
//! counts then collects (2 passes); with 4,000 (above `COLLECT_MAX`) it
//! counts, narrows with histograms, then collects (3 passes). Prints the
//! number of passes of each case.

use std::hint::black_box;

use cgcal_core::stats::{compute_with_budget, MemoryBudget, Metric, Percentile, StatsRequest};
use cgcal_core::trace::Sample;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const CGROUPS: u32 = 1_000;

/// Deterministic pseudo-random numbers (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A trace's samples in time order: every cgroup once per second, usage a
/// page-aligned random walk around a per-cgroup level of 16 MiB to 1 GiB.
fn samples(per_cgroup: u64) -> Vec<Sample> {
    let mut rng = SplitMix(42);
    let mut usage: Vec<u64> = (0..CGROUPS)
        .map(|_| (16 << 20) + rng.next() % (1 << 30))
        .collect();
    let mut out = Vec::with_capacity((u64::from(CGROUPS) * per_cgroup) as usize);
    for tick in 0..per_cgroup {
        for (cgroup, u) in usage.iter_mut().enumerate() {
            let step = (rng.next() % (2 << 20)) & !4095;
            *u = if rng.next() & 1 == 0 {
                u.saturating_add(step)
            } else {
                u.saturating_sub(step).max(1 << 20)
            };
            out.push(Sample {
                time_ns: 1_800_000_000_000_000_000 + tick * 1_000_000_000,
                cgroup: cgroup as u32,
                usage: *u,
                limit: Some(2 << 30),
                inactive_file: Some(*u / 8),
                peak: None,
                failcnt: None,
            });
        }
    }
    out
}

fn stats_throughput(c: &mut Criterion) {
    let req = StatsRequest {
        from_ns: 0,
        to_ns: u64::MAX,
        metric: Metric::Usage,
        percentiles: vec![
            Percentile::whole(90).unwrap(),
            Percentile::whole(99).unwrap(),
        ],
    };
    let mut group = c.benchmark_group("stats");
    group.sample_size(10);
    for per_cgroup in [2_000, 4_000] {
        let samples = samples(per_cgroup);
        let computed = compute_with_budget(&mut samples.as_slice(), &req, MemoryBudget::default())
            .expect("in-memory source");
        eprintln!(
            "stats: {} samples, {} cgroups, {} passes",
            samples.len(),
            computed.stats.len(),
            computed.passes
        );
        group.throughput(Throughput::Elements(samples.len() as u64));
        let name = format!(
            "usage_median_p90_p99/{}M_samples_1000_cgroups",
            samples.len() / 1_000_000
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                compute_with_budget(
                    &mut black_box(samples.as_slice()),
                    black_box(&req),
                    MemoryBudget::default(),
                )
                .expect("in-memory source")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, stats_throughput);
criterion_main!(benches);
