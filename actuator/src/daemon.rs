//! The `cgact` daemon.

use crate::cli::DaemonConfig;

/// Runs the daemon until SIGTERM or SIGINT (or once, with `--once`).
pub fn run(config: DaemonConfig) -> anyhow::Result<()> {
    let _ = config;
    Err(cgcal_cli::not_implemented("cgact", "the Foundation issue"))
}
