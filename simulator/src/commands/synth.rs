//! `cgsim synth`: writes the trace of a synthetic scenario
//! ([`crate::synth`]) atomically: into a temporary file next to the output,
//! synced, then renamed over it, so a reader never sees half a trace and a
//! failed run leaves no file behind.

use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cgcal_cli::UserError;

use crate::cli::SynthConfig;
use crate::synth::{self, MAX_DURATION};

/// Writes a deterministic synthetic trace.
pub fn run(cfg: SynthConfig) -> anyhow::Result<()> {
    if cfg.duration > MAX_DURATION {
        return Err(UserError::new(format!(
            "a duration of {} s is longer than the longest synthetic trace",
            cfg.duration.as_secs()
        ))
        .at("--duration")
        .hint(format!("give at most {}d", MAX_DURATION.as_secs() / 86_400))
        .into());
    }
    let tmp = temporary_path(&cfg.output);
    let result = write_to(&cfg, &tmp);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    let outcome = result?;
    if let Err(e) = fs::rename(&tmp, &cfg.output) {
        let _ = fs::remove_file(&tmp);
        return Err(
            UserError::new(format!("cannot move the new trace into place: {e}"))
                .at(cfg.output.display().to_string())
                .hint("check that the directory is writable")
                .into(),
        );
    }
    tracing::info!(
        scenario = synth::scenario_name(cfg.scenario),
        seed = cfg.seed,
        samples = outcome.samples,
        kills = outcome.kills,
        "wrote {}",
        cfg.output.display()
    );
    Ok(())
}

/// `dir/.NAME.PID.tmp` next to `output`.
fn temporary_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into());
    output.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_to(cfg: &SynthConfig, tmp: &Path) -> anyhow::Result<synth::fleet::Outcome> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| {
            UserError::new(format!("cannot create the trace: {e}"))
                .at(tmp.display().to_string())
                .hint("check that the output's directory exists and is writable")
        })?;
    let name = cfg.output.display().to_string();
    let (out, outcome) = synth::write_scenario(
        cfg.scenario,
        cfg.seed,
        cfg.duration,
        BufWriter::with_capacity(256 * 1024, file),
        &name,
    )
    .map_err(|e| UserError::new(e.to_string()).at(name.clone()))?;
    let file: File = out.into_inner().map_err(|e| {
        UserError::new(format!("cannot write the trace: {}", e.error())).at(name.clone())
    })?;
    file.sync_all()
        .with_context(|| format!("cannot sync {}", tmp.display()))?;
    Ok(outcome)
}
