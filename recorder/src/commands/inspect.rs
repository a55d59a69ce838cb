//! `cgrec inspect`.

use crate::cli::InspectConfig;

/// Describes a trace and the health of its chunks.
pub fn run(cfg: InspectConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgrec inspect",
        "the Foundation issue",
    ))
}
