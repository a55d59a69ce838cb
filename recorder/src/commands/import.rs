//! `cgrec import`.

use crate::cli::ImportConfig;

/// Builds a trace from an interchange file.
pub fn run(cfg: ImportConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgrec import",
        "the Foundation issue",
    ))
}
