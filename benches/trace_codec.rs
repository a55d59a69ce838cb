//! Trace codec throughput (samples/second) on the synthetic 1,000-cgroup
//! fleet trace, and the size in bytes per cgroup-sample of the full hour.
//!
//! `cargo bench --bench trace_codec`

use std::hint::black_box;
use std::io::{self, Write};

use cgcal_core::trace::synthetic_noise::{write_noise_trace, NoiseSpec};
use cgcal_core::trace::{ReadItem, Sample, TraceReader, TraceWriter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A sink that only counts bytes.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes per cgroup-sample of the full hour, written with the default
/// automatic chunking, and with a chunk every `flush_every` sweeps.
fn report_size() {
    let spec = NoiseSpec::fleet_hour(1);
    let n = spec.total_samples() as f64;
    let bytes = write_noise_trace(&spec, Count(0)).unwrap().0;
    println!(
        "trace size, 1000 cgroups x 3600 s at 1 s, default chunking: {bytes} bytes, {:.3} bytes per cgroup-sample",
        bytes as f64 / n
    );
    for flush_every in [5u64, 60] {
        let mut w = TraceWriter::new(Count(0), &spec.header()).unwrap();
        for i in 0..spec.cgroups {
            w.cgroup_id(&spec.name(i), spec.start_ns);
        }
        for (k, s) in spec.samples().enumerate() {
            w.push_sample(s).unwrap();
            if (k as u64 + 1).is_multiple_of(flush_every * spec.cgroups as u64) {
                w.flush_chunk().unwrap();
            }
        }
        let bytes = w.finish().unwrap().0;
        println!(
            "trace size, same trace with a chunk every {flush_every} s: {bytes} bytes, {:.3} bytes per cgroup-sample",
            bytes as f64 / n
        );
    }
}

fn encode(spec: &NoiseSpec, samples: &[Sample]) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::with_capacity(1 << 20), &spec.header()).unwrap();
    for i in 0..spec.cgroups {
        w.cgroup_id(&spec.name(i), spec.start_ns);
    }
    for &s in samples {
        w.push_sample(s).unwrap();
    }
    w.finish().unwrap()
}

fn decode(bytes: &[u8]) -> u64 {
    let mut r = TraceReader::new(bytes).unwrap();
    let mut n = 0u64;
    while let Some(item) = r.next_item() {
        if let ReadItem::Chunk(c) = item.unwrap() {
            n += c.samples.len() as u64;
            black_box(&c.samples);
        }
    }
    n
}

fn codec(c: &mut Criterion) {
    report_size();
    // Five minutes of the fleet: 300,000 samples.
    let spec = NoiseSpec {
        samples_per_cgroup: 300,
        ..NoiseSpec::fleet_hour(1)
    };
    let samples: Vec<Sample> = spec.samples().collect();
    let bytes = encode(&spec, &samples);
    let mut g = c.benchmark_group("trace_codec");
    g.throughput(Throughput::Elements(samples.len() as u64));
    g.sample_size(20);
    g.bench_function("encode_1000cg_5min", |b| {
        b.iter(|| encode(&spec, black_box(&samples)))
    });
    g.bench_function("decode_1000cg_5min", |b| {
        b.iter(|| assert_eq!(decode(black_box(&bytes)), samples.len() as u64))
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
