//! Rewrites a trace with full-size chunks (`cgcal_core::trace::compact`,
//! what `cgrec record` does at a clean stop) and prints the sizes.
//!
//! ```text
//! cargo run --release --example compact_trace -- SRC DST
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: compact_trace SRC DST");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    match cgcal_core::trace::compact(Path::new(src), Path::new(dst)) {
        Ok(s) => {
            let n = s.samples.max(1) as f64;
            println!(
                "{src}: {} bytes, {:.3} B/sample, {} chunks -> {dst}: {} bytes, {:.3} B/sample; {} samples, {} events, {} cgroups, {} damaged; {:.2} s",
                s.bytes_in,
                s.bytes_in as f64 / n,
                s.chunks_in,
                s.bytes_out,
                s.bytes_out as f64 / n,
                s.samples,
                s.events,
                s.cgroups,
                s.damage.len(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("compact_trace: error: {e}");
            ExitCode::from(1)
        }
    }
}
