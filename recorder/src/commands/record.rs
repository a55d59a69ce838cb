//! `cgrec record`.

use crate::cli::RecordConfig;

/// Records every cgroup under the root into a trace.
pub fn run(cfg: RecordConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgrec record",
        "the Foundation issue",
    ))
}
