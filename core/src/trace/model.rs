//! The logical content of a trace, independent of its byte layout: the
//! header, cgroup definitions, samples and events. Values are recorded raw,
//! as the kernel gave them; a field the kernel did not give is `None`.

use crate::name::CgroupName;

/// Index of a cgroup within one trace: assigned by the writer in order of
/// first appearance, starting at 0, never reused within a trace.
pub type CgroupId = u32;

/// Which cgroup hierarchy a trace was recorded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CgroupVersion {
    /// The v1 memory controller hierarchy.
    V1,
    /// The unified (v2) hierarchy.
    V2,
    /// Not recorded from a live hierarchy (imported or synthetic).
    Unknown,
}

/// What a trace says about where and how it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// Host name of the recording machine (or the data set's name).
    pub host: String,
    /// Kernel release (`uname -r`), empty when unknown.
    pub kernel: String,
    /// Cgroup version of the recorded hierarchy.
    pub cgroup_version: CgroupVersion,
    /// The recorded root as a cgroup name: the *global cgroup* of the trace.
    pub root: CgroupName,
    /// Nominal sampling interval in nanoseconds (0 when irregular/unknown).
    pub interval_ns: u64,
    /// Host memory in bytes (`MemTotal`), `None` when unknown.
    pub host_memory: Option<u64>,
    /// Start of the recording, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// Name and version of the tool that wrote the trace (`cgrec 0.1.0`).
    pub tool: String,
}

/// A cgroup's first appearance in a trace, binding its id to its name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CgroupDef {
    /// The id used by every later sample and event of this cgroup.
    pub id: CgroupId,
    /// The cgroup's name.
    pub name: CgroupName,
    /// Time of the first appearance, nanoseconds since the Unix epoch.
    pub first_seen_ns: u64,
}

/// One periodic reading of a cgroup's memory files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Time of the reading, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The cgroup read.
    pub cgroup: CgroupId,
    /// Memory usage in bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// Hard limit in bytes; `None` for no limit (v1 "unlimited", v2 `max`).
    pub limit: Option<u64>,
    /// Inactive file bytes from `memory.stat` (working-set input), when read.
    pub inactive_file: Option<u64>,
    /// High-water mark (v1 `max_usage_in_bytes`, v2 `memory.peak`), when read.
    pub peak: Option<u64>,
    /// Times the limit was hit (v1 `memory.failcnt`, v2 `max` event count).
    pub failcnt: Option<u64>,
}

impl Sample {
    /// The working set: usage less inactive file pages (as cAdvisor and
    /// the kubelet define it); the usage when the inactive file bytes are unknown.
    pub fn working_set(&self) -> u64 {
        self.usage.saturating_sub(self.inactive_file.unwrap_or(0))
    }
}

/// What happened, in an [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EventKind {
    /// The cgroup hit its limit and the OOM path ran (v1 oom_control
    /// notification, v2 `oom` counter); `usage` as read at the event.
    Oom {
        /// Usage in bytes when the event was seen, if read.
        usage: Option<u64>,
        /// Limit in bytes when the event was seen, if read (`None`: unknown or unlimited).
        limit: Option<u64>,
    },
    /// A task of this cgroup was killed by the OOM killer (v1 `oom_kill`
    /// counter of `memory.oom_control`, v2 `oom_kill` of `memory.events`).
    OomKill {
        /// Usage in bytes when the kill was seen, if read.
        usage: Option<u64>,
        /// Limit in bytes when the kill was seen, if read.
        limit: Option<u64>,
    },
    /// The cgroup entered the under-OOM state (v1 `under_oom 1`).
    UnderOomStart,
    /// The cgroup left the under-OOM state.
    UnderOomEnd,
    /// The limit changed from `old` to `new` (made by cgact, or seen changed).
    LimitChange {
        /// The limit before (`None` for unlimited).
        old: Option<u64>,
        /// The limit after (`None` for unlimited).
        new: Option<u64>,
    },
    /// The cgroup appeared.
    Created,
    /// The cgroup disappeared.
    Removed,
}

/// A timestamped event of one cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// When it happened, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The cgroup it happened to.
    pub cgroup: CgroupId,
    /// What happened.
    pub kind: EventKind,
}

/// One logical record of a trace, in the order a reader yields them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A cgroup definition; always before the first sample or event naming its id.
    Cgroup(CgroupDef),
    /// A periodic sample.
    Sample(Sample),
    /// An event.
    Event(Event),
}
