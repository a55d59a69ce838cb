//! One inotify instance for the cgroup tree (a watch on every directory,
//! new directories watched as they appear) and for v2 `memory.events`
//! files (IN_MODIFY). It turns raw inotify events into [`Notice`]s.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};

use super::error::WatchError;
use crate::name::CgroupName;

/// Most directory watches one watcher holds (a guard against runaway trees).
pub(crate) const MAX_DIR_WATCHES: usize = 1 << 20;

/// Most `read` calls of one drain (4 KiB each); the rest waits for the next
/// `wait`, epoll being level-triggered.
const MAX_READS_PER_DRAIN: usize = 1024;

/// What an inotify watch descriptor stands for.
#[derive(Debug, Clone)]
enum Target {
    /// A directory of the watched tree.
    Dir { name: CgroupName, path: PathBuf },
    /// The v2 `memory.events` file of a cgroup.
    EventsFile { cgroup: CgroupName },
}

/// What a drain of the inotify queue found, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A directory appeared or went under the tree (new ones are watched).
    TreeChanged,
    /// The directory of this cgroup was removed (or moved away).
    DirRemoved(CgroupName),
    /// The cgroup's `memory.events` was modified.
    EventsModified(CgroupName),
    /// The cgroup's `memory.events` watch ended (file deleted).
    EventsGone(CgroupName),
    /// The cgroup's `memory.events` lost or gained a link (IN_ATTRIB): it
    /// may be unlinked while still open (no IN_DELETE_SELF until closed).
    EventsAttrib(CgroupName),
    /// The kernel dropped events: re-read everything.
    Overflow,
}

/// The inotify instance and what each of its watches is.
#[derive(Debug)]
pub(crate) struct InotifySet {
    inotify: Inotify,
    targets: HashMap<WatchDescriptor, Target>,
    dirs: usize,
}

fn dir_mask() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_ONLYDIR
        | AddWatchFlags::IN_DONT_FOLLOW
}

fn events_mask() -> AddWatchFlags {
    AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_DONT_FOLLOW
}

impl InotifySet {
    /// A new non-blocking, close-on-exec inotify instance.
    pub(crate) fn new() -> Result<Self, WatchError> {
        let inotify =
            Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map_err(|errno| {
                WatchError::Create {
                    what: "inotify instance",
                    errno,
                }
            })?;
        Ok(InotifySet {
            inotify,
            targets: HashMap::new(),
            dirs: 0,
        })
    }

    /// The inotify descriptor, for the epoll set.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    /// Watches the directory `path` of cgroup `name` and every directory
    /// below it (watch first, then list, so nothing created meanwhile is
    /// missed). Subdirectories that vanish meanwhile are skipped; a failure
    /// on `path` itself is an error.
    pub(crate) fn watch_tree(&mut self, name: &CgroupName, path: &Path) -> Result<(), WatchError> {
        self.add_dir(name, path)
            .map_err(|errno| WatchError::Inotify {
                cgroup: name.clone(),
                path: path.to_path_buf(),
                errno,
            })?;
        self.watch_below(name, path);
        Ok(())
    }

    /// Watches every directory below `path` (already watched itself).
    fn watch_below(&mut self, name: &CgroupName, path: &Path) {
        let mut stack = vec![(name.clone(), path.to_path_buf())];
        while let Some((name, dir)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue; // vanished meanwhile: its removal is reported
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let Some(child) = child_name(&name, &entry.file_name()) else {
                    continue;
                };
                let child_dir = entry.path();
                match self.add_dir(&child, &child_dir) {
                    Ok(()) => stack.push((child, child_dir)),
                    Err(Errno::ENOENT) => {}
                    Err(errno) => {
                        tracing::warn!(path = %child_dir.display(), %errno, "cannot watch cgroup directory");
                    }
                }
            }
        }
    }

    fn add_dir(&mut self, name: &CgroupName, path: &Path) -> Result<(), Errno> {
        if self.dirs >= MAX_DIR_WATCHES {
            return Err(Errno::ENOSPC);
        }
        let wd = self.inotify.add_watch(path, dir_mask())?;
        let target = Target::Dir {
            name: name.clone(),
            path: path.to_path_buf(),
        };
        if !matches!(self.targets.insert(wd, target), Some(Target::Dir { .. })) {
            self.dirs += 1;
        }
        Ok(())
    }

    /// Watches the `memory.events` file at `path` of `cgroup` for IN_MODIFY.
    pub(crate) fn watch_events_file(
        &mut self,
        cgroup: &CgroupName,
        path: &Path,
    ) -> Result<WatchDescriptor, WatchError> {
        let wd = self
            .inotify
            .add_watch(path, events_mask())
            .map_err(|errno| WatchError::Inotify {
                cgroup: cgroup.clone(),
                path: path.to_path_buf(),
                errno,
            })?;
        self.targets.insert(
            wd,
            Target::EventsFile {
                cgroup: cgroup.clone(),
            },
        );
        Ok(wd)
    }

    /// Removes a file watch (its IN_IGNORED is then ignored).
    pub(crate) fn unwatch_file(&mut self, wd: WatchDescriptor) {
        if self.targets.remove(&wd).is_some() {
            // EINVAL when the kernel already dropped it: nothing to do.
            let _ = self.inotify.rm_watch(wd);
        }
    }

    /// Number of directories watched.
    #[cfg(test)]
    pub(crate) fn dirs(&self) -> usize {
        self.dirs
    }

    /// Reads the queue until empty (bounded) and appends what it means to
    /// `out`; watches new directories as it goes.
    pub(crate) fn drain(&mut self, out: &mut Vec<Notice>) {
        for _ in 0..MAX_READS_PER_DRAIN {
            match self.inotify.read_events() {
                Ok(events) if events.is_empty() => return,
                Ok(events) => {
                    for ev in events {
                        self.interpret(ev, out);
                    }
                }
                Err(Errno::EAGAIN) => return,
                Err(Errno::EINTR) => continue,
                Err(errno) => {
                    tracing::warn!(%errno, "inotify read failed");
                    return;
                }
            }
        }
    }

    fn interpret(&mut self, ev: InotifyEvent, out: &mut Vec<Notice>) {
        let m = ev.mask;
        if m.contains(AddWatchFlags::IN_Q_OVERFLOW) {
            out.push(Notice::Overflow);
            return;
        }
        let Some(target) = self.targets.get(&ev.wd).cloned() else {
            return; // a watch removed earlier
        };
        let ignored = m.contains(AddWatchFlags::IN_IGNORED);
        if ignored {
            self.targets.remove(&ev.wd);
        }
        match target {
            Target::EventsFile { cgroup } => {
                if ignored || m.contains(AddWatchFlags::IN_DELETE_SELF) {
                    out.push(Notice::EventsGone(cgroup));
                } else if m.contains(AddWatchFlags::IN_MODIFY) {
                    out.push(Notice::EventsModified(cgroup));
                } else if m.contains(AddWatchFlags::IN_ATTRIB) {
                    out.push(Notice::EventsAttrib(cgroup));
                }
            }
            Target::Dir { name, path } => {
                if ignored {
                    self.dirs = self.dirs.saturating_sub(1);
                }
                if ignored || m.contains(AddWatchFlags::IN_DELETE_SELF) {
                    out.push(Notice::DirRemoved(name));
                    out.push(Notice::TreeChanged);
                    return;
                }
                if !m.contains(AddWatchFlags::IN_ISDIR) {
                    return; // a file created in a plain directory
                }
                let Some(component) = ev.name.as_deref() else {
                    out.push(Notice::TreeChanged);
                    return;
                };
                let Some(child) = child_name(&name, component) else {
                    out.push(Notice::TreeChanged);
                    return;
                };
                if m.intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO) {
                    let child_dir = path.join(component);
                    match self.add_dir(&child, &child_dir) {
                        Ok(()) => self.watch_below(&child, &child_dir),
                        Err(Errno::ENOENT) => {}
                        Err(errno) => {
                            tracing::warn!(path = %child_dir.display(), %errno, "cannot watch new cgroup directory");
                        }
                    }
                } else if m.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM) {
                    if m.contains(AddWatchFlags::IN_MOVED_FROM) {
                        self.forget_subtree(&child);
                    }
                    out.push(Notice::DirRemoved(child));
                }
                out.push(Notice::TreeChanged);
            }
        }
    }

    /// Drops the directory watches of `name` and below (moved away: their
    /// names are stale; the move's target is watched afresh).
    fn forget_subtree(&mut self, name: &CgroupName) {
        let stale: Vec<WatchDescriptor> = self
            .targets
            .iter()
            .filter(|(_, t)| matches!(t, Target::Dir { name: n, .. } if n.is_within(name)))
            .map(|(wd, _)| *wd)
            .collect();
        for wd in stale {
            self.targets.remove(&wd);
            self.dirs = self.dirs.saturating_sub(1);
            let _ = self.inotify.rm_watch(wd);
        }
    }
}

/// The cgroup name of directory entry `component` under `parent`; `None`
/// (logged) for a non-UTF-8 or invalid name.
fn child_name(parent: &CgroupName, component: &OsStr) -> Option<CgroupName> {
    let Some(s) = component.to_str() else {
        tracing::warn!(parent = %parent, "skipping non-UTF-8 cgroup directory");
        return None;
    };
    match parent.join(s) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(parent = %parent, component = s, error = %e, "skipping cgroup directory with an invalid name");
            None
        }
    }
}
