//! `cgact restore`: rollback of the limits cgact changed (issue 9 point 2).
//!
//! * [`source`]: the original limits, from the daemon's journal or from a
//!   `cgrec` trace;
//! * [`plan`]: pure ordering and safety (lowers first, never below usage +
//!   guard);
//! * [`apply`]: the writes through `CgroupFs`, each re-read, with
//!   `oom_kill_disable` / `memory.high` reset;
//! * [`report`]: the table or JSON printed.
//!
//! [`run`] takes the daemon's instance lock first (not for a dry run), so a
//! restore never races a running cgact on the same root.

pub mod apply;
pub mod args;
pub mod plan;
pub mod report;
pub mod source;

use std::path::PathBuf;

use anyhow::Context;
use cgcal_cli::{CgroupRoot, UserError};
use cgcal_core::cgroupfs::{open_root, CgroupFs};
use cgcal_core::parse::TimeSpec;
use cgcal_core::policy::PolicyConfig;

use crate::engine::InstanceLock;
use plan::{Live, Observed};
use source::Originals;

pub use args::RestoreArgs;

/// Where the original limits come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The daemon's write-ahead journal (`--journal`).
    Journal(PathBuf),
    /// A cgrec trace (`--trace`), at its first samples or at `at`.
    Trace {
        /// The trace file or directory.
        path: PathBuf,
        /// `--at`.
        at: Option<TimeSpec>,
    },
}

/// Validated `cgact restore` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreConfig {
    /// The hierarchy (the daemon's `--root`).
    pub root: CgroupRoot,
    /// The original limits' source.
    pub source: Source,
    /// Write nothing.
    pub dry_run: bool,
    /// Output format.
    pub format: report::Format,
    /// The instance lock file.
    pub lock_file: PathBuf,
}

/// Runs `cgact restore`: prints the report on stdout; an error (exit 1)
/// when a cgroup could not be restored, naming how many and why.
pub fn run(config: &RestoreConfig) -> anyhow::Result<()> {
    let fs = open_root(&config.root.path, config.root.version)
        .with_context(|| format!("cannot open the cgroup root {}", config.root.path.display()))?;
    let _lock = match config.dry_run {
        true => None,
        false => Some(InstanceLock::acquire(&config.lock_file).map_err(|e| {
            e.context("cgact restore takes the instance lock of the root (stop cgact first)")
        })?),
    };
    let originals = match &config.source {
        Source::Journal(path) => source::from_journal(path)?,
        Source::Trace { path, at } => source::from_trace(path, *at)?,
    };
    let outcomes = restore(fs.as_ref(), originals, config.dry_run)?;
    print!(
        "{}",
        report::render(&outcomes, config.format, config.dry_run)
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.is_failure())
        .map(|o| format!("{}: {}", o.cgroup, o.reason.as_deref().unwrap_or("")))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "{} cgroup(s) not restored: {}",
        failed.len(),
        failed.join("; ")
    ))
    .at(fs.root().to_string())
    .hint("lower their usage (or stop their tasks) and run cgact restore again")
    .into())
}

/// Restores `originals` on `fs` (the library entry point, for tests):
/// refuses names outside the root, drops the root itself (cgact never
/// writes it), reads each cgroup, plans and applies.
pub fn restore(
    fs: &dyn CgroupFs,
    originals: Originals,
    dry_run: bool,
) -> Result<Vec<apply::Outcome>, UserError> {
    let root = fs.root().clone();
    let outside: Vec<String> = originals
        .keys()
        .filter(|n| !n.is_within(&root))
        .map(|n| n.to_string())
        .collect();
    if !outside.is_empty() {
        return Err(UserError::new(format!(
            "{} cgroup(s) outside the root {root}: {}",
            outside.len(),
            outside.join(", ")
        ))
        .hint("give the --root the journal or trace was made for"));
    }
    let cfg = PolicyConfig::default();
    let observed: Vec<Observed> = originals
        .into_iter()
        .filter(|(name, _)| *name != root)
        .map(|(name, original)| {
            let live = fs.open(&name).ok().and_then(|mut cg| {
                Some(Live {
                    limit: cg.limit().ok()?,
                    usage: cg.usage().ok()?,
                })
            });
            Observed {
                name,
                original,
                live,
            }
        })
        .collect();
    let steps = plan::plan(&observed, &cfg);
    Ok(apply::apply(fs, &steps, &cfg, dry_run))
}

#[cfg(test)]
mod tests {
    use cgcal_core::cgroupfs::MemoryFs;
    use cgcal_core::name::CgroupName;
    use cgcal_core::trace::CgroupVersion;

    use super::*;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn names_outside_the_root_are_refused_and_the_root_is_left_alone() {
        let fs = MemoryFs::new(CgroupVersion::V1, name("/r"));
        fs.insert(&name("/r/a"), 0, Some(64 << 20)).unwrap();
        let mut o = Originals::new();
        o.insert(name("/r"), Some(4096));
        o.insert(name("/r/a"), Some(8 << 20));
        let out = restore(&fs, o.clone(), false).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, apply::Status::Restored);
        o.insert(name("/other/b"), Some(4096));
        let e = restore(&fs, o, false).unwrap_err().to_string();
        assert!(
            e.contains("/other/b") && e.contains("outside the root /r"),
            "{e}"
        );
    }
}
