//! One recorded cgroup: its open handle (files kept open, re-read with
//! `pread`), its trace id, and what the last reads said (limit, OOM
//! counters), from which samples and events are made.

use cgcal_core::cgroupfs::{Cgroup, CgroupFsError, OomState};
use cgcal_core::trace::{CgroupId, EventKind, Sample};
use nix::sys::inotify::WatchDescriptor;

use super::oom_tracker::{OomChange, OomTracker, UnderOomTransition};

/// Most `OomKill` events made from one counter increase (a guard; the
/// counter itself is exact in the next reading's difference).
pub const MAX_KILLS_PER_READ: u64 = 1024;

/// How much one sweep reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepDepth {
    /// Usage (one `pread`), and the limit where it was written since the
    /// last sweep or is not watched ([`super::limit_watch`]): every
    /// `--interval`.
    Fast,
    /// Also every limit, peak, failcnt, inactive file bytes (`memory.stat`)
    /// and the OOM counters: every `--stat-interval`. Peak and failcnt are monotonic
    /// counters, so reading them less often loses no high-water mark and no
    /// count, only its time resolution.
    Full,
}

/// What reading a cgroup gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// A sample (absent where the cgroup has no usage file, e.g. the v2
    /// root) and the events seen, in order.
    Read(Option<Sample>, Vec<EventKind>),
    /// The cgroup is gone.
    Gone,
}

/// A cgroup being recorded.
pub struct TrackedCgroup {
    handle: Box<dyn Cgroup>,
    id: CgroupId,
    limit: Option<Option<u64>>,
    /// The inotify watch on the limit file; `None`: read it every sweep.
    limit_watch: Option<WatchDescriptor>,
    /// The limit file was written since the limit was last read.
    limit_written: bool,
    oom: OomTracker,
    has_usage: bool,
    has_oom_state: bool,
    warned: bool,
}

impl std::fmt::Debug for TrackedCgroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackedCgroup")
            .field("name", self.handle.name())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TrackedCgroup {
    /// Starts tracking an open cgroup known to the trace as `id`.
    pub fn new(handle: Box<dyn Cgroup>, id: CgroupId) -> TrackedCgroup {
        TrackedCgroup {
            handle,
            id,
            limit: None,
            limit_watch: None,
            limit_written: false,
            oom: OomTracker::new(),
            has_usage: true,
            has_oom_state: true,
            warned: false,
        }
    }

    /// Starts tracking a cgroup created while recording: its OOM counters
    /// count from 0.
    pub fn created(handle: Box<dyn Cgroup>, id: CgroupId) -> TrackedCgroup {
        TrackedCgroup {
            oom: OomTracker::zeroed(),
            ..TrackedCgroup::new(handle, id)
        }
    }

    /// The trace id.
    pub fn id(&self) -> CgroupId {
        self.id
    }

    /// Gives the cgroup its id in a new trace file (rotation); what the
    /// last reads said (OOM counters, limit) is kept.
    pub fn set_id(&mut self, id: CgroupId) {
        self.id = id;
    }

    /// Reads the limit only when its file was written
    /// ([`TrackedCgroup::limit_written`]) or on a full sweep, from now on.
    pub fn set_limit_watch(&mut self, wd: Option<WatchDescriptor>) {
        self.limit_watch = wd;
    }

    /// The inotify watch on the limit file, if any.
    pub fn limit_watch(&self) -> Option<WatchDescriptor> {
        self.limit_watch
    }

    /// The limit file was written: the next sample re-reads the limit.
    pub fn limit_written(&mut self) {
        self.limit_written = true;
    }

    /// The handle (e.g. to register its OOM notification).
    pub fn handle(&mut self) -> &mut dyn Cgroup {
        self.handle.as_mut()
    }

    /// Reads a sample at `time_ns`. Events: a limit change against the last
    /// reading; on [`SweepDepth::Full`] (or while the cgroup is under OOM)
    /// also the OOM counters' changes.
    pub fn sample(&mut self, time_ns: u64, depth: SweepDepth) -> Reading {
        match self.try_sample(time_ns, depth) {
            Ok(r) => r,
            Err(e) if e.is_gone() => Reading::Gone,
            Err(e) => {
                self.warn_once(&e);
                Reading::Read(None, Vec::new())
            }
        }
    }

    /// Re-reads the OOM counters (after a notification, or at the stop):
    /// kills and under-OOM transitions since the last read, with usage and
    /// limit as read now.
    pub fn check_oom(&mut self) -> Reading {
        let mut events = Vec::new();
        match self.read_oom(&mut events) {
            Ok(()) => Reading::Read(None, events),
            Err(e) if e.is_gone() => Reading::Gone,
            Err(e) => {
                self.warn_once(&e);
                Reading::Read(None, events)
            }
        }
    }

    /// An `Oom` event of this cgroup with usage and limit read now.
    pub fn oom_event(&mut self) -> Reading {
        match self.usage_and_limit() {
            Ok((usage, limit)) => Reading::Read(None, vec![EventKind::Oom { usage, limit }]),
            Err(e) if e.is_gone() => Reading::Gone,
            Err(_) => Reading::Read(
                None,
                vec![EventKind::Oom {
                    usage: None,
                    limit: None,
                }],
            ),
        }
    }

    fn try_sample(&mut self, time_ns: u64, depth: SweepDepth) -> Result<Reading, CgroupFsError> {
        let mut events = Vec::new();
        let usage = match self.has_usage {
            true => match self.handle.usage() {
                Ok(u) => Some(u),
                Err(CgroupFsError::Unsupported { .. }) => {
                    self.has_usage = false;
                    None
                }
                Err(e) => return Err(e),
            },
            false => None,
        };
        let known = match (depth, self.limit_watch, self.limit_written) {
            (SweepDepth::Fast, Some(_), false) => self.limit,
            _ => None,
        };
        let limit = match known {
            Some(l) => l,
            None => {
                self.limit_written = false;
                match self.handle.limit() {
                    Ok(l) => l,
                    Err(CgroupFsError::Unsupported { .. }) => None,
                    Err(e) => return Err(e),
                }
            }
        };
        if let Some(old) = self.limit {
            if old != limit {
                events.push(EventKind::LimitChange { old, new: limit });
            }
        }
        self.limit = Some(limit);
        let (mut inactive_file, mut peak, mut failcnt) = (None, None, None);
        if depth == SweepDepth::Full {
            inactive_file = optional(self.handle.inactive_file())?;
            peak = optional(self.handle.peak())?;
            failcnt = optional(self.handle.failcnt())?;
        }
        if depth == SweepDepth::Full || self.oom.is_under_oom() {
            self.read_oom(&mut events)?;
        }
        let sample = usage.map(|usage| Sample {
            time_ns,
            cgroup: self.id,
            usage,
            limit,
            inactive_file,
            peak,
            failcnt,
        });
        Ok(Reading::Read(sample, events))
    }

    fn read_oom(&mut self, events: &mut Vec<EventKind>) -> Result<(), CgroupFsError> {
        if !self.has_oom_state {
            return Ok(());
        }
        let state: OomState = match self.handle.oom_state() {
            Ok(s) => s,
            Err(CgroupFsError::Unsupported { .. }) => {
                self.has_oom_state = false;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let change = self.oom.observe(&state);
        if change == OomChange::default() {
            return Ok(());
        }
        let (usage, limit) = match self.usage_and_limit() {
            Ok(ul) => ul,
            Err(e) if e.is_gone() => return Err(e),
            Err(_) => (None, None),
        };
        if change.under_oom == Some(UnderOomTransition::Started) {
            events.push(EventKind::UnderOomStart);
        }
        // v2: this cgroup's own limit was hit (memory.events.local `oom`).
        for _ in 0..change.ooms.min(MAX_KILLS_PER_READ) {
            events.push(EventKind::Oom { usage, limit });
        }
        for _ in 0..change.kills.min(MAX_KILLS_PER_READ) {
            events.push(EventKind::OomKill { usage, limit });
        }
        if change.under_oom == Some(UnderOomTransition::Ended) {
            events.push(EventKind::UnderOomEnd);
        }
        Ok(())
    }

    fn usage_and_limit(&mut self) -> Result<(Option<u64>, Option<u64>), CgroupFsError> {
        let usage = optional(self.handle.usage().map(Some))?;
        let limit = optional(self.handle.limit())?;
        Ok((usage, limit))
    }

    fn warn_once(&mut self, e: &CgroupFsError) {
        if !self.warned {
            self.warned = true;
            tracing::warn!("cgroup {}: {e}; its reading is skipped", self.handle.name());
        }
    }
}

/// An optional reading: `Unsupported` reads as `None`.
fn optional(r: Result<Option<u64>, CgroupFsError>) -> Result<Option<u64>, CgroupFsError> {
    match r {
        Err(CgroupFsError::Unsupported { .. }) => Ok(None),
        other => other,
    }
}
