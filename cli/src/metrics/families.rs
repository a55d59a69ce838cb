//! The metric families of `cgrec record` and `cgact`. Each struct registers
//! its metrics in a registry (names get the registry's prefix, counters the
//! `_total` suffix of the exposition format) and keeps handles to them:
//! clones share the values, so the program updates them where things happen.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// `cgrec record`'s metrics (prefix `cgrec`).
#[derive(Debug, Clone, Default)]
pub struct RecorderMetrics {
    /// Bytes appended to trace files (all files of a rotated recording).
    pub trace_bytes_written: Counter,
    /// Samples recorded.
    pub samples: Counter,
    /// Events recorded (all kinds).
    pub events: Counter,
    /// OOM events (limit hit) seen.
    pub oom_events: Counter,
    /// OOM kills seen.
    pub oom_kills: Counter,
    /// Cgroups being recorded now.
    pub watched_cgroups: Gauge,
    /// Duration of the last sweep over every cgroup, seconds.
    pub sweep_seconds: Gauge<f64, AtomicU64>,
    /// Longest sweep so far, seconds.
    pub sweep_max_seconds: Gauge<f64, AtomicU64>,
    /// The nominal `--interval`, seconds: sweeps close to it mean samples lag.
    pub interval_seconds: Gauge<f64, AtomicU64>,
    /// Trace files closed by rotation.
    pub rotations: Counter,
    /// Trace files deleted by retention.
    pub retention_deleted: Counter,
}

impl RecorderMetrics {
    /// Registers every metric in `registry` and returns the handles.
    pub fn register(registry: &mut Registry) -> RecorderMetrics {
        let m = RecorderMetrics::default();
        registry.register(
            "trace_bytes_written",
            "Bytes appended to trace files",
            m.trace_bytes_written.clone(),
        );
        registry.register("samples", "Samples recorded", m.samples.clone());
        registry.register("events", "Events recorded", m.events.clone());
        registry.register(
            "oom_events",
            "OOM events (a cgroup hit its limit) seen",
            m.oom_events.clone(),
        );
        registry.register("oom_kills", "OOM kills seen", m.oom_kills.clone());
        registry.register(
            "watched_cgroups",
            "Cgroups being recorded",
            m.watched_cgroups.clone(),
        );
        registry.register(
            "sweep_seconds",
            "Duration of the last sweep over every cgroup",
            m.sweep_seconds.clone(),
        );
        registry.register(
            "sweep_max_seconds",
            "Longest sweep so far",
            m.sweep_max_seconds.clone(),
        );
        registry.register(
            "interval_seconds",
            "The sampling interval (--interval); sweeps near it make samples lag",
            m.interval_seconds.clone(),
        );
        registry.register(
            "rotations",
            "Trace files closed by rotation",
            m.rotations.clone(),
        );
        registry.register(
            "retention_deleted",
            "Trace files deleted by retention",
            m.retention_deleted.clone(),
        );
        m
    }
}

/// The labels of a rescue: how it ended and what started it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RescueLabels {
    /// How it ended (e.g. `raised`, `fallback_kill`, `refused`, `dry_run`).
    pub outcome: String,
    /// What triggered it (e.g. `oom`, `threshold`, `psi`, `tick`).
    pub source: String,
}

impl RescueLabels {
    /// Labels from their values.
    pub fn new(outcome: &str, source: &str) -> RescueLabels {
        RescueLabels {
            outcome: outcome.to_string(),
            source: source.to_string(),
        }
    }
}

/// `cgact`'s metrics (prefix `cgact`).
#[derive(Debug, Clone)]
pub struct ActuatorMetrics {
    /// OOM events seen.
    pub oom_events: Counter,
    /// Rescues, by outcome and source.
    pub rescues: Family<RescueLabels, Counter>,
    /// Bytes of limit moved between cgroups (raised plus lowered).
    pub bytes_moved: Counter,
    /// Time from the event to the limit written, seconds.
    pub reaction_latency_seconds: Histogram,
    /// Cgroups managed now.
    pub watched_cgroups: Gauge,
}

impl ActuatorMetrics {
    /// Registers every metric in `registry` and returns the handles.
    /// Latency buckets: 100 µs to about 3.3 s, doubling.
    pub fn register(registry: &mut Registry) -> ActuatorMetrics {
        let m = ActuatorMetrics {
            oom_events: Counter::default(),
            rescues: Family::default(),
            bytes_moved: Counter::default(),
            reaction_latency_seconds: Histogram::new(exponential_buckets(1e-4, 2.0, 16)),
            watched_cgroups: Gauge::default(),
        };
        registry.register("oom_events", "OOM events seen", m.oom_events.clone());
        registry.register(
            "rescues",
            "Rescues by outcome and source",
            m.rescues.clone(),
        );
        registry.register(
            "bytes_moved",
            "Bytes of limit moved between cgroups",
            m.bytes_moved.clone(),
        );
        registry.register(
            "reaction_latency_seconds",
            "Time from an event to the limit written",
            m.reaction_latency_seconds.clone(),
        );
        registry.register(
            "watched_cgroups",
            "Cgroups managed",
            m.watched_cgroups.clone(),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::encode_text;

    #[test]
    fn recorder_metrics_encode_with_prefix_and_total_suffix() {
        let mut r = Registry::with_prefix("cgrec");
        let m = RecorderMetrics::register(&mut r);
        m.samples.inc_by(42);
        m.sweep_seconds.set(0.25);
        m.watched_cgroups.set(7);
        let text = encode_text(&r).unwrap();
        assert!(text.contains("# TYPE cgrec_samples counter"), "{text}");
        assert!(text.contains("cgrec_samples_total 42"), "{text}");
        assert!(text.contains("cgrec_sweep_seconds 0.25"), "{text}");
        assert!(text.contains("cgrec_watched_cgroups 7"), "{text}");
    }

    #[test]
    fn actuator_metrics_have_labelled_rescues_and_a_latency_histogram() {
        let mut r = Registry::with_prefix("cgact");
        let m = ActuatorMetrics::register(&mut r);
        m.rescues
            .get_or_create(&RescueLabels::new("raised", "oom"))
            .inc();
        m.reaction_latency_seconds.observe(0.003);
        m.bytes_moved.inc_by(1 << 20);
        let text = encode_text(&r).unwrap();
        assert!(
            text.contains("cgact_rescues_total{outcome=\"raised\",source=\"oom\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cgact_reaction_latency_seconds_count 1"),
            "{text}"
        );
        assert!(text.contains("cgact_bytes_moved_total 1048576"), "{text}");
    }
}
