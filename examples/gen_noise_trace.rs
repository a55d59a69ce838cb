//! Writes a synthetic fleet trace (`cgcal_core::trace::synthetic_noise`) for
//! benchmarks: page-level random-walk usage of CGROUPS cgroups, one sample
//! per second each, SAMPLES samples per cgroup; with FLUSH_SWEEPS a chunk is
//! written every that many sweeps (as `cgrec record --flush` does), else the
//! writer's default chunking.
//!
//! ```text
//! cargo run --release --example gen_noise_trace -- OUT CGROUPS SAMPLES [FLUSH_SWEEPS [SEED]]
//! cargo run --release --example gen_noise_trace -- /tmp/10m.bin 1000 10000
//! ```

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use cgcal_core::trace::synthetic_noise::NoiseSpec;
use cgcal_core::trace::TraceWriter;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: Option<u64>| -> Option<u64> {
        match args.get(i) {
            Some(s) => s.parse().ok(),
            None => default,
        }
    };
    let (Some(out), Some(cgroups), Some(samples), Some(flush), Some(seed)) = (
        args.first(),
        num(1, None),
        num(2, None),
        num(3, Some(0)),
        num(4, Some(1)),
    ) else {
        eprintln!("usage: gen_noise_trace OUT CGROUPS SAMPLES_PER_CGROUP [FLUSH_SWEEPS [SEED]]");
        return ExitCode::from(2);
    };
    let spec = NoiseSpec {
        cgroups: cgroups as u32,
        samples_per_cgroup: samples,
        seed,
        ..NoiseSpec::fleet_hour(seed)
    };
    match write(out, &spec, flush) {
        Ok(bytes) => {
            println!(
                "{out}: {} samples, {bytes} bytes, {:.3} bytes per sample",
                spec.total_samples(),
                bytes as f64 / spec.total_samples().max(1) as f64
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_noise_trace: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn write(
    out: &str,
    spec: &NoiseSpec,
    flush_sweeps: u64,
) -> Result<u64, Box<dyn std::error::Error>> {
    let file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut w = TraceWriter::with_file_name(file, &spec.header(), out)?;
    for i in 0..spec.cgroups {
        w.cgroup_id(&spec.name(i), spec.start_ns);
    }
    let per_chunk = flush_sweeps * spec.cgroups as u64;
    for (k, s) in spec.samples().enumerate() {
        w.push_sample(s)?;
        if per_chunk > 0 && (k as u64 + 1).is_multiple_of(per_chunk) {
            w.flush_chunk()?;
        }
    }
    w.flush_chunk()?;
    Ok(w.bytes_written())
}
