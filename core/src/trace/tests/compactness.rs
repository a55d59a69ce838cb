//! Compactness of the synthetic fleet trace (the full hour is measured by
//! `cargo bench --bench trace_codec`).

use crate::trace::synthetic_noise::{write_noise_trace, NoiseSpec};
use crate::trace::*;

#[test]
fn fleet_trace_takes_at_most_two_bytes_per_cgroup_sample() {
    let spec = NoiseSpec {
        samples_per_cgroup: 300,
        ..NoiseSpec::fleet_hour(7)
    };
    let bytes = write_noise_trace(&spec, Vec::new()).unwrap();
    let per_sample = bytes.len() as f64 / spec.total_samples() as f64;
    eprintln!(
        "synthetic fleet, {} samples: {per_sample:.3} bytes per cgroup-sample",
        spec.total_samples()
    );
    assert!(per_sample <= 2.0, "{per_sample:.3} bytes per cgroup-sample");
    // And it reads back exactly, in sweep order.
    let (h, defs, samples, events, damage) =
        read_all(TraceReader::new(&bytes[..]).unwrap()).unwrap();
    assert_eq!(h, spec.header());
    assert_eq!((defs.len(), events.len(), damage.len()), (1000, 0, 0));
    assert!(samples.iter().eq(spec.samples().collect::<Vec<_>>().iter()));
}
