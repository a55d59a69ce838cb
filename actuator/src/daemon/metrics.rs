//! Prometheus metrics of the daemon (`--metrics-file`, `--metrics-listen`),
//! through `cgcal_cli::metrics` (families `cgact_*`): OOM notifications
//! seen, decisions by outcome and source, bytes of limit moved, the
//! decision latency (the audit line's `latency_us`), managed cgroups.
//! The file is rewritten after a batch of events changed something and at
//! exit, never on a timer (the daemon does not wake up while idle).

use cgcal_cli::metrics::{ActuatorMetrics, MetricsArgs, MetricsExporter, Registry, RescueLabels};
use cgcal_core::audit::AuditLine;

/// The families and their exporter.
#[derive(Debug)]
pub struct DaemonMetrics {
    families: ActuatorMetrics,
    exporter: MetricsExporter,
    changed: bool,
}

/// The snake_case name serde gives an audit enum value (`fallback_kill`).
fn label<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl DaemonMetrics {
    /// Starts the exporter `args` ask for; `None` when they ask for none.
    /// Call after the signals are blocked (the HTTP thread inherits the mask).
    pub fn start(args: &MetricsArgs) -> anyhow::Result<Option<DaemonMetrics>> {
        let mut registry = Registry::with_prefix("cgact");
        let families = ActuatorMetrics::register(&mut registry);
        Ok(
            MetricsExporter::start(args, registry)?.map(|exporter| DaemonMetrics {
                families,
                exporter,
                changed: false,
            }),
        )
    }

    /// One OOM notification (v1) or OOM counter increase (v2).
    pub fn oom_event(&mut self) {
        self.families.oom_events.inc();
        self.changed = true;
    }

    /// One decision, from its audit line.
    pub fn decision(&mut self, line: &AuditLine) {
        let labels = RescueLabels::new(&label(&line.outcome), &label(&line.source));
        self.families.rescues.get_or_create(&labels).inc();
        let reduced: u64 = line.adjusted_cgroups.iter().map(|a| a.reduced_memory).sum();
        self.families
            .bytes_moved
            .inc_by(line.added_memory.saturating_add(reduced));
        self.families
            .reaction_latency_seconds
            .observe(line.latency_us as f64 / 1e6);
        self.changed = true;
    }

    /// A fallback kill let through.
    pub fn fallback_kill(&mut self) {
        let labels = RescueLabels::new("fallback_kill", "none");
        self.families.rescues.get_or_create(&labels).inc();
        self.changed = true;
    }

    /// The number of managed (armed) cgroups.
    pub fn watched(&mut self, n: usize) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if self.families.watched_cgroups.get() != n {
            self.families.watched_cgroups.set(n);
            self.changed = true;
        }
    }

    /// Rewrites the metrics file if something changed since the last time
    /// (or always, with `force`); an error is logged, never fatal.
    pub fn publish(&mut self, force: bool) {
        if !(self.changed || force) {
            return;
        }
        self.changed = false;
        if let Err(e) = self.exporter.publish() {
            tracing::error!("{e:#}");
        }
    }
}
