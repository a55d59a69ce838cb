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
pub mod journal;
pub mod live_snapshot;
pub mod lock;
pub mod stats_file;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cgcal_core::audit::AuditLine;
use cgcal_core::cgroupfs::CgroupFs;
use cgcal_core::name::CgroupName;
use cgcal_core::policy::{OomKind, Policy};
use cgcal_core::stats::StatsFile;

use crate::cli::DaemonConfig;

pub use error::EngineError;
pub use journal::Recovery;
pub use lock::InstanceLock;

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The audit line, as appended to `--log` (limits_after holds the values
    /// re-read after the writes).
    pub line: AuditLine,
    /// True when at least one limit was written (false for a dry run, an
    /// empty plan, or every write refused).
    pub wrote: bool,
    /// Bytes actually added to the target's limit (as re-read). In rescue
    /// mode the daemon loops on [`Engine::handle`] while this is > 0 and the
    /// cgroup is still under OOM.
    pub added_to_target: u64,
}

/// The engine of one `cgact` instance (one root).
#[allow(dead_code)] // skeleton: the bodies land in the next commits
pub struct Engine {
    fs: Box<dyn CgroupFs>,
    config: DaemonConfig,
    policy: Box<dyn Policy>,
    stats: StatsFile,
    journal: Option<journal::Journal>,
    audit: audit_log::AuditLog,
    /// Each cgroup's limit the first time the engine saw it.
    originals: BTreeMap<CgroupName, Option<u64>>,
    /// `MemTotal` of the host, the global limit when the root has none.
    host_memory: Option<u64>,
}

impl Engine {
    /// Loads `--stats` (validated against the root; errors name the file and
    /// the key), the policy (`--algo`), opens the audit log (append, created
    /// 0640) and the journal (created 0600). Touches nothing in the cgroup
    /// tree and takes no lock (take [`InstanceLock`] first).
    pub fn new(fs: Box<dyn CgroupFs>, config: &DaemonConfig) -> anyhow::Result<Engine> {
        let _ = (fs, config);
        anyhow::bail!("cgact engine: not implemented yet")
    }

    /// The hierarchy the engine works on.
    pub fn fs(&self) -> &dyn CgroupFs {
        self.fs.as_ref()
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    /// Finishes or rolls back an adjustment a crashed instance left in the
    /// journal (see [`journal`]). Call once at start, after taking the lock
    /// and before handling any event. `None` when there was nothing to do.
    pub fn recover(&mut self) -> anyhow::Result<Option<Recovery>> {
        Ok(None)
    }

    /// The managed cgroups, sorted by name: the leaves among the root's
    /// descendants (a cgroup with no child cgroup), as `cgsim` manages the
    /// leaves of a trace.
    pub fn managed(&self) -> Result<Vec<CgroupName>, EngineError> {
        live_snapshot::managed(self.fs.as_ref())
    }

    /// One decision end to end: live snapshot (limits and usages read now,
    /// Phase 1 stats, global view), `policy.decide(Trigger::Oom{..kind})`,
    /// `check_plan`, apply (not with `--dry-run`: outcome `dry_run`), then
    /// the audit line appended and flushed. `woke` is when the event woke
    /// the daemon; `latency_us` runs from it to the last limit write. A
    /// cgroup that is not managed gives [`EngineError::NotManaged`], one
    /// that vanished [`EngineError::Gone`].
    pub fn handle(
        &mut self,
        cgroup: &CgroupName,
        kind: OomKind,
        woke: Instant,
    ) -> Result<Decision, EngineError> {
        let _ = (kind, woke);
        Err(EngineError::NotManaged {
            cgroup: cgroup.clone(),
            root: self.fs.root().clone(),
        })
    }

    /// Appends an audit line with outcome `fallback_kill` for `cgroup` (the
    /// rescue deadline passed and the kernel is let to kill): nothing added,
    /// its current limit in `limits_before` and `limits_after`.
    pub fn log_fallback_kill(
        &mut self,
        cgroup: &CgroupName,
        woke: Instant,
    ) -> Result<(), EngineError> {
        let _ = woke;
        Err(EngineError::NotManaged {
            cgroup: cgroup.clone(),
            root: self.fs.root().clone(),
        })
    }

    /// For tick-driven policies (`autopilot`, `krr`): observe a live
    /// snapshot, then decide on `Trigger::Tick` and apply; `None` when the
    /// plan changes nothing. Call every [`Engine::tick_interval`].
    pub fn tick(&mut self, now: Instant) -> Result<Option<Decision>, EngineError> {
        let _ = now;
        Ok(None)
    }

    /// How often [`Engine::tick`] wants to be called; `None` for
    /// event-driven policies (`static`, `proportional`, `vpa`).
    pub fn tick_interval(&self) -> Option<Duration> {
        self.policy.tick_interval_ns().map(Duration::from_nanos)
    }

    /// Re-reads `--stats` (SIGHUP); on error keeps the old stats and
    /// returns the error (which names the file).
    pub fn reload_stats(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}
