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

/// What an inotify watch descriptor stands for. A directory can be both
/// part of the tree watch and the parent of watched cgroups (whose rmdir
/// it reports as IN_DELETE: kernfs sends nothing to a watch on the removed
/// directory itself or on a file inside). The kernel gives one descriptor
/// per inode, so both roles live in one target (and every directory watch
/// is added with IN_MASK_ADD).
#[derive(Debug, Clone)]
enum Target {
    /// A cgroup directory.
    Dir {
        /// Under the tree watch: its name and path.
        tree: Option<(CgroupName, PathBuf)>,
        /// Parent of watched cgroups: its name and how many of its children
        /// are watched for removal.
        parent_of: Option<(CgroupName, usize)>,
    },
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

/// A directory of the tree: children created, removed or moved, itself removed.
fn dir_mask() -> AddWatchFlags {
    removal_mask()
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DELETE_SELF
}

/// The parent of watched cgroups: children removed or moved away.
fn removal_mask() -> AddWatchFlags {
    AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_ONLYDIR
        | AddWatchFlags::IN_DONT_FOLLOW
        | mask_add()
}

/// IN_MASK_ADD (nix lacks it): add to an existing watch's mask instead of
/// replacing it, as the tree and removal watches share a directory's.
fn mask_add() -> AddWatchFlags {
    AddWatchFlags::from_bits_retain(libc::IN_MASK_ADD)
}

/// A v2 `memory.events`: modified, unlinked, deleted.
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
        let tree = Some((name.clone(), path.to_path_buf()));
        match self.targets.get_mut(&wd) {
            Some(Target::Dir { tree: t, .. }) => {
                if t.is_none() {
                    self.dirs += 1;
                }
                *t = tree;
            }
            _ => {
                self.dirs += 1;
                self.targets.insert(
                    wd,
                    Target::Dir {
                        tree,
                        parent_of: None,
                    },
                );
            }
        }
        Ok(())
    }

    /// Watches the parent directory of `cgroup` (whose directory is
    /// `path`) so that its rmdir is reported (IN_DELETE). `None` for a
    /// cgroup without a parent.
    pub(crate) fn watch_removal(
        &mut self,
        cgroup: &CgroupName,
        path: &Path,
    ) -> Result<Option<WatchDescriptor>, WatchError> {
        let (Some(parent), Some(parent_dir)) = (cgroup.parent(), path.parent()) else {
            return Ok(None);
        };
        let wd = self
            .inotify
            .add_watch(parent_dir, removal_mask())
            .map_err(|errno| WatchError::Inotify {
                cgroup: cgroup.clone(),
                path: parent_dir.to_path_buf(),
                errno,
            })?;
        match self.targets.get_mut(&wd) {
            Some(Target::Dir {
                parent_of: Some((_, n)),
                ..
            }) => *n += 1,
            Some(Target::Dir { parent_of, .. }) => *parent_of = Some((parent, 1)),
            _ => {
                self.targets.insert(
                    wd,
                    Target::Dir {
                        tree: None,
                        parent_of: Some((parent, 1)),
                    },
                );
            }
        }
        Ok(Some(wd))
    }

    /// Ends one removal watch on the parent directory `wd`; the kernel
    /// watch goes with the last one unless the tree watch needs it.
    pub(crate) fn unwatch_removal(&mut self, wd: WatchDescriptor) {
        let Some(Target::Dir { tree, parent_of }) = self.targets.get_mut(&wd) else {
            return;
        };
        if let Some((_, n)) = parent_of {
            *n = n.saturating_sub(1);
            if *n == 0 {
                *parent_of = None;
            }
        }
        if tree.is_none() && parent_of.is_none() {
            self.targets.remove(&wd);
            let _ = self.inotify.rm_watch(wd);
        }
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
            Target::Dir { tree, parent_of } => {
                if ignored && tree.is_some() {
                    self.dirs = self.dirs.saturating_sub(1);
                }
                if ignored || m.contains(AddWatchFlags::IN_DELETE_SELF) {
                    if let Some((name, _)) = tree {
                        out.push(Notice::DirRemoved(name));
                        out.push(Notice::TreeChanged);
                    }
                    return;
                }
                let gone = m.contains(AddWatchFlags::IN_ISDIR)
                    && m.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM);
                if let (true, Some((parent, _)), Some(component)) =
                    (gone, &parent_of, ev.name.as_deref())
                {
                    if let Some(child) = child_name(parent, component) {
                        out.push(Notice::DirRemoved(child));
                    }
                }
                if let Some((name, path)) = tree {
                    self.tree_entry(&name, &path, &ev, out);
                }
            }
        }
    }

    /// A child entry created, removed or moved in the tree directory `path`
    /// of cgroup `name`.
    fn tree_entry(
        &mut self,
        name: &CgroupName,
        path: &Path,
        ev: &InotifyEvent,
        out: &mut Vec<Notice>,
    ) {
        let m = ev.mask;
        if !m.contains(AddWatchFlags::IN_ISDIR) {
            return; // a file created in a plain directory
        }
        let Some(component) = ev.name.as_deref() else {
            out.push(Notice::TreeChanged);
            return;
        };
        let Some(child) = child_name(name, component) else {
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

    /// Drops the tree watches of `name` and below (moved away: their names
    /// are stale; the move's target is watched afresh). Removal watches
    /// stay until their cgroup is unwatched.
    fn forget_subtree(&mut self, name: &CgroupName) {
        let stale: Vec<WatchDescriptor> = self
            .targets
            .iter()
            .filter(
                |(_, t)| matches!(t, Target::Dir { tree: Some((n, _)), .. } if n.is_within(name)),
            )
            .map(|(wd, _)| *wd)
            .collect();
        for wd in stale {
            self.dirs = self.dirs.saturating_sub(1);
            if let Some(Target::Dir { tree, parent_of }) = self.targets.get_mut(&wd) {
                *tree = None;
                if parent_of.is_none() {
                    self.targets.remove(&wd);
                    let _ = self.inotify.rm_watch(wd);
                }
            }
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
