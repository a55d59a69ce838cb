//! `cgsim replay`.

use crate::cli::ReplayConfig;

/// Replays traces through the chosen algorithms and writes the report.
pub fn run(cfg: ReplayConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgsim replay",
        "the Foundation issue",
    ))
}
