//! `cgsim replay` as a library: [`replay_trace`] reads one trace (streamed
//! chunk by chunk: memory bounded by the number of cgroups and one chunk),
//! trains Phase 1 on its first part, and replays the rest through every
//! requested algorithm in one decode pass.
//!
//! Passes over the file: one scan (time span, cgroup names), the statistics
//! engine's passes over the training window (none with `--stats`), one
//! replay pass, and with `--plot` a second replay pass that records the
//! most affected cgroups (the replay is deterministic, so it sees the same
//! run). The model is documented in `docs/algorithms.md` ("Replay").

pub mod cast;
pub mod engine;
pub mod series;
pub mod tally;
pub mod timeline;
mod training;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use cgcal_cli::UserError;
use cgcal_core::name::CgroupName;
use cgcal_core::trace::{open_trace_set, CgroupId, Header, ReadItem, TraceError};

pub use cast::{Cast, Role};
pub use engine::{
    oom_kill_demand, AlgoOutcome, DecisionSink, Engine, EngineSetup, IgnoreDecisions, ReplayedSpan,
};
pub use series::{Point, Series};
pub use tally::Tally;
pub use timeline::{Group, Timeline};

use crate::cli::ReplayConfig;
use crate::report::{AlgoResult, TraceReport};

/// What `--plot` wants recorded: the `cgroups` managed cgroups with the
/// most kills under each algorithm, `points` points per line at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlotRequest {
    /// Cgroups per algorithm.
    pub cgroups: usize,
    /// Points per line.
    pub points: usize,
}

impl Default for PlotRequest {
    fn default() -> Self {
        PlotRequest {
            cgroups: 3,
            points: 1000,
        }
    }
}

/// The plotted series of one algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoSeries {
    /// The algorithm.
    pub algo: &'static str,
    /// Its most affected cgroups: most kills under this algorithm first, ties
    /// broken by the most kills under any algorithm.
    pub series: Vec<Series>,
}

/// The report of one trace, with the plotted series when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// The report (SPEC §5).
    pub report: TraceReport,
    /// Series per algorithm (empty without a [`PlotRequest`]).
    pub series: Vec<AlgoSeries>,
}

/// Hooks of a replay: where decisions go, whether to plot, and a progress
/// callback given the bytes read by the replay pass so far.
pub struct ReplayHooks<'a> {
    /// Receives every decision of the (first) replay pass.
    pub sink: &'a mut dyn DecisionSink,
    /// Record series for a plot.
    pub plot: Option<PlotRequest>,
    /// Called with the bytes newly read during the replay pass.
    pub progress: &'a (dyn Fn(u64) + Sync),
}

/// Replays the trace at `path` as `cfg` says, without plot or log.
pub fn replay_trace(path: &Path, cfg: &ReplayConfig) -> Result<TraceReport> {
    let mut sink = IgnoreDecisions;
    let hooks = ReplayHooks {
        sink: &mut sink,
        plot: None,
        progress: &|_| {},
    };
    Ok(replay_trace_with(path, cfg, hooks)?.report)
}

/// Replays the trace at `path` with the given hooks.
pub fn replay_trace_with(
    path: &Path,
    cfg: &ReplayConfig,
    hooks: ReplayHooks<'_>,
) -> Result<Replayed> {
    let scan = scan(path)?;
    let (Some(start), Some(end)) = (scan.start, scan.end) else {
        return Err(UserError::new("the trace has no samples to replay")
            .at(path.display().to_string())
            .hint("record for longer, or check the file with `cgrec inspect`")
            .into());
    };
    let cast = Cast::new(&scan.header.root, &scan.names, &scan.sampled);
    let trained = training::train(path, cfg, &scan.header, &cast, start, end)?;
    let setup = EngineSetup {
        cast,
        phase1: trained.phase1,
        initial: trained.initial,
        host_memory: scan.header.host_memory,
        replay_from: trained.replay_from,
        mode: cfg.mode,
        policy: cfg.policy.clone(),
        algos: cfg.algos.clone(),
    };
    let mut engine = Engine::new(setup.clone());
    replay_pass(path, &mut engine, hooks.sink, hooks.progress)?;
    let (span, outcomes) = engine.finish();
    let series = match hooks.plot {
        None => Vec::new(),
        Some(req) => plot_pass(path, setup, &outcomes, span, req)?,
    };
    let report = TraceReport {
        trace: path.display().to_string(),
        replayed: span,
        results: outcomes
            .iter()
            .map(|o| AlgoResult {
                algo: o.algo,
                mode: cfg.mode,
                tally: o.tally.clone(),
            })
            .collect(),
    };
    Ok(Replayed { report, series })
}

/// A trace error as the operator reads it: the file and offset are in the
/// message.
pub(crate) fn trace_error(path: &Path, e: TraceError) -> anyhow::Error {
    UserError::new(format!("cannot read the trace: {e}"))
        .at(path.display().to_string())
        .into()
}

/// What the scan pass learns.
struct Scan {
    header: Header,
    names: BTreeMap<CgroupId, CgroupName>,
    sampled: BTreeSet<CgroupId>,
    start: Option<u64>,
    end: Option<u64>,
}

/// Reads the whole trace once: cgroup names, which have samples, the time
/// span of the samples; warns about damaged chunks with their offsets.
fn scan(path: &Path) -> Result<Scan> {
    let mut reader = open_trace_set(path).map_err(|e| trace_error(path, e))?;
    let mut out = Scan {
        header: reader.header().clone(),
        names: BTreeMap::new(),
        sampled: BTreeSet::new(),
        start: None,
        end: None,
    };
    while let Some(item) = reader.next_item() {
        match item.map_err(|e| trace_error(path, e))? {
            ReadItem::Chunk(c) => {
                for d in c.defs {
                    out.names.insert(d.id, d.name);
                }
                for s in &c.samples {
                    out.sampled.insert(s.cgroup);
                    out.start = Some(out.start.map_or(s.time_ns, |t| t.min(s.time_ns)));
                    out.end = Some(out.end.map_or(s.time_ns, |t| t.max(s.time_ns)));
                }
            }
            ReadItem::Damaged(d) => {
                tracing::warn!("{}: {d}; replaying the rest", reader.file_name());
            }
        }
    }
    Ok(out)
}

/// Streams the trace through the timeline into the engine.
fn replay_pass(
    path: &Path,
    engine: &mut Engine,
    sink: &mut dyn DecisionSink,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<()> {
    let mut reader = open_trace_set(path).map_err(|e| trace_error(path, e))?;
    let mut timeline = Timeline::new();
    let mut emit = |g: Group<'_>| engine.step(g, sink);
    let mut read = reader.offset();
    while let Some(item) = reader.next_item() {
        if let ReadItem::Chunk(c) = item.map_err(|e| trace_error(path, e))? {
            timeline.push(&c.samples, &c.events, &mut emit);
        }
        progress(reader.offset().saturating_sub(read));
        read = reader.offset();
    }
    timeline.finish(&mut emit);
    if timeline.late_records() > 0 {
        tracing::warn!(
            "{}: {} records older than records of an earlier chunk were replayed late",
            path.display(),
            timeline.late_records()
        );
    }
    Ok(())
}

/// Replays again, recording the most affected cgroups of each algorithm.
fn plot_pass(
    path: &Path,
    setup: EngineSetup,
    outcomes: &[AlgoOutcome],
    span: ReplayedSpan,
    req: PlotRequest,
) -> Result<Vec<AlgoSeries>> {
    let mut engine = Engine::new(setup);
    // Ties (an algorithm that saved every cgroup) are broken by the kills
    // under any algorithm, so each chart shows the cgroups in trouble.
    let worst: Vec<u64> = (0..outcomes.first().map_or(0, |o| o.kills_by_cgroup.len()))
        .map(|i| {
            outcomes
                .iter()
                .map(|o| o.kills_by_cgroup[i])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (run, o) in outcomes.iter().enumerate() {
        let mut affected: Vec<usize> = (0..o.kills_by_cgroup.len()).collect();
        affected.sort_by_key(|&i| {
            let worst = worst.get(i).copied().unwrap_or(0);
            (std::cmp::Reverse((o.kills_by_cgroup[i], worst)), i)
        });
        affected.truncate(req.cgroups);
        engine.watch(run, &affected, span.from, span.to, req.points);
    }
    replay_pass(path, &mut engine, &mut IgnoreDecisions, &|_| {})?;
    let (_, again) = engine.finish();
    Ok(again
        .into_iter()
        .map(|o| AlgoSeries {
            algo: o.algo,
            series: o.series,
        })
        .collect())
}

#[cfg(test)]
mod tests;
