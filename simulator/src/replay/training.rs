//! The training side of a replay (no look-ahead): Phase 1 figures from the
//! training window or a stats file, the first replayed time, and the
//! initial limits `--initial-limits` asks for.

use std::path::Path;

use anyhow::Result;
use cgcal_cli::UserError;
use cgcal_core::parse::InitialLimits;
use cgcal_core::stats::{compute, Metric, Phase1, StatsRequest, TraceSamples};
use cgcal_core::trace::{open_trace_set, Header};

use super::cast::{Cast, Role};
use super::engine::initial_from_training;
use super::trace_error;
use crate::cli::{ReplayConfig, Training};

/// Phase 1, initial limits and the replay's start.
pub(super) struct Trained {
    pub phase1: Vec<Option<Phase1>>,
    pub initial: Vec<Option<u64>>,
    pub replay_from: u64,
}

/// Trains on the trace at `path` spanning `start..=end` as `cfg` says.
pub(super) fn train(
    path: &Path,
    cfg: &ReplayConfig,
    header: &Header,
    cast: &Cast,
    start: u64,
    end: u64,
) -> Result<Trained> {
    let (phase1, replay_from) = match &cfg.training {
        Training::StatsFile(file) => (from_stats_file(file, header, cast)?, start),
        Training::FirstHalf => {
            let until = start + (end - start) / 2;
            (
                from_window(path, cfg, cast, start, until)?,
                until.saturating_add(1),
            )
        }
        Training::Until(spec) => {
            let until = spec.resolve(start, end);
            if until >= end {
                tracing::warn!(
                    "{}: --train-until is at or after the trace's end: nothing is replayed",
                    path.display()
                );
            }
            (
                from_window(path, cfg, cast, start, until)?,
                until.saturating_add(1),
            )
        }
    };
    let initial = initial_limits(cfg, cast, &phase1)?;
    Ok(Trained {
        phase1,
        initial,
        replay_from,
    })
}

/// Phase 1 of every managed cgroup over `from..=to`.
fn from_window(
    path: &Path,
    cfg: &ReplayConfig,
    cast: &Cast,
    from: u64,
    to: u64,
) -> Result<Vec<Option<Phase1>>> {
    let percentiles = match cfg.initial_limits {
        InitialLimits::TrainPercentile { percentile, .. } => vec![percentile],
        _ => Vec::new(),
    };
    let req = StatsRequest {
        from_ns: from,
        to_ns: to,
        metric: Metric::Usage,
        percentiles,
    };
    let mut src = TraceSamples::new(|| open_trace_set(path));
    let stats = compute(&mut src, &req).map_err(|e| match e {
        cgcal_core::stats::ComputeError::Source(e) => trace_error(path, e),
        other => UserError::new(format!("cannot compute the training statistics: {other}"))
            .at(path.display().to_string())
            .into(),
    })?;
    let mut out = vec![None; cast.managed.len()];
    for (id, s) in &stats {
        if let Role::Managed { index, .. } = cast.role(*id) {
            out[index] = Some(Phase1::from(s));
        }
    }
    Ok(out)
}

/// Phase 1 of every managed cgroup from a `cgrec stats` file.
fn from_stats_file(file: &Path, header: &Header, cast: &Cast) -> Result<Vec<Option<Phase1>>> {
    let stats = cgcal_cli::load_stats_file(file, &header.root)?;
    Ok(cast
        .managed
        .iter()
        .map(|name| stats.get(name).cloned())
        .collect())
}

/// The initial limit of each managed cgroup from its training figures
/// (`None`: the trace's limit).
fn initial_limits(
    cfg: &ReplayConfig,
    cast: &Cast,
    phase1: &[Option<Phase1>],
) -> Result<Vec<Option<u64>>> {
    let page = cfg.policy.page();
    let mut out = Vec::with_capacity(phase1.len());
    for (i, p) in phase1.iter().enumerate() {
        let limit = match (cfg.initial_limits, p) {
            (InitialLimits::Trace, _) | (_, None) => None,
            (InitialLimits::TrainMax, Some(p)) => Some(initial_from_training(p.max, 1.0, page)),
            (InitialLimits::TrainPercentile { percentile, factor }, Some(p)) => {
                let Some(v) = p.percentile(percentile) else {
                    return Err(UserError::new(format!(
                        "--initial-limits {} needs p{percentile}_consumption, the stats file has none for {}",
                        cfg.initial_limits, cast.managed[i]
                    ))
                    .at("--stats")
                    .hint(format!("run `cgrec stats --percentiles {percentile}`"))
                    .into());
                };
                Some(initial_from_training(v, factor, page))
            }
        };
        out.push(limit);
    }
    Ok(out)
}
