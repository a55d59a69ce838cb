//! The decision engine: one OOM event in, one applied (or dry-run) plan and
//! one audit line out (SPEC §6, issue 5 point 3).
//!
//! The daemon (`crate::daemon`) owns the event loop and the modes; it calls
//! [`Engine::handle`] for each event and never writes a limit itself. The
//! engine:
//! * reads a live [`Snapshot`](cgcal_core::policy::Snapshot) of the managed
//!   cgroups (the leaf descendants of the root, as `cgsim` manages them) and
//!   of the global cgroup ([`live_snapshot`]);
//! * asks the policy (`--algo`) and checks its plan with `check_plan`;
//! * records the plan in the write-ahead journal ([`journal`]) and applies
//!   it ([`apply`]: donors first, each re-clamped against its usage read
//!   just before the write, EBUSY skipped, the target grown by what was
//!   really freed plus the headroom, ancestors raised, every value re-read);
//! * appends the audit line and flushes it ([`audit_log`]).

pub mod apply;
pub mod audit_log;
pub mod error;
pub mod handles;
pub mod hooked_fs;
pub mod journal;
pub mod live_snapshot;
pub mod lock;
pub mod original_limits;
pub mod recovery;

mod decide;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use anyhow::Context;
use cgcal_cli::UserError;
use cgcal_core::audit::AuditLine;
use cgcal_core::cgroupfs::CgroupFs;
use cgcal_core::name::CgroupName;
use cgcal_core::policy::{self, OomKind, Policy};
use cgcal_core::stats::StatsFile;
use cgcal_core::trace::CgroupVersion;

use crate::cli::{DaemonConfig, DaemonMode};

pub use error::EngineError;
pub use lock::InstanceLock;
pub use recovery::Recovery;

use handles::Handles;
use journal::{Begin, Journal};
use live_snapshot::Tree;
use original_limits::OriginalLimits;

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The audit line, as appended to `--log` (`limits_after` holds the
    /// values re-read after the writes).
    pub line: AuditLine,
    /// True when at least one limit was written (false for a dry run, an
    /// empty plan, or every write refused).
    pub wrote: bool,
    /// Bytes actually added to the target's limit (as re-read; 0 in a dry
    /// run). In rescue mode the daemon loops on [`Engine::handle`] while
    /// this is > 0 and the cgroup is still under OOM.
    pub added_to_target: u64,
    /// The error of the audit log write, if it failed (the line was then
    /// logged at error level and kept in the journal; the decision stands).
    pub audit_error: Option<String>,
}

/// The engine of one `cgact` instance (one root).
pub struct Engine {
    fs: Box<dyn CgroupFs>,
    config: DaemonConfig,
    policy: Box<dyn Policy>,
    stats: StatsFile,
    journal: Option<Journal>,
    /// The plan a previous instance left unfinished, until [`Engine::recover`].
    unfinished: Option<Begin>,
    audit: audit_log::AuditLog,
    originals: OriginalLimits,
    host_memory: Option<u64>,
    tree: Tree,
    /// A tree listed by [`Engine::managed`] (which takes `&self`), adopted
    /// by the next decision.
    listed: std::sync::Mutex<Option<Tree>>,
    handles: Handles,
    /// Sequence number of the next plan (without a journal).
    next_seq: u64,
}

impl Engine {
    /// Loads `--stats` (validated against the root; errors name the file and
    /// the key), the policy (`--algo`), opens the audit log (append, created
    /// 0640) and the journal (created 0600), and lists the tree. Writes
    /// nothing in the cgroup tree and takes no lock (take [`InstanceLock`]
    /// first).
    pub fn new(fs: Box<dyn CgroupFs>, config: &DaemonConfig) -> anyhow::Result<Engine> {
        let stats = cgcal_cli::load_stats_file(&config.stats, fs.root())?;
        let policy = policy::by_name(config.algo).ok_or_else(|| {
            UserError::new(format!("unknown algorithm '{}'", config.algo)).hint(format!(
                "expected one of {}",
                policy::all_names().join(", ")
            ))
        })?;
        let audit = audit_log::AuditLog::open(config.audit_log.as_deref())?;
        let (journal, contents) = match &config.journal {
            Some(path) => {
                let (j, c) = Journal::open(path)?;
                (Some(j), c)
            }
            None => (None, journal::Contents::default()),
        };
        let tree = Tree::read(fs.as_ref()).context("listing the cgroups under the root")?;
        tracing::info!(
            root = %fs.root(),
            managed = tree.managed.len(),
            with_stats = tree.managed.iter().filter(|n| stats.get(n).is_some()).count(),
            algo = config.algo,
            mode = config.mode.as_str(),
            dry_run = config.dry_run,
            "engine ready"
        );
        Ok(Engine {
            fs,
            config: config.clone(),
            policy,
            stats,
            next_seq: contents.last_seq + 1,
            unfinished: contents.unfinished,
            originals: OriginalLimits::from_saved(contents.originals),
            journal,
            audit,
            host_memory: live_snapshot::host_memory(),
            tree,
            listed: std::sync::Mutex::new(None),
            handles: Handles::default(),
        })
    }

    /// The hierarchy the engine works on.
    pub fn fs(&self) -> &dyn CgroupFs {
        self.fs.as_ref()
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    /// Each managed cgroup's limit as first seen (by this instance or, with
    /// `--journal`, by an earlier one).
    pub fn original_limits(&self) -> &std::collections::BTreeMap<CgroupName, Option<u64>> {
        self.originals.all()
    }

    /// Finishes or rolls back an adjustment a crashed instance left in the
    /// journal (see [`recovery`]). Call once at start, after taking the
    /// lock and before handling any event. `None` when there was nothing
    /// to do.
    pub fn recover(&mut self) -> anyhow::Result<Option<Recovery>> {
        let Some(begin) = self.unfinished.take() else {
            return Ok(None);
        };
        let r = recovery::recover(
            self.fs.as_ref(),
            &mut self.handles,
            &begin,
            self.config.policy.page(),
        );
        if let Some(j) = &mut self.journal {
            j.done(begin.seq, None).with_context(|| {
                format!(
                    "recording the recovery in the journal {}",
                    j.path().display()
                )
            })?;
        }
        Ok(Some(r))
    }

    /// The managed cgroups, sorted by name (the policy's order): the leaves
    /// among the root's descendants, as `cgsim` manages the leaves of a
    /// trace. Lists the tree now; the next decision uses this listing (so
    /// calling it on the watcher's `TreeChanged` keeps the donors current).
    pub fn managed(&self) -> Result<Vec<CgroupName>, EngineError> {
        let tree = Tree::read(self.fs.as_ref())?;
        let managed = tree.managed.clone();
        *self.listed.lock().unwrap_or_else(|p| p.into_inner()) = Some(tree);
        Ok(managed)
    }

    /// Re-lists the tree below the root: call when cgroups were created or
    /// removed (the watcher's `TreeChanged` / `Removed`). [`Engine::handle`]
    /// also does it by itself for a cgroup it does not know yet.
    pub fn refresh(&mut self) -> Result<(), EngineError> {
        let tree = Tree::read(self.fs.as_ref())?;
        self.adopt(tree);
        Ok(())
    }

    /// Uses `tree` from now on, closing the handles of cgroups not in it.
    fn adopt(&mut self, tree: Tree) {
        self.tree = tree;
        let root = self.fs.root().clone();
        let tree = &self.tree;
        self.handles
            .retain(|n| *n == root || tree.managed.iter().any(|m| m.is_within(n)));
    }

    /// Adopts the tree [`Engine::managed`] listed last, if any.
    fn adopt_listed(&mut self) {
        let listed = self
            .listed
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(tree) = listed {
            self.adopt(tree);
        }
    }

    /// One decision end to end: live snapshot (limits and usages read now,
    /// Phase 1 stats, global view), `policy.decide(Trigger::Oom{..kind})`,
    /// `check_plan`, journal, apply (not with `--dry-run`: outcome
    /// `dry_run`), then the audit line appended and flushed. `woke` is when
    /// the event woke the daemon; `latency_us` runs from it to the last
    /// limit write. A cgroup that is not managed gives
    /// [`EngineError::NotManaged`], one that vanished [`EngineError::Gone`].
    pub fn handle(
        &mut self,
        cgroup: &CgroupName,
        kind: OomKind,
        woke: Instant,
    ) -> Result<Decision, EngineError> {
        let span = tracing::info_span!("decision", cgroup = %cgroup, kind = ?kind);
        let _entered = span.enter();
        let result = self.handle_in_span(cgroup, kind, woke);
        match &result {
            Ok(d) => tracing::info!(
                outcome = ?d.line.outcome,
                source = ?d.line.source,
                added = d.line.added_memory,
                donors = d.line.adjusted_cgroups.len(),
                latency_us = d.line.latency_us,
                "decision"
            ),
            Err(e) if e.is_gone() => tracing::warn!(error = %e, "no decision"),
            Err(e) => tracing::error!(error = %e, "decision failed"),
        }
        result
    }

    /// Appends an audit line with outcome `fallback_kill` for `cgroup` (the
    /// rescue deadline passed and the kernel is let to kill): nothing added,
    /// its current limit in `limits_before` and `limits_after`.
    pub fn log_fallback_kill(
        &mut self,
        cgroup: &CgroupName,
        woke: Instant,
    ) -> Result<(), EngineError> {
        let limit = self
            .handles
            .with(self.fs.as_ref(), cgroup, |cg| cg.limit())?;
        let line =
            decide::fallback_kill_line(cgroup, limit, self.config.algo, self.config.mode, woke);
        tracing::warn!(cgroup = %cgroup, "no memory found in time: the kernel is let to kill");
        self.write_audit(&line, None);
        Ok(())
    }

    /// For tick-driven policies (`autopilot`, `krr`): observe a live
    /// snapshot, then decide on `Trigger::Tick` and apply; `None` when the
    /// plan changes nothing. Call every [`Engine::tick_interval`].
    pub fn tick(&mut self, now: Instant) -> Result<Option<Decision>, EngineError> {
        let span = tracing::info_span!("tick");
        let _entered = span.enter();
        self.tick_in_span(now)
    }

    /// How often [`Engine::tick`] wants to be called; `None` for
    /// event-driven policies (`static`, `proportional`, `vpa`).
    pub fn tick_interval(&self) -> Option<Duration> {
        self.policy.tick_interval_ns().map(Duration::from_nanos)
    }

    /// Re-reads `--stats` (SIGHUP); on error keeps the old stats and
    /// returns the error (which names the file and the key).
    pub fn reload_stats(&mut self) -> anyhow::Result<()> {
        match cgcal_cli::load_stats_file(&self.config.stats, self.fs.root()) {
            Ok(stats) => {
                tracing::info!(file = %self.config.stats.display(), cgroups = stats.len(), "stats reloaded");
                self.stats = stats;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "stats not reloaded; the old ones stay");
                Err(e.into())
            }
        }
    }

    /// v2 `--mode rescue`: sets `memory.high` of `cgroup` a margin under its
    /// `memory.max` ([`apply::high_for`]; `max` when unlimited). The engine
    /// keeps the pair after each limit it writes; the daemon calls this for
    /// each managed cgroup when it arms it. Does nothing with `--dry-run`.
    pub fn arm_high(&mut self, cgroup: &CgroupName) -> Result<(), EngineError> {
        if self.config.dry_run {
            return Ok(());
        }
        let page = self.config.policy.page();
        self.handles.with(self.fs.as_ref(), cgroup, |cg| {
            let max = cg.limit()?;
            cg.set_high(max.map(|m| apply::high_for(m, page)))
        })
    }

    /// True when limit writes are followed by a paired `memory.high`.
    fn pair_high(&self) -> bool {
        self.config.mode == DaemonMode::Rescue
            && self.fs.version() == CgroupVersion::V2
            && !self.config.dry_run
    }
}
