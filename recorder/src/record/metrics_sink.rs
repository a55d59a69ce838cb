//! `cgrec record --metrics-file/--metrics-listen`: the recording's totals
//! mapped onto [`RecorderMetrics`] and published at every flush and at the
//! stop ([`cgcal_cli::metrics`] has the format and the exporter).

use std::time::Duration;

use cgcal_cli::metrics::prometheus_client::metrics::counter::Counter;
use cgcal_cli::metrics::{MetricsExporter, RecorderMetrics};

/// Totals of a recording so far (monotonic, over all files).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Samples recorded.
    pub samples: u64,
    /// Events recorded.
    pub events: u64,
    /// `Oom` events recorded.
    pub oom_events: u64,
    /// `OomKill` events recorded.
    pub oom_kills: u64,
    /// Bytes written to trace files (closed files at their final size).
    pub bytes: u64,
    /// Files closed by rotation.
    pub rotations: u64,
    /// Files deleted by retention.
    pub deleted: u64,
}

/// What the recording looks like now, for the gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordGauges {
    /// Cgroups tracked.
    pub cgroups: usize,
    /// The last sweep's duration.
    pub last_sweep: Duration,
    /// The longest sweep's duration.
    pub max_sweep: Duration,
}

/// The recorder's metrics and where they go.
#[derive(Debug)]
pub struct RecordMetrics {
    metrics: RecorderMetrics,
    exporter: MetricsExporter,
    published: RecordCounts,
}

impl RecordMetrics {
    /// Publishes `metrics` through `exporter`; `interval` is the nominal one.
    pub fn new(
        metrics: RecorderMetrics,
        exporter: MetricsExporter,
        interval: Duration,
    ) -> RecordMetrics {
        metrics.interval_seconds.set(interval.as_secs_f64());
        RecordMetrics {
            metrics,
            exporter,
            published: RecordCounts::default(),
        }
    }

    /// Brings the metrics up to `now` and `gauges`, then publishes them.
    /// A failure to publish is logged: it does not stop the recording.
    pub fn observe(&mut self, now: RecordCounts, gauges: RecordGauges) {
        let m = &self.metrics;
        let was = self.published;
        let up = |c: &Counter, new: u64, old: u64| {
            c.inc_by(new.saturating_sub(old));
        };
        up(&m.samples, now.samples, was.samples);
        up(&m.events, now.events, was.events);
        up(&m.oom_events, now.oom_events, was.oom_events);
        up(&m.oom_kills, now.oom_kills, was.oom_kills);
        up(&m.trace_bytes_written, now.bytes, was.bytes);
        up(&m.rotations, now.rotations, was.rotations);
        up(&m.retention_deleted, now.deleted, was.deleted);
        self.published = RecordCounts {
            bytes: now.bytes.max(was.bytes),
            ..now
        };
        m.watched_cgroups
            .set(i64::try_from(gauges.cgroups).unwrap_or(i64::MAX));
        m.sweep_seconds.set(gauges.last_sweep.as_secs_f64());
        m.sweep_max_seconds.set(gauges.max_sweep.as_secs_f64());
        if let Err(e) = self.exporter.publish() {
            tracing::warn!("{e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgcal_cli::metrics::{MetricsArgs, Registry};

    #[test]
    fn counters_follow_the_totals_and_the_file_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cgrec.prom");
        let mut reg = Registry::with_prefix("cgrec");
        let m = RecorderMetrics::register(&mut reg);
        let args = MetricsArgs {
            metrics_file: Some(file.clone()),
            ..MetricsArgs::default()
        };
        let exporter = MetricsExporter::start(&args, reg).unwrap().unwrap();
        let mut rm = RecordMetrics::new(m, exporter, Duration::from_millis(500));
        let counts = RecordCounts {
            samples: 10,
            oom_kills: 1,
            bytes: 100,
            ..RecordCounts::default()
        };
        let gauges = RecordGauges {
            cgroups: 3,
            last_sweep: Duration::from_millis(2),
            max_sweep: Duration::from_millis(5),
        };
        rm.observe(counts, gauges);
        rm.observe(
            RecordCounts {
                samples: 25,
                ..counts
            },
            gauges,
        );
        let text = std::fs::read_to_string(&file).unwrap();
        for want in [
            "cgrec_samples_total 25",
            "cgrec_oom_kills_total 1",
            "cgrec_trace_bytes_written_total 100",
            "cgrec_watched_cgroups 3",
            "cgrec_interval_seconds 0.5",
            "cgrec_sweep_max_seconds 0.005",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
    }
}
