//! The [`Watcher`]: one epoll set over every source, and the dispatch of
//! ready descriptors into [`WatchEvent`]s.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::signal::Signal;

use super::error::WatchError;
use super::event::WatchEvent;
use super::inotify_tree::{InotifySet, Notice};
use super::signals::SignalSource;
use super::sources::{
    read_eventfd, CgroupSources, EventsFile, OomSource, PressureSource, Reread, ThresholdSource,
};
use super::waker::Waker;
use crate::cgroupfs::{Cgroup, CgroupFs, CgroupFsError};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

/// Epoll token of the waker's eventfd.
const WAKER: u64 = 0;
/// Epoll token of the signalfd.
const SIGNALS: u64 = 1;
/// Epoll token of the inotify instance.
const INOTIFY: u64 = 2;
/// First token of a cgroup's descriptor (never reused).
const FIRST_SOURCE: u64 = 16;
/// Ready descriptors taken per `epoll_wait`.
const MAX_READY: usize = 64;

/// Which source of a cgroup an epoll token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FdKind {
    OomEventfd,
    Threshold,
    Pressure,
}

/// One epoll set for every event source of a daemon: cgroup OOM
/// notifications, usage thresholds, PSI triggers, the cgroup tree
/// (new/removed directories), signals, and a cross-thread waker.
/// See the [module documentation](super) for an example.
pub struct Watcher {
    epoll: Epoll,
    waker: Waker,
    signals: Option<SignalSource>,
    inotify: InotifySet,
    cgroups: HashMap<CgroupName, CgroupSources>,
    tokens: HashMap<u64, (CgroupName, FdKind)>,
    next_token: u64,
    /// (root name, root directory) of every hierarchy seen, to find the
    /// directory of a cgroup registered without its `CgroupFs`.
    hierarchies: Vec<(CgroupName, PathBuf)>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("watched", &self.cgroups.len())
            .field("signals", &self.signals.is_some())
            .finish_non_exhaustive()
    }
}

/// What one `wait` call already reported once.
#[derive(Default)]
struct Reported {
    woken: bool,
    tree_changed: bool,
}

impl Watcher {
    /// An epoll set holding the waker and an (empty) inotify instance.
    pub fn new() -> Result<Watcher, WatchError> {
        let epoll =
            Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|errno| WatchError::Create {
                what: "epoll set",
                errno,
            })?;
        let waker = Waker::new()?;
        let inotify = InotifySet::new()?;
        let add = |fd: std::os::fd::BorrowedFd<'_>, token: u64, what: &'static str| {
            epoll
                .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, token))
                .map_err(|errno| WatchError::Create { what, errno })
        };
        add(waker.event_fd().as_fd(), WAKER, "epoll entry of the waker")?;
        add(inotify.fd(), INOTIFY, "epoll entry of the inotify instance")?;
        Ok(Watcher {
            epoll,
            waker,
            signals: None,
            inotify,
            cgroups: HashMap::new(),
            tokens: HashMap::new(),
            next_token: FIRST_SOURCE,
            hierarchies: Vec::new(),
        })
    }

    /// Blocks these signals for the calling thread (call it in main before
    /// spawning threads, so threads inherit the mask) and delivers them as
    /// [`WatchEvent::Signal`] through a signalfd. Later calls add signals.
    pub fn watch_signals(&mut self, signals: &[Signal]) -> Result<(), WatchError> {
        match &mut self.signals {
            Some(s) => s.add(signals),
            None => {
                let s = SignalSource::new(signals)?;
                self.epoll
                    .add(s.fd(), EpollEvent::new(EpollFlags::EPOLLIN, SIGNALS))
                    .map_err(|errno| WatchError::Create {
                        what: "epoll entry of the signalfd",
                        errno,
                    })?;
                self.signals = Some(s);
                Ok(())
            }
        }
    }

    /// inotify on the root directory of `fs` and every directory below it;
    /// directories created later are watched as they appear.
    /// [`WatchError::Cgroup`] with [`CgroupFsError::Unsupported`] for the
    /// in-memory fake (no directories).
    pub fn watch_tree(&mut self, fs: &dyn CgroupFs) -> Result<(), WatchError> {
        let root = fs.root().clone();
        let dir = fs.dir_of(&root).map_err(|e| WatchError::cgroup(&root, e))?;
        self.learn_hierarchy(&root, &dir);
        self.inotify.watch_tree(&root, &dir)
    }

    /// v1: `Cgroup::oom_eventfd`; v2: inotify IN_MODIFY on the cgroup's
    /// `memory.events` (real cgroup2 files and ordinary fixture files
    /// alike), the first read taken as the baseline. Idempotent per cgroup.
    pub fn watch_oom(&mut self, fs: &dyn CgroupFs, cg: &mut dyn Cgroup) -> Result<(), WatchError> {
        let name = cg.name().clone();
        if self.cgroups.get(&name).is_some_and(|s| s.oom.is_some()) {
            return Ok(());
        }
        let dir = fs.dir_of(&name).map_err(|e| WatchError::cgroup(&name, e))?;
        if let Ok(root_dir) = fs.dir_of(fs.root()) {
            self.learn_hierarchy(fs.root(), &root_dir);
        }
        let source = match fs.version() {
            CgroupVersion::V1 => {
                let fd = cg.oom_eventfd().map_err(|e| WatchError::cgroup(&name, e))?;
                let token =
                    self.register(&name, fd.as_fd(), EpollFlags::EPOLLIN, FdKind::OomEventfd)?;
                OomSource::V1 { token, fd }
            }
            CgroupVersion::V2 => {
                let path = dir.join("memory.events");
                let file = cg.events_file().map_err(|e| WatchError::cgroup(&name, e))?;
                // Watch first, then take the baseline: no change is missed.
                let wd = self.inotify.watch_events_file(&name, &path)?;
                let events = EventsFile::new(&name, wd, file, &path).and_then(|ev| {
                    let removal = self.inotify.watch_removal(&name, &dir)?;
                    Ok((ev, removal))
                });
                match events {
                    Ok((ev, removal)) => {
                        self.cgroups.entry(name.clone()).or_default().removal = removal;
                        OomSource::V2(ev)
                    }
                    Err(e) => {
                        self.inotify.unwatch_file(wd);
                        return Err(e);
                    }
                }
            }
            version @ CgroupVersion::Unknown => {
                return Err(WatchError::cgroup(
                    &name,
                    CgroupFsError::Unsupported {
                        cgroup: name.clone(),
                        what: "OOM notification",
                        version,
                    },
                ))
            }
        };
        let entry = self.cgroups.entry(name).or_default();
        entry.dir = Some(dir);
        entry.oom = Some(source);
        Ok(())
    }

    /// v1 only: `Cgroup::usage_threshold_eventfd` (replaces an earlier
    /// threshold of that cgroup). A removal of the cgroup is told apart from
    /// a crossing once its directory is known (from `watch_tree` or
    /// `watch_oom` on its hierarchy); otherwise it shows as a last
    /// `Threshold`.
    pub fn watch_usage_threshold(
        &mut self,
        cg: &mut dyn Cgroup,
        bytes: u64,
    ) -> Result<(), WatchError> {
        let name = cg.name().clone();
        let fd = cg
            .usage_threshold_eventfd(bytes)
            .map_err(|e| WatchError::cgroup(&name, e))?;
        let token = self.register(&name, fd.as_fd(), EpollFlags::EPOLLIN, FdKind::Threshold)?;
        let dir = self.dir_from_hierarchies(&name);
        let entry = self.cgroups.entry(name).or_default();
        if entry.dir.is_none() {
            entry.dir = dir;
        }
        if let Some(old) = entry
            .threshold
            .replace(ThresholdSource { token, fd, bytes })
        {
            self.tokens.remove(&old.token);
            let _ = self.epoll.delete(old.fd.as_fd());
        }
        Ok(())
    }

    /// v2 only: `Cgroup::psi_trigger`, polled with EPOLLPRI; POLLERR ->
    /// [`WatchEvent::Removed`]. Replaces an earlier trigger of that cgroup.
    pub fn watch_pressure(
        &mut self,
        cg: &mut dyn Cgroup,
        stall_us: u64,
        window_us: u64,
    ) -> Result<(), WatchError> {
        let name = cg.name().clone();
        let file = cg
            .psi_trigger(stall_us, window_us)
            .map_err(|e| WatchError::cgroup(&name, e))?;
        let token = self.register(&name, file.as_fd(), EpollFlags::EPOLLPRI, FdKind::Pressure)?;
        let entry = self.cgroups.entry(name).or_default();
        if let Some(old) = entry.pressure.replace(PressureSource { token, file }) {
            self.tokens.remove(&old.token);
            let _ = self.epoll.delete(old.file.as_fd());
        }
        Ok(())
    }

    /// Closes every source of this cgroup (no event is delivered for it
    /// afterwards). The tree watch is not affected.
    pub fn unwatch(&mut self, cgroup: &CgroupName) {
        self.close(cgroup);
    }

    /// Number of cgroups with at least one source.
    pub fn watched(&self) -> usize {
        self.cgroups.len()
    }

    /// Directories under the tree watch (tests).
    #[cfg(test)]
    pub(super) fn watched_dirs(&self) -> usize {
        self.inotify.dirs()
    }

    /// Descriptors of cgroups in the epoll set (tests).
    #[cfg(test)]
    pub(super) fn open_descriptors(&self) -> usize {
        self.tokens.len()
    }

    /// A handle other threads use to wake [`Watcher::wait`].
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Waits until at least one event or the timeout (`None`: forever),
    /// appends the events to `out` (drained: eventfd counters read, inotify
    /// buffer parsed fully, signalfd read). EINTR is retried with the
    /// remaining time. Never busy-waits; an idle daemon sleeps in
    /// `epoll_wait`. Returns with nothing appended on timeout.
    pub fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<WatchEvent>,
    ) -> Result<(), WatchError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let start = out.len();
        let mut reported = Reported::default();
        let mut ready = [EpollEvent::empty(); MAX_READY];
        loop {
            let wait_for = match deadline {
                Some(d) => remaining(d),
                None => EpollTimeout::NONE,
            };
            let n = match self.epoll.wait(&mut ready, wait_for) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(errno) => return Err(WatchError::Wait { errno }),
            };
            for ev in &ready[..n] {
                self.dispatch(ev.data(), ev.events(), &mut reported, out);
            }
            if out.len() > start || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(());
            }
        }
    }

    fn dispatch(
        &mut self,
        token: u64,
        flags: EpollFlags,
        reported: &mut Reported,
        out: &mut Vec<WatchEvent>,
    ) {
        match token {
            WAKER => {
                if self.waker.drain() && !reported.woken {
                    reported.woken = true;
                    out.push(WatchEvent::Woken);
                }
            }
            SIGNALS => {
                if let Some(s) = &self.signals {
                    let mut sigs = Vec::new();
                    s.drain(&mut sigs);
                    out.extend(sigs.into_iter().map(WatchEvent::Signal));
                }
            }
            INOTIFY => {
                let mut notices = Vec::new();
                self.inotify.drain(&mut notices);
                for n in notices {
                    self.on_notice(n, reported, out);
                }
            }
            _ => self.on_source(token, flags, out),
        }
    }

    fn on_notice(&mut self, notice: Notice, reported: &mut Reported, out: &mut Vec<WatchEvent>) {
        let mut tree_changed = |out: &mut Vec<WatchEvent>| {
            if !reported.tree_changed {
                reported.tree_changed = true;
                out.push(WatchEvent::TreeChanged);
            }
        };
        match notice {
            Notice::TreeChanged => tree_changed(out),
            Notice::DirRemoved(name) | Notice::EventsGone(name) => self.removed(&name, out),
            Notice::EventsModified(name) => self.reread_events(&name, out),
            Notice::EventsAttrib(name) => {
                let unlinked = matches!(
                    self.cgroups.get(&name).and_then(|s| s.oom.as_ref()),
                    Some(OomSource::V2(ev)) if ev.is_unlinked()
                );
                if unlinked {
                    self.removed(&name, out);
                }
            }
            Notice::Overflow => {
                tree_changed(out);
                let v2: Vec<CgroupName> = self
                    .cgroups
                    .iter()
                    .filter(|(_, s)| matches!(s.oom, Some(OomSource::V2(_))))
                    .map(|(n, _)| n.clone())
                    .collect();
                for name in v2 {
                    self.reread_events(&name, out);
                }
            }
        }
    }

    fn reread_events(&mut self, name: &CgroupName, out: &mut Vec<WatchEvent>) {
        let Some(OomSource::V2(ev)) = self.cgroups.get_mut(name).and_then(|s| s.oom.as_mut())
        else {
            return;
        };
        match ev.reread(name) {
            Reread::Changed { counters, delta } => out.push(WatchEvent::Oom {
                cgroup: name.clone(),
                counters: Some(counters),
                delta,
            }),
            Reread::Unchanged => {}
            Reread::Gone => self.removed(name, out),
        }
    }

    fn on_source(&mut self, token: u64, flags: EpollFlags, out: &mut Vec<WatchEvent>) {
        let Some((name, kind)) = self.tokens.get(&token).cloned() else {
            return; // closed earlier in this batch
        };
        let Some(sources) = self.cgroups.get(&name) else {
            return;
        };
        match kind {
            FdKind::OomEventfd | FdKind::Threshold => {
                let fd = match (kind, &sources.oom, &sources.threshold) {
                    (FdKind::OomEventfd, Some(OomSource::V1 { fd, .. }), _) => fd,
                    (FdKind::Threshold, _, Some(t)) => &t.fd,
                    _ => return,
                };
                if read_eventfd(fd).is_none() {
                    return;
                }
                // Removal signals every eventfd of the cgroup once.
                if sources.dir.as_ref().is_some_and(|d| !d.is_dir()) {
                    self.removed(&name, out);
                    return;
                }
                out.push(match (kind, &sources.threshold) {
                    (FdKind::Threshold, Some(t)) => WatchEvent::Threshold {
                        cgroup: name,
                        bytes: t.bytes,
                    },
                    _ => WatchEvent::Oom {
                        cgroup: name,
                        counters: None,
                        delta: None,
                    },
                });
            }
            FdKind::Pressure => {
                if flags.intersects(EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP) {
                    self.removed(&name, out);
                } else if flags.contains(EpollFlags::EPOLLPRI) {
                    out.push(WatchEvent::Pressure { cgroup: name });
                }
            }
        }
    }

    /// Closes the cgroup's sources and reports it removed (once).
    fn removed(&mut self, name: &CgroupName, out: &mut Vec<WatchEvent>) {
        if self.close(name) {
            out.push(WatchEvent::Removed {
                cgroup: name.clone(),
            });
        }
    }

    /// Closes every source of `name`; false when it had none.
    fn close(&mut self, name: &CgroupName) -> bool {
        let Some(s) = self.cgroups.remove(name) else {
            return false;
        };
        match s.oom {
            Some(OomSource::V1 { token, fd }) => self.forget(token, fd.as_fd()),
            Some(OomSource::V2(ev)) => self.inotify.unwatch_file(ev.wd),
            None => {}
        }
        if let Some(t) = s.threshold {
            self.forget(t.token, t.fd.as_fd());
        }
        if let Some(p) = s.pressure {
            self.forget(p.token, p.file.as_fd());
        }
        if let Some(wd) = s.removal {
            self.inotify.unwatch_removal(wd);
        }
        true
    }

    fn forget(&mut self, token: u64, fd: std::os::fd::BorrowedFd<'_>) {
        self.tokens.remove(&token);
        // Closing the descriptor would remove it too; this keeps the set
        // exact even if the kernel holds another reference.
        let _ = self.epoll.delete(fd);
    }

    /// Adds `fd` of `name` to the epoll set under a fresh token.
    fn register(
        &mut self,
        name: &CgroupName,
        fd: std::os::fd::BorrowedFd<'_>,
        flags: EpollFlags,
        kind: FdKind,
    ) -> Result<u64, WatchError> {
        let token = self.next_token;
        self.epoll
            .add(fd, EpollEvent::new(flags, token))
            .map_err(|errno| WatchError::Register {
                cgroup: name.clone(),
                what: match kind {
                    FdKind::OomEventfd => "OOM eventfd",
                    FdKind::Threshold => "usage threshold eventfd",
                    FdKind::Pressure => "PSI trigger",
                },
                errno,
            })?;
        self.next_token += 1;
        self.tokens.insert(token, (name.clone(), kind));
        Ok(token)
    }

    fn learn_hierarchy(&mut self, root: &CgroupName, dir: &std::path::Path) {
        if !self.hierarchies.iter().any(|(r, _)| r == root) {
            self.hierarchies.push((root.clone(), dir.to_path_buf()));
        }
    }

    /// The directory of `name` under a hierarchy seen before.
    fn dir_from_hierarchies(&self, name: &CgroupName) -> Option<PathBuf> {
        let (root, dir) = self.hierarchies.iter().find(|(r, _)| name.is_within(r))?;
        let mut path = dir.clone();
        path.extend(name.components().skip(root.depth()));
        Some(path)
    }
}

/// Milliseconds left until `deadline`, rounded up (so the wait never ends
/// before it and never spins on a zero timeout while time remains).
fn remaining(deadline: Instant) -> EpollTimeout {
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
    EpollTimeout::try_from(ms as i32).unwrap_or(EpollTimeout::MAX)
}
