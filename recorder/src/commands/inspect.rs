//! `cgrec inspect`: the header (the first file's, for a directory of
//! rotated traces), time span, cgroups, samples, events, size
//! and chunk health of a trace, as aligned text on stdout.
//!
//! A damaged trace is still inspected (exit 0): the `health` line says
//! `DAMAGED` and every damaged chunk is listed with its byte offset. Exit 1
//! is kept for traces that cannot be read at all (no file, bad header).

use std::fmt::Write as _;

use cgcal_core::parse::{format_duration, format_rfc3339_ns};

use crate::trace_summary::{human_duration, TraceSummary};
use cgcal_core::trace::{open_trace_set, ReadItem};

use crate::cli::InspectConfig;
use crate::output_sink::OutputSink;

/// Describes a trace and the health of its chunks.
pub fn run(cfg: InspectConfig) -> anyhow::Result<()> {
    let mut reader = open_trace_set(&cfg.trace)?;
    let header = reader.header().clone();
    let minor = reader.minor_version();
    let mut sum = TraceSummary::default();
    let mut damaged_files = Vec::new();
    while let Some(item) = reader.next_item() {
        match item? {
            ReadItem::Chunk(c) => sum.add_chunk(&c),
            ReadItem::Damaged(d) => {
                damaged_files.push(reader.file_name().to_string());
                sum.add_damage(d)
            }
        }
    }
    let file_bytes = reader.offset();
    let mut t = String::new();
    let mut line = |key: &str, value: String| {
        let _ = writeln!(t, "{key:<15} {value}");
    };
    line("trace", cfg.trace.display().to_string());
    if reader.file_count() > 1 {
        line(
            "files",
            format!("{} (read as one trace, in time order)", reader.file_count()),
        );
    }
    line(
        "format",
        format!("{}.{minor}", cgcal_core::trace::layout::VERSION_MAJOR),
    );
    line("host", header.host.clone());
    line("kernel", or_unknown(&header.kernel));
    line(
        "cgroup version",
        format!("{:?}", header.cgroup_version).to_lowercase(),
    );
    line("root", header.root.to_string());
    line(
        "interval",
        match header.interval_ns {
            0 => "unknown".to_string(),
            ns => format_duration(ns),
        },
    );
    line(
        "host memory",
        header
            .host_memory
            .map_or_else(|| "unknown".to_string(), |b| format!("{b} bytes")),
    );
    line("start", format_rfc3339_ns(header.start_ns));
    line("tool", or_unknown(&header.tool));
    line(
        "time span",
        match sum.sample_span {
            None => "no sample".to_string(),
            Some((a, b)) => format!(
                "{} to {} ({})",
                format_rfc3339_ns(a),
                format_rfc3339_ns(b),
                human_duration(b - a)
            ),
        },
    );
    line("cgroups", sum.cgroups.len().to_string());
    line("samples", sum.samples.to_string());
    let kinds: Vec<String> = sum.events.iter().map(|(k, n)| format!("{k} {n}")).collect();
    line(
        "events",
        match kinds.is_empty() {
            true => "0".to_string(),
            false => format!("{} ({})", sum.event_total(), kinds.join(", ")),
        },
    );
    line("file bytes", file_bytes.to_string());
    line(
        "bytes/sample",
        match sum.samples {
            0 => "-".to_string(),
            n => format!("{:.3}", file_bytes as f64 / n as f64),
        },
    );
    line(
        "chunks",
        format!("{} ok, {} damaged", sum.chunks_ok, sum.damage.len()),
    );
    line(
        "health",
        match sum.damage.len() {
            0 => "OK".to_string(),
            n => format!("DAMAGED: {n} damaged chunk(s) or stretch(es), listed below; their records are unreadable"),
        },
    );
    for (d, file) in sum.damage.iter().zip(&damaged_files) {
        let _ = writeln!(t, "  damaged: {file}: {d}");
    }
    if !sum.cgroups.is_empty() {
        let width = sum
            .cgroups
            .values()
            .map(|g| g.name.as_str().len())
            .max()
            .unwrap_or(0)
            .max(6);
        let _ = writeln!(
            t,
            "\n{:<width$}  {:<30}  {:<30}  {:>10}  {:>6}",
            "cgroup", "first seen", "last seen", "samples", "events"
        );
        for g in sum.cgroups.values() {
            let _ = writeln!(
                t,
                "{:<width$}  {:<30}  {:<30}  {:>10}  {:>6}",
                g.name.as_str(),
                format_rfc3339_ns(g.first_seen_ns),
                format_rfc3339_ns(g.last_seen_ns),
                g.samples,
                g.events
            );
        }
    }
    let mut out = OutputSink::open(None)?;
    out.write_all(t.as_bytes())?;
    out.finish()
}

fn or_unknown(s: &str) -> String {
    match s.is_empty() {
        true => "unknown".to_string(),
        false => s.to_string(),
    }
}
