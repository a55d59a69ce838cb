//! `cgrec record`: see [`crate::record`] for how it works; this maps its
//! settings and errors to the command line's.

use cgcal_cli::UserError;
use cgcal_core::cgroupfs::CgroupFsError;

use crate::cli::{default_trace_name, rotated_trace_name, RecordConfig};
use crate::record::metrics_sink::RecordMetrics;
use crate::record::rotation::Rotation;
use crate::record::{open_session, record, RecordError, StatusLine, Target, Timing};
use cgcal_cli::metrics::{MetricsExporter, RecorderMetrics, Registry};

/// Records every cgroup under the root into a trace.
pub fn run(cfg: RecordConfig) -> anyhow::Result<()> {
    let target = Target {
        root: cfg.root.path.clone(),
        version: cfg.root.version,
        out: match cfg.rotation {
            Some(_) => None,
            None => cfg.out.clone(),
        },
        interval: cfg.interval,
    };
    let session = match &cfg.rotation {
        None => open_session(&target, default_trace_name).map_err(user_error)?,
        Some(policy) => {
            create_dir(&policy.dir)?;
            let mut host = String::new();
            let name = |h: &str, start_ns| {
                host = h.to_string();
                policy
                    .dir
                    .join(rotated_trace_name(h, start_ns))
                    .display()
                    .to_string()
            };
            let mut s = open_session(&target, name).map_err(user_error)?;
            s.set_rotation(Rotation::new(
                policy.clone(),
                &host,
                s.clock().start_instant(),
            ));
            s
        }
    };
    let mut session = session;
    let mut registry = Registry::with_prefix("cgrec");
    let metrics = RecorderMetrics::register(&mut registry);
    if let Some(exporter) = MetricsExporter::start(&cfg.metrics, registry)? {
        session.set_metrics(RecordMetrics::new(metrics, exporter, cfg.interval));
    }
    let path = session.trace_file().path().to_path_buf();
    tracing::info!(
        "recording {} cgroups under {} into {}",
        session.cgroups(),
        cfg.root.path.display(),
        path.display()
    );
    let timing = Timing {
        interval: cfg.interval,
        stat_interval: cfg.stat_interval,
        flush: cfg.flush,
        duration: cfg.duration,
    };
    let summary = record(session, timing, &mut StatusLine::on_stderr()).map_err(user_error)?;
    tracing::info!(
        "{}: {} samples, {} events, {} bytes",
        path.display(),
        summary.samples,
        summary.events,
        summary.bytes
    );
    Ok(())
}

/// Creates the rotation directory (and its parents) if missing.
fn create_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        UserError::new(format!("cannot create the trace directory: {e}"))
            .at(dir.display().to_string())
            .hint("give a writable directory with -o when rotating")
            .into()
    })
}

/// The operator's version of a recording error: what, where, what to do.
fn user_error(e: RecordError) -> anyhow::Error {
    let err = match &e {
        RecordError::Root { path, source } => {
            let hint = match source {
                CgroupFsError::NotCgroupFs { .. } | CgroupFsError::NoMemoryController { .. } => {
                    "give a directory of a cgroup memory hierarchy with --root, e.g. /sys/fs/cgroup/memory (v1) or /sys/fs/cgroup (v2)"
                }
                CgroupFsError::Gone { .. } | CgroupFsError::Io { .. } => {
                    "check that the directory exists and is readable (run as root for the whole hierarchy)"
                }
                _ => "give a directory of a cgroup memory hierarchy with --root",
            };
            UserError::new(format!("cannot record the cgroup hierarchy: {source}"))
                .at(path.display().to_string())
                .hint(hint)
        }
        RecordError::CreateTrace { path, source } => {
            UserError::new(format!("cannot create the trace: {source}"))
                .at(path.display().to_string())
                .hint("give a writable file with -o, in a directory that exists")
        }
        RecordError::Trace(t) => UserError::new(format!("cannot write the trace: {t}"))
            .hint("check free space and permissions; the data up to the last flush is readable"),
        RecordError::Watch(w) => UserError::new(format!("cannot watch the cgroups: {w}")).hint(
            "raise fs.inotify.max_user_watches or the open files limit if the kernel ran out",
        ),
        RecordError::Cgroup(c) => UserError::new(format!("cannot list the cgroups: {c}"))
            .hint("check that --root is readable"),
    };
    err.into()
}
