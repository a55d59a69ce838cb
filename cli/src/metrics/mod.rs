//! Prometheus metrics of the long-running programs (`cgrec record`,
//! `cgact`): the metric families ([`RecorderMetrics`], [`ActuatorMetrics`]),
//! encoded in the text exposition format by the maintained
//! `prometheus-client` crate, and published by a [`MetricsExporter`]:
//!
//! * `--metrics-file PATH`: a node_exporter *textfile collector* file,
//!   rewritten atomically (written to `PATH.tmp`, then renamed over `PATH`)
//!   at every [`MetricsExporter::publish`] (cgrec: every `--flush`);
//! * `--metrics-listen ADDR`: a tiny HTTP endpoint (`GET /metrics`) on a
//!   background thread, encoding the registry at each scrape. Loopback
//!   only unless `--metrics-listen-public` is given.
//!
//! Wiring a program (what cgact does):
//!
//! ```no_run
//! use cgcal_cli::metrics::{ActuatorMetrics, MetricsArgs, MetricsExporter, RescueLabels};
//! # #[derive(clap::Parser)]
//! # struct Cli { #[command(flatten)] metrics: MetricsArgs }
//! # fn demo(args: MetricsArgs) -> anyhow::Result<()> {
//! // 1. flatten `MetricsArgs` into the clap struct; validate it in `validate()`.
//! args.validate::<Cli>()?;
//! // 2. build the families into a registry with the program's prefix;
//! let mut registry = cgcal_cli::metrics::Registry::with_prefix("cgact");
//! let m = ActuatorMetrics::register(&mut registry);
//! // 3. start the exporter (None when neither flag is given);
//! let exporter = MetricsExporter::start(&args, registry)?;
//! // 4. update the metrics where things happen (clones share the values) ...
//! m.rescues.get_or_create(&RescueLabels::new("raised", "oom")).inc();
//! m.reaction_latency_seconds.observe(0.004);
//! // ... and publish the file from the main loop every few seconds and at exit.
//! if let Some(e) = &exporter { e.publish()?; }
//! # Ok(()) }
//! ```

mod args;
mod exporter;
mod families;

pub use args::MetricsArgs;
pub use exporter::{encode_text, MetricsExporter};
pub use families::{ActuatorMetrics, RecorderMetrics, RescueLabels};
/// The metrics crate, so programs use its types without depending on it.
pub use prometheus_client;
/// The registry metric families register in.
pub use prometheus_client::registry::Registry;
