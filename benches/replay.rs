//! `cgsim replay` throughput (trace samples per second) on a synthetic
//! noisy-neighbour trace (`cgsim synth`, seed 1, 24 h: 10 cgroups at 1 s,
//! 864,000 samples, OOM kills throughout), per algorithm and for all five
//! at once, in react and rescue mode; baseline: one decode of the same
//! trace with `TraceReader` alone. A replay is what `cgsim replay TRACE
//! --algo X` does without the CLI and the report output: a scan pass, the
//! Phase 1 passes over the first half, one replay pass (engine steps for
//! every algorithm side by side).
//!
//! `cargo bench --bench replay`

use std::fs::File;
use std::hint::black_box;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cgcal_core::parse::InitialLimits;
use cgcal_core::policy::{all_names, PolicyConfig};
use cgcal_core::trace::{open_trace, ReadItem};
use cgsim::cli::{ReplayConfig, ReplayMode, ReportFormat, Scenario, Training};
use cgsim::replay::replay_trace;
use cgsim::synth::write_scenario;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Writes the bench trace into `dir` and returns its path.
fn synth_trace(dir: &Path) -> PathBuf {
    let path = dir.join("noisy-neighbour-24h.bin");
    let out = BufWriter::new(File::create(&path).unwrap());
    write_scenario(
        Scenario::NoisyNeighbour,
        1,
        Duration::from_secs(24 * 3600),
        out,
        "bench",
    )
    .unwrap();
    path
}

/// Samples in the trace, by one decode pass.
fn decode(path: &Path) -> u64 {
    let mut r = open_trace(path).unwrap();
    let mut n = 0;
    while let Some(item) = r.next_item() {
        if let ReadItem::Chunk(c) = item.unwrap() {
            n += c.samples.len() as u64;
            black_box(&c.events);
        }
    }
    n
}

fn config(path: &Path, algos: Vec<&'static str>, mode: ReplayMode) -> ReplayConfig {
    ReplayConfig {
        traces: vec![path.to_path_buf()],
        algos,
        mode,
        training: Training::FirstHalf,
        initial_limits: InitialLimits::Trace,
        format: ReportFormat::Table,
        audit_log: None,
        plot: None,
        output: None,
        policy: PolicyConfig::default(),
    }
}

fn replay_throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = synth_trace(dir.path());
    let samples = decode(&path);
    println!("bench trace: {samples} samples");
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples));
    g.bench_function("baseline: TraceReader decode", |b| {
        b.iter(|| black_box(decode(&path)))
    });
    for mode in [ReplayMode::React, ReplayMode::Rescue] {
        let m = format!("{mode:?}").to_lowercase();
        let mut runs: Vec<(String, Vec<&'static str>)> = all_names()
            .iter()
            .map(|&a| (a.to_string(), vec![a]))
            .collect();
        runs.push(("all".to_string(), all_names().to_vec()));
        for (name, algos) in runs {
            let cfg = config(&path, algos, mode);
            g.bench_function(format!("{m}/{name}"), |b| {
                b.iter(|| black_box(replay_trace(&path, &cfg).unwrap()))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, replay_throughput);
criterion_main!(benches);
