//! `cgrec export`.

use crate::cli::ExportConfig;

/// Writes a trace's samples and events as CSV or JSON lines.
pub fn run(cfg: ExportConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgrec export",
        "the Foundation issue",
    ))
}
