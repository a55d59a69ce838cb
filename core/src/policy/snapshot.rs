//! What a policy sees: a snapshot of the managed cgroups and of the global
//! cgroup at one instant, and the trigger that asks it to decide.

use crate::name::CgroupName;
use crate::stats::Phase1;

/// One managed cgroup at the snapshot's instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupView {
    /// The cgroup's name.
    pub name: CgroupName,
    /// Its current hard limit in bytes; `None` for no limit. Policies never
    /// change an unlimited cgroup.
    pub limit: Option<u64>,
    /// Its current usage in bytes.
    pub usage: u64,
    /// Its Phase 1 figures, when it has any; `phase1.min` is its floor.
    pub phase1: Option<Phase1>,
    /// Its limit before any policy touched it (`None`: unlimited or unknown);
    /// informational (collateral-kill accounting), no policy relies on it.
    pub original_limit: Option<u64>,
}

/// The global cgroup (the `--root`, or the trace's recorded root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalView {
    /// Its name; every managed cgroup lies strictly below it.
    pub name: CgroupName,
    /// Its hard limit in bytes; `None` for no limit.
    pub limit: Option<u64>,
    /// Its usage in bytes (for the hierarchy root: the host's used memory,
    /// or the sum of the managed cgroups' usage).
    pub usage: u64,
    /// Host memory in bytes (`MemTotal`), the limit used when `limit` is `None`.
    pub host_memory: Option<u64>,
}

impl GlobalView {
    /// The limit the headroom is computed against: the global cgroup's own
    /// limit, else the host memory, else `None` (unbounded).
    pub fn effective_limit(&self) -> Option<u64> {
        self.limit.or(self.host_memory)
    }
}

/// Everything a policy sees at one instant. Pure data: the actuator fills
/// it from the cgroup filesystem, the simulator from a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The instant, nanoseconds since the Unix epoch (simulated in cgsim).
    pub time_ns: u64,
    /// The managed cgroups (descendants of the global cgroup). Plans and
    /// triggers refer to them by index in this vector.
    pub cgroups: Vec<CgroupView>,
    /// The global cgroup.
    pub global: GlobalView,
}

/// What kind of memory event triggered a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OomKind {
    /// The cgroup hit its limit and no kill has happened (yet): `rescue`
    /// mode, where the kill is held back while the policy decides.
    Oom,
    /// The kernel killed a task of the cgroup: `react` mode.
    OomKill,
    /// Usage crossed a threshold below the limit: `preempt` mode.
    Pressure,
}

/// Why a policy is asked to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A memory event in one managed cgroup.
    Oom {
        /// Index of the cgroup in [`Snapshot::cgroups`].
        cgroup: usize,
        /// Its usage in bytes at the event (in cgsim: the demand).
        usage_at_oom: u64,
        /// What happened.
        kind: OomKind,
    },
    /// The periodic tick the policy asked for with
    /// [`Policy::tick_interval_ns`](super::Policy::tick_interval_ns).
    Tick,
}

impl CgroupView {
    /// The cgroup's floor: its Phase 1 minimum, 0 without Phase 1 figures.
    pub fn floor(&self) -> u64 {
        self.phase1.as_ref().map_or(0, |p| p.min)
    }
}

impl Snapshot {
    /// Index of the managed cgroup named `name`, if present.
    pub fn index_of(&self, name: &CgroupName) -> Option<usize> {
        self.cgroups.iter().position(|c| &c.name == name)
    }
}
