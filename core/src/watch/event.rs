//! What [`super::Watcher::wait`] reports.

use nix::sys::signal::Signal;

use crate::cgroupfs::parse::MemoryEvents;
use crate::name::CgroupName;

/// One event from a [`super::Watcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// v1: the cgroup's `memory.oom_control` eventfd fired (an OOM in it or
    /// a descendant; also fires at registration if already under OOM);
    /// `counters` and `delta` are `None`. v2: its `memory.events` changed;
    /// `counters` holds the re-read counters and `delta` the increase since
    /// the previous read (never count wake-ups). A v2 change of any counter
    /// is reported (`high` and `max` too, which rescue mode acts on): look
    /// at `delta.oom_kill` / `delta.oom` for OOMs. `delta` is `None` when
    /// there was no earlier successful read.
    Oom {
        /// The watched cgroup.
        cgroup: CgroupName,
        /// v2: the counters just read.
        counters: Option<MemoryEvents>,
        /// v2: their increase since the previous read (saturating).
        delta: Option<MemoryEvents>,
    },
    /// v1: a `memory.usage_in_bytes` threshold eventfd fired (crossing in
    /// either direction).
    Threshold {
        /// The watched cgroup.
        cgroup: CgroupName,
        /// The threshold registered.
        bytes: u64,
    },
    /// v2: a PSI trigger on `memory.pressure` fired.
    Pressure {
        /// The watched cgroup.
        cgroup: CgroupName,
    },
    /// A watched cgroup disappeared (v1 eventfd fired and the cgroup no
    /// longer exists; v2 PSI POLLERR, IN_DELETE of its directory in its
    /// parent, or the end of its `memory.events` watch; its directory's
    /// removal seen by the tree watch). All its sources are already closed.
    Removed {
        /// The cgroup that is gone.
        cgroup: CgroupName,
    },
    /// A directory was created or removed somewhere under the watched tree
    /// (or the kernel's inotify queue overflowed). At most one per `wait`.
    /// Consumers re-list the tree (`CgroupFs::list`) and diff.
    TreeChanged,
    /// A signal from `watch_signals` (via signalfd).
    Signal(Signal),
    /// A `Waker::wake` from another thread (at most one per `wait`).
    Woken,
}
