//! The replay report (SPEC §5) and its three renderings: [`json`] (the SPEC
//! object; an array of them for several traces), [`table`] (aligned
//! columns, one row per algorithm) and [`csv`] (one row per trace and
//! algorithm). Same reports, same bytes: floats are written with a fixed
//! number of decimals.

pub mod csv;
pub mod json;
pub mod table;

use crate::cli::{ReplayMode, ReportFormat};
use crate::replay::{ReplayedSpan, Tally};

/// Decimals of `mean_slack_ratio` in every format.
pub const RATIO_DECIMALS: usize = 6;

/// One algorithm's result on one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoResult {
    /// The algorithm.
    pub algo: &'static str,
    /// The mode replayed.
    pub mode: ReplayMode,
    /// Its counters.
    pub tally: Tally,
}

/// The report of one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceReport {
    /// The trace's path as given.
    pub trace: String,
    /// What was replayed.
    pub replayed: ReplayedSpan,
    /// One result per algorithm, in the order asked.
    pub results: Vec<AlgoResult>,
}

/// The name of a mode as reports and audit lines spell it.
pub fn mode_name(mode: ReplayMode) -> &'static str {
    match mode {
        ReplayMode::React => "react",
        ReplayMode::Rescue => "rescue",
    }
}

/// Renders `reports` in `format`.
pub fn render(reports: &[TraceReport], format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => json::render(reports),
        ReportFormat::Table => table::render(reports),
        ReportFormat::Csv => csv::render(reports),
    }
}

/// A ratio with [`RATIO_DECIMALS`] decimals (NaN and infinities as 0).
pub fn format_ratio(r: f64) -> String {
    let r = if r.is_finite() { r } else { 0.0 };
    format!("{r:.RATIO_DECIMALS$}")
}

#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    /// A two-algorithm report for the format tests.
    pub fn report(trace: &str) -> TraceReport {
        let t = |kills, slack_sum, slack_samples| Tally {
            oom_events: kills + 1,
            kills,
            collateral_kills: 1,
            adjustments: 3,
            bytes_added: 1 << 25,
            bytes_reclaimed: 4096,
            slack_sum,
            slack_samples,
            floor_violations: 0,
            unsafe_plans: 0,
        };
        TraceReport {
            trace: trace.to_string(),
            replayed: ReplayedSpan {
                from: 10,
                to: 20,
                samples: 30,
            },
            results: vec![
                AlgoResult {
                    algo: "static",
                    mode: ReplayMode::React,
                    tally: t(5, 1.0, 3),
                },
                AlgoResult {
                    algo: "proportional",
                    mode: ReplayMode::React,
                    tally: t(2, 0.5, 4),
                },
            ],
        }
    }
}
