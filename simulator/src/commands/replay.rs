//! `cgsim replay`: replays every trace (in parallel, one thread per trace up
//! to the number of cores), then writes the report, the audit log and the plot.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};
use cgcal_cli::UserError;
use cgcal_core::policy::{Plan, Snapshot};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{ReplayConfig, ReplayMode};
use crate::plot;
use crate::replay::{
    replay_trace_with, DecisionSink, IgnoreDecisions, PlotRequest, ReplayHooks, Replayed,
};
use crate::report::{mode_name, render};

/// Total trace bytes above which a progress bar is shown (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// Replays traces through the chosen algorithms and writes the report.
pub fn run(cfg: ReplayConfig) -> Result<()> {
    let progress = progress_bar(&cfg.traces);
    let replayed = replay_all(&cfg, &progress)?;
    progress.finish_and_clear();
    let reports: Vec<_> = replayed.iter().map(|r| r.report.clone()).collect();
    let text = render(&reports, cfg.format);
    match &cfg.output {
        Some(path) => std::fs::write(path, text).map_err(|e| write_error(path, e))?,
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write the report to stdout")?;
        }
    }
    if let Some(path) = &cfg.plot {
        let series: Vec<_> = replayed.into_iter().map(|r| r.series).collect();
        std::fs::write(path, plot::render(&reports, &series)).map_err(|e| write_error(path, e))?;
    }
    Ok(())
}

/// Replays every trace of `cfg`, in parallel, results in the traces' order;
/// audit lines go to `cfg.audit_log` in the same order.
pub fn replay_all(cfg: &ReplayConfig, progress: &ProgressBar) -> Result<Vec<Replayed>> {
    let parts: Vec<Option<PathBuf>> = match (&cfg.audit_log, cfg.traces.len()) {
        (None, _) => vec![None; cfg.traces.len()],
        (Some(log), 1) => vec![Some(log.clone())],
        (Some(log), n) => (0..n).map(|k| Some(part_path(log, k))).collect(),
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(cfg.traces.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Replayed>>>> =
        Mutex::new((0..cfg.traces.len()).map(|_| None).collect());
    let tick = |bytes: u64| progress.inc(bytes);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(trace) = cfg.traces.get(k) else {
                    break;
                };
                let r = replay_one(trace, cfg, parts[k].as_deref(), &tick);
                if let Ok(mut all) = results.lock() {
                    all[k] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        out.push(r.unwrap_or_else(|| Err(anyhow::anyhow!("a replay thread stopped early")))?);
    }
    if let (Some(log), true) = (&cfg.audit_log, cfg.traces.len() > 1) {
        join_parts(log, &parts)?;
    }
    Ok(out)
}

fn replay_one(
    trace: &Path,
    cfg: &ReplayConfig,
    log: Option<&Path>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Replayed> {
    let plot = cfg.plot.as_ref().map(|_| PlotRequest::default());
    match log {
        None => replay_trace_with(
            trace,
            cfg,
            ReplayHooks {
                sink: &mut IgnoreDecisions,
                plot,
                progress,
            },
        ),
        Some(path) => {
            let file = File::create(path).map_err(|e| write_error(path, e))?;
            let mut sink = AuditSink {
                out: BufWriter::new(file),
                error: None,
            };
            let r = replay_trace_with(
                trace,
                cfg,
                ReplayHooks {
                    sink: &mut sink,
                    plot,
                    progress,
                },
            )?;
            let flushed = sink.out.flush();
            match sink.error.map_or(flushed, Err) {
                Ok(()) => Ok(r),
                Err(e) => Err(write_error(path, e)),
            }
        }
    }
}

/// Writes each decision as an audit line (SPEC §6) with the simulated time
/// and `latency_us` 0; keeps the first write error.
struct AuditSink<W: Write> {
    out: W,
    error: Option<io::Error>,
}

impl<W: Write> DecisionSink for AuditSink<W> {
    fn decision(&mut self, algo: &'static str, mode: ReplayMode, snap: &Snapshot, plan: &Plan) {
        if self.error.is_some() {
            return;
        }
        let line = plan.audit_line(snap, algo, mode_name(mode), 0).to_json();
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error = Some(e);
        }
    }
}

fn part_path(log: &Path, k: usize) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(format!(".part{k}"));
    PathBuf::from(name)
}

/// Concatenates the per-trace logs into `log`, in trace order, and removes them.
fn join_parts(log: &Path, parts: &[Option<PathBuf>]) -> Result<()> {
    let file = File::create(log).map_err(|e| write_error(log, e))?;
    let mut out = BufWriter::new(file);
    for part in parts.iter().flatten() {
        let mut input = File::open(part).map_err(|e| write_error(part, e))?;
        io::copy(&mut input, &mut out).map_err(|e| write_error(log, e))?;
        let _ = std::fs::remove_file(part);
    }
    out.flush().map_err(|e| write_error(log, e))?;
    Ok(())
}

fn write_error(path: &Path, e: io::Error) -> anyhow::Error {
    UserError::new(format!("cannot write: {e}"))
        .at(path.display().to_string())
        .hint("check the directory exists and is writable")
        .into()
}

/// A progress bar over the bytes of the replay passes, shown only on a
/// terminal and for long traces.
fn progress_bar(traces: &[PathBuf]) -> ProgressBar {
    let total: u64 = traces
        .iter()
        .filter_map(|t| std::fs::metadata(t).ok())
        .map(|m| m.len())
        .sum();
    if !io::stderr().is_terminal() || total < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("replay {bar:40} {bytes}/{total_bytes} {eta} left")
    {
        bar.set_style(style);
    }
    bar
}
