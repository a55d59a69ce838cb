//! The state of a recording: the hierarchy, the event sources, the trace
//! file and every tracked cgroup; what a sweep, a notification and a tree
//! change do to them. The timing lives in [`super::run_loop`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cgcal_core::cgroupfs::{CgroupFs, CgroupFsError};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::{CgroupVersion, CompactStats, Event, EventKind};
use cgcal_core::watch::{WatchEvent, Watcher, KILL_RECHECK_AFTER};

use super::clock::TraceClock;
use super::error::RecordError;
use super::limit_watch::{limit_file, LimitWatch, Written};
use super::metrics_sink::{RecordCounts, RecordGauges, RecordMetrics};
use super::oom_tracker::limit_hit_cgroups;
use super::rotation::Rotation;
use super::status_line::Progress;
use super::trace_file::TraceFile;
use super::tracked_cgroup::{Reading, SweepDepth, TrackedCgroup};

/// Whether the recording goes on after handling events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep recording.
    Continue,
    /// Stop (a signal, or the root cgroup is gone).
    Stop,
}

/// How a cgroup entered the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// There when the recording started: no event.
    Initial,
    /// Appeared while recording: a `Created` event, counters from 0.
    Created,
}

#[derive(Debug, Clone, Copy)]
struct Recheck {
    due: Instant,
    step: usize,
}

/// What a finished recording wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Samples recorded.
    pub samples: u64,
    /// Events recorded.
    pub events: u64,
    /// Final size of the trace file.
    pub bytes: u64,
    /// The re-chunking's figures; `None` if it failed (the file is as recorded).
    pub compacted: Option<CompactStats>,
}

/// A recording in progress.
pub struct Session {
    fs: Box<dyn CgroupFs>,
    watcher: Watcher,
    out: TraceFile,
    clock: TraceClock,
    cgroups: BTreeMap<CgroupName, TrackedCgroup>,
    rechecks: BTreeMap<CgroupName, Recheck>,
    tree_watched: bool,
    limit_watch: LimitWatch,
    samples: u64,
    events: u64,
    rotation: Option<Rotation>,
    metrics: Option<RecordMetrics>,
    oom_events: u64,
    oom_kills: u64,
    closed_bytes: u64,
    last_sweep: Duration,
    max_sweep: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("root", self.fs.root())
            .field("cgroups", &self.cgroups.len())
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Watches the tree (before listing it, so no cgroup created meanwhile
    /// is missed), then opens and watches every cgroup under the root.
    pub fn start(
        fs: Box<dyn CgroupFs>,
        mut watcher: Watcher,
        out: TraceFile,
        clock: TraceClock,
    ) -> Result<Session, RecordError> {
        let tree_watched = match watcher.watch_tree(fs.as_ref()) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("cannot watch the cgroup tree ({e}); re-listing it at every sample");
                false
            }
        };
        let mut s = Session {
            fs,
            watcher,
            out,
            clock,
            cgroups: BTreeMap::new(),
            rechecks: BTreeMap::new(),
            tree_watched,
            limit_watch: LimitWatch::new(),
            samples: 0,
            events: 0,
            rotation: None,
            metrics: None,
            oom_events: 0,
            oom_kills: 0,
            closed_bytes: 0,
            last_sweep: Duration::ZERO,
            max_sweep: Duration::ZERO,
        };
        let now = s.clock.now_ns();
        for name in s.fs.list()? {
            s.add(&name, now, Origin::Initial)?;
        }
        Ok(s)
    }

    /// The clock the trace's times come from.
    pub fn clock(&self) -> &TraceClock {
        &self.clock
    }

    /// The trace file being written.
    pub fn trace_file(&self) -> &TraceFile {
        &self.out
    }

    /// Cgroups tracked now.
    pub fn cgroups(&self) -> usize {
        self.cgroups.len()
    }

    /// What the status line shows.
    pub fn progress(&self, now: Instant) -> Progress {
        Progress {
            cgroups: self.cgroups.len(),
            samples: self.samples,
            events: self.events,
            bytes: self.out.bytes_written(),
            elapsed: now.saturating_duration_since(self.clock.start_instant()),
        }
    }

    /// Reads every tracked cgroup with one timestamp; cgroups found gone
    /// are recorded as removed. Without a tree watch, re-lists first.
    pub fn sweep(&mut self, time_ns: u64, depth: SweepDepth) -> Result<Flow, RecordError> {
        let started = Instant::now();
        let flow = self.sweep_all(time_ns, depth);
        self.last_sweep = started.elapsed();
        self.max_sweep = self.max_sweep.max(self.last_sweep);
        flow
    }

    fn sweep_all(&mut self, time_ns: u64, depth: SweepDepth) -> Result<Flow, RecordError> {
        if !self.tree_watched && self.sync_tree(time_ns)? == Flow::Stop {
            return Ok(Flow::Stop);
        }
        match self.limit_watch.written() {
            Written::These(names) => {
                for name in names {
                    if let Some(cg) = self.cgroups.get_mut(&name) {
                        cg.limit_written();
                    }
                }
            }
            Written::All => self
                .cgroups
                .values_mut()
                .for_each(TrackedCgroup::limit_written),
        }
        let mut gone = Vec::new();
        for (name, cg) in self.cgroups.iter_mut() {
            match cg.sample(time_ns, depth) {
                Reading::Gone => gone.push(name.clone()),
                Reading::Read(sample, events) => {
                    if let Some(s) = sample {
                        self.out.push_sample(s)?;
                        self.samples += 1;
                    }
                    for kind in events {
                        let (ooms, kills) = oom_counts(&kind);
                        self.oom_events += ooms;
                        self.oom_kills += kills;
                        self.out.push_event(Event {
                            time_ns,
                            cgroup: cg.id(),
                            kind,
                        })?;
                        self.events += 1;
                    }
                }
            }
        }
        for name in gone {
            self.remove(&name, time_ns)?;
        }
        Ok(Flow::Continue)
    }

    /// Handles what the watcher reported: OOM notifications (recorded at
    /// once, counters re-read shortly after), removed cgroups, tree changes,
    /// signals.
    pub fn handle(&mut self, events: &[WatchEvent], now: Instant) -> Result<Flow, RecordError> {
        let time_ns = self.clock.ns_at(now);
        let mut flow = Flow::Continue;
        let mut signalled = Vec::new();
        let mut limit_hit = Vec::new();
        for ev in events {
            match ev {
                WatchEvent::Oom { cgroup, .. } => {
                    signalled.push(cgroup.clone());
                    // v1 has no OOM counter: the notification is the event.
                    // v2's come from the cgroup's own counters (check_oom).
                    if self.fs.version() == CgroupVersion::V1 {
                        limit_hit.push(cgroup.clone());
                    }
                }
                WatchEvent::Removed { cgroup } => self.remove(cgroup, time_ns)?,
                WatchEvent::TreeChanged => {
                    if self.sync_tree(time_ns)? == Flow::Stop {
                        flow = Flow::Stop;
                    }
                }
                WatchEvent::Signal(sig) => {
                    tracing::info!("{sig}: stopping");
                    flow = Flow::Stop;
                }
                WatchEvent::Threshold { .. } | WatchEvent::Pressure { .. } | WatchEvent::Woken => {}
            }
        }
        for name in limit_hit_cgroups(&limit_hit) {
            if let Some(cg) = self.cgroups.get_mut(&name) {
                let reading = cg.oom_event();
                self.apply(&name, reading, time_ns)?;
            }
        }
        for name in signalled {
            self.check_oom(&name, time_ns)?;
            self.rechecks.insert(
                name,
                Recheck {
                    due: now + KILL_RECHECK_AFTER[0],
                    step: 0,
                },
            );
        }
        Ok(flow)
    }

    /// When the next OOM re-check is due.
    pub fn next_recheck(&self) -> Option<Instant> {
        self.rechecks.values().map(|r| r.due).min()
    }

    /// Re-reads the OOM counters of the cgroups whose re-check is due.
    pub fn run_rechecks(&mut self, now: Instant) -> Result<(), RecordError> {
        let due: Vec<CgroupName> = self
            .rechecks
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(n, _)| n.clone())
            .collect();
        let time_ns = self.clock.ns_at(now);
        for name in due {
            self.check_oom(&name, time_ns)?;
            let Some(r) = self.rechecks.get_mut(&name) else {
                continue;
            };
            r.step += 1;
            match KILL_RECHECK_AFTER.get(r.step) {
                Some(after) => r.due = now + (*after - KILL_RECHECK_AFTER[r.step - 1]),
                None => {
                    self.rechecks.remove(&name);
                }
            }
        }
        Ok(())
    }

    /// Writes the buffered records as a chunk and syncs the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush()?;
        self.publish_metrics();
        Ok(())
    }

    /// Publishes the recording's metrics from now on, at every flush.
    pub fn set_metrics(&mut self, metrics: RecordMetrics) {
        self.metrics = Some(metrics);
        self.publish_metrics();
    }

    /// The recording's totals so far (`bytes`: bytes written before
    /// re-chunking, so the counter only grows).
    pub fn counts(&self) -> RecordCounts {
        RecordCounts {
            samples: self.samples,
            events: self.events,
            oom_events: self.oom_events,
            oom_kills: self.oom_kills,
            bytes: self.closed_bytes + self.out.bytes_written(),
            rotations: self.rotation.as_ref().map_or(0, Rotation::rotations),
            deleted: self.rotation.as_ref().map_or(0, Rotation::deleted),
        }
    }

    fn gauges(&self) -> RecordGauges {
        RecordGauges {
            cgroups: self.cgroups.len(),
            last_sweep: self.last_sweep,
            max_sweep: self.max_sweep,
        }
    }

    fn publish_metrics(&mut self) {
        let (counts, gauges) = (self.counts(), self.gauges());
        if let Some(m) = self.metrics.as_mut() {
            m.observe(counts, gauges);
        }
    }

    /// Rotates the trace file by `rotation` from now on.
    pub fn set_rotation(&mut self, rotation: Rotation) {
        self.rotation = Some(rotation);
    }

    /// The rotation, when the recording rotates.
    pub fn rotation(&self) -> Option<&Rotation> {
        self.rotation.as_ref()
    }

    /// When the rotation is due: starts the next file (every tracked
    /// cgroup re-declared there, its state kept), closes and re-chunks the
    /// previous one, then applies the retention.
    pub fn maybe_rotate(&mut self, now: Instant) -> Result<(), RecordError> {
        let Some(rotation) = self.rotation.as_mut() else {
            return Ok(());
        };
        if !rotation.due(now, self.out.bytes_written()) {
            return Ok(());
        }
        let start_ns = self.clock.ns_at(now);
        let next = rotation.open_next(&self.out, start_ns, now)?;
        let closed = std::mem::replace(&mut self.out, next);
        for (name, cg) in self.cgroups.iter_mut() {
            cg.set_id(self.out.writer().cgroup_id(name, start_ns));
        }
        let closed_path = closed.path().to_path_buf();
        self.closed_bytes += closed.bytes_written();
        let (bytes, _) = closed.finish()?;
        tracing::info!(
            "rotated: closed {} ({bytes} bytes), writing {}",
            closed_path.display(),
            self.out.path().display()
        );
        if let Some(r) = self.rotation.as_mut() {
            r.apply_retention(std::time::SystemTime::now(), self.out.path());
        }
        Ok(())
    }

    /// A last read of every cgroup's OOM counters (nothing missed between
    /// the last sweep and the stop), then the trace is finished and
    /// re-chunked.
    pub fn finish(mut self) -> Result<Summary, RecordError> {
        let time_ns = self.clock.now_ns();
        let names: Vec<CgroupName> = self.cgroups.keys().cloned().collect();
        for name in names {
            self.check_oom(&name, time_ns)?;
        }
        let (samples, events) = (self.samples, self.events);
        let current = self.out.path().to_path_buf();
        // The last chunk, so the byte count is final (finish's flush is then a no-op write).
        self.out.flush()?;
        let mut counts = self.counts();
        let gauges = self.gauges();
        let (bytes, compacted) = self.out.finish()?;
        if let Some(r) = self.rotation.as_mut() {
            r.apply_retention(std::time::SystemTime::now(), &current);
            counts.deleted = r.deleted();
        }
        if let Some(m) = self.metrics.as_mut() {
            m.observe(counts, gauges);
        }
        Ok(Summary {
            samples,
            events,
            bytes,
            compacted,
        })
    }

    fn check_oom(&mut self, name: &CgroupName, time_ns: u64) -> Result<(), RecordError> {
        if let Some(cg) = self.cgroups.get_mut(name) {
            let reading = cg.check_oom();
            self.apply(name, reading, time_ns)?;
        }
        Ok(())
    }

    /// Records a reading's sample and events, or the cgroup's removal.
    fn apply(&mut self, name: &CgroupName, r: Reading, time_ns: u64) -> Result<(), RecordError> {
        match r {
            Reading::Gone => self.remove(name, time_ns),
            Reading::Read(sample, events) => {
                let Some(id) = self.cgroups.get(name).map(TrackedCgroup::id) else {
                    return Ok(());
                };
                if let Some(s) = sample {
                    self.out.push_sample(s)?;
                    self.samples += 1;
                }
                for kind in events {
                    self.push_event(id, kind, time_ns)?;
                }
                Ok(())
            }
        }
    }

    fn push_event(
        &mut self,
        cgroup: u32,
        kind: EventKind,
        time_ns: u64,
    ) -> Result<(), RecordError> {
        let (ooms, kills) = oom_counts(&kind);
        self.oom_events += ooms;
        self.oom_kills += kills;
        self.out.push_event(Event {
            time_ns,
            cgroup,
            kind,
        })?;
        self.events += 1;
        Ok(())
    }

    /// Re-lists the tree: new cgroups are added, vanished ones removed.
    /// [`Flow::Stop`] when the root itself is gone.
    fn sync_tree(&mut self, time_ns: u64) -> Result<Flow, RecordError> {
        let listed = match self.fs.list() {
            Ok(l) => l,
            Err(e) if e.is_gone() => {
                tracing::error!("the root cgroup {} was removed: stopping", self.fs.root());
                return Ok(Flow::Stop);
            }
            Err(e) => {
                tracing::warn!("cannot list the cgroup tree: {e}");
                return Ok(Flow::Continue);
            }
        };
        let vanished: Vec<CgroupName> = self
            .cgroups
            .keys()
            .filter(|n| listed.binary_search(n).is_err())
            .cloned()
            .collect();
        for name in vanished {
            self.remove(&name, time_ns)?;
        }
        for name in listed {
            if !self.cgroups.contains_key(&name) {
                self.add(&name, time_ns, Origin::Created)?;
            }
        }
        Ok(Flow::Continue)
    }

    /// Opens, watches and defines a cgroup; one that vanished meanwhile is skipped.
    fn add(&mut self, name: &CgroupName, time_ns: u64, origin: Origin) -> Result<(), RecordError> {
        let mut handle = match self.fs.open(name) {
            Ok(h) => h,
            Err(e) if e.is_gone() => return Ok(()),
            Err(e) => {
                tracing::warn!("cannot open cgroup {name}: {e}; not recorded");
                return Ok(());
            }
        };
        match self.watcher.watch_oom(self.fs.as_ref(), handle.as_mut()) {
            Ok(()) => {}
            Err(e) if e.is_gone() => return Ok(()),
            Err(e) if is_unsupported(&e) => {
                tracing::debug!("cgroup {name}: no OOM notification ({e})")
            }
            Err(e) => tracing::warn!(
                "cgroup {name}: no OOM notification ({e}); OOM kills show at the --stat-interval reads"
            ),
        }
        let id = self.out.writer().cgroup_id(name, time_ns);
        let mut tracked = match origin {
            Origin::Initial => TrackedCgroup::new(handle, id),
            Origin::Created => TrackedCgroup::created(handle, id),
        };
        // Watched before the first sample reads the limit: no write is missed.
        let limit_path = limit_file(self.fs.version())
            .and_then(|file| self.fs.dir_of(name).ok().map(|d| d.join(file)));
        if let Some(path) = limit_path {
            tracked.set_limit_watch(self.limit_watch.watch(&path, name));
        }
        self.cgroups.insert(name.clone(), tracked);
        match origin {
            // The baseline of the OOM counters, now: a kill between here
            // and the first sweep is not missed.
            Origin::Initial => self.check_oom(name, time_ns)?,
            Origin::Created => {
                tracing::debug!("cgroup {name} created");
                self.push_event(id, EventKind::Created, time_ns)?;
            }
        }
        Ok(())
    }

    /// Closes a cgroup and records its removal (once).
    fn remove(&mut self, name: &CgroupName, time_ns: u64) -> Result<(), RecordError> {
        self.watcher.unwatch(name);
        self.rechecks.remove(name);
        if let Some(cg) = self.cgroups.remove(name) {
            if let Some(wd) = cg.limit_watch() {
                self.limit_watch.unwatch(wd);
            }
            tracing::debug!("cgroup {name} removed");
            self.push_event(cg.id(), EventKind::Removed, time_ns)?;
        }
        Ok(())
    }

    /// Waits for watcher events until `deadline` at the latest.
    pub fn wait(
        &mut self,
        deadline: Instant,
        out: &mut Vec<WatchEvent>,
    ) -> Result<(), RecordError> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        Ok(self.watcher.wait(Some(timeout), out)?)
    }
}

/// (`Oom` events, `OomKill` events) in one event.
fn oom_counts(kind: &EventKind) -> (u64, u64) {
    match kind {
        EventKind::Oom { .. } => (1, 0),
        EventKind::OomKill { .. } => (0, 1),
        _ => (0, 0),
    }
}

/// A watch error saying the operation does not exist there (the v1 root has
/// no OOM notification).
fn is_unsupported(e: &cgcal_core::watch::WatchError) -> bool {
    matches!(
        e,
        cgcal_core::watch::WatchError::Cgroup {
            source: CgroupFsError::Unsupported { .. },
            ..
        }
    )
}
