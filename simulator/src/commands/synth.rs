//! `cgsim synth`.

use crate::cli::SynthConfig;

/// Writes a deterministic synthetic trace.
pub fn run(cfg: SynthConfig) -> anyhow::Result<()> {
    let _ = cfg;
    Err(cgcal_cli::not_implemented(
        "cgsim synth",
        "the Foundation issue",
    ))
}
