//! `cgrec stats`: Phase 1 statistics of a trace window (SPEC §4). The
//! trace may be a directory of rotated files, read as one trace
//! ([`cgcal_core::trace::TraceSet`]): a window spanning files is exact.
//!
//! The window's `--from`/`--to` are resolved against the trace's first and
//! last sample times ([`crate::trace_span`], read only when a relative form
//! is given); both ends are inclusive. The statistics engine then streams the
//! trace once per pass ([`TraceSamples`]), in memory bounded by the number
//! of cgroups. Damaged chunks are reported on stderr with their byte offset
//! and left out: the statistics are of what is readable. A window without a
//! sample gives `{}` (exit 0) and a warning on stderr.

use std::collections::BTreeMap;

use anyhow::Context;
use cgcal_core::parse::{format_rfc3339_ns, TimeSpec};
use cgcal_core::stats::{compute, to_json, StatsRequest, TraceSamples};
use cgcal_core::trace::open_trace_set;

use crate::cli::StatsConfig;
use crate::output_sink::OutputSink;
use crate::trace_span::{trace_span, Span};

/// Computes Phase 1 statistics of a trace window.
pub fn run(cfg: StatsConfig) -> anyhow::Result<()> {
    let (from_ns, to_ns, span) = window(&cfg)?;
    let req = StatsRequest {
        from_ns,
        to_ns,
        metric: cfg.metric,
        percentiles: cfg.percentiles.clone(),
    };
    let mut src = TraceSamples::new(|| open_trace_set(&cfg.trace));
    let stats = compute(&mut src, &req)
        .with_context(|| format!("cannot compute statistics of {}", cfg.trace.display()))?;
    for (file, d) in src.damage_with_files() {
        tracing::warn!("{file}: {d}; the statistics are of the readable chunks only");
    }
    let by_name: BTreeMap<_, _> = stats
        .into_iter()
        .filter_map(|(id, s)| src.names().get(&id).map(|n| (n.clone(), s)))
        .collect();
    if by_name.is_empty() {
        let span = match span {
            Some(s) => Some(s),
            None => trace_span(&cfg.trace)?,
        };
        let spanned = match span {
            Some(s) => format!(
                "the trace's samples span {} to {}",
                format_rfc3339_ns(s.first_ns),
                format_rfc3339_ns(s.last_ns)
            ),
            None => "the trace holds no readable sample".to_string(),
        };
        tracing::warn!(
            "no sample of {} lies in the window {} to {} ({spanned}): writing {{}}",
            cfg.trace.display(),
            format_rfc3339_ns(from_ns),
            format_rfc3339_ns(to_ns)
        );
    }
    let mut out = OutputSink::open(cfg.output.as_deref())?;
    out.write_all(to_json(&by_name).as_bytes())?;
    out.finish()
}

/// The inclusive window in nanoseconds, and the trace's span when it was read.
fn window(cfg: &StatsConfig) -> anyhow::Result<(u64, u64, Option<Span>)> {
    let relative =
        |t: Option<TimeSpec>| matches!(t, Some(TimeSpec::FromStart(_) | TimeSpec::FromEnd(_)));
    let span = match relative(cfg.from) || relative(cfg.to) {
        true => trace_span(&cfg.trace)?,
        false => None,
    };
    let (first, last) = span.map_or((0, 0), |s| (s.first_ns, s.last_ns));
    let from_ns = cfg.from.map_or(0, |t| t.resolve(first, last));
    let to_ns = cfg.to.map_or(u64::MAX, |t| t.resolve(first, last));
    Ok((from_ns, to_ns, span))
}
