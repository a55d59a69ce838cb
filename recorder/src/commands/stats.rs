//! `cgrec stats`.

use crate::cli::StatsConfig;

/// Computes Phase 1 statistics of a trace window.
pub fn run(cfg: StatsConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgrec stats",
        "the Foundation issue",
    ))
}
