//! The error type of the event-source layer.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::cgroupfs::{CgroupFsError, ParseError};
use crate::name::CgroupName;

/// What went wrong setting up or waiting on a [`super::Watcher`].
///
/// A cgroup that vanishes while it is being registered shows as an error
/// for which [`WatchError::is_gone`] is true: callers skip that cgroup.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A kernel object of the watcher itself could not be created.
    #[error("cannot create the {what}: {errno}")]
    Create {
        /// The object (`epoll set`, `waker eventfd`, `inotify instance`, ...).
        what: &'static str,
        /// The kernel's answer.
        errno: Errno,
    },
    /// A call on the cgroup filesystem layer failed (the source names the
    /// file and its error).
    #[error("cgroup {cgroup}: {source}")]
    Cgroup {
        /// The cgroup.
        cgroup: CgroupName,
        /// The filesystem layer's error.
        source: CgroupFsError,
    },
    /// A file descriptor could not be added to the epoll set.
    #[error("cannot add the {what} of cgroup {cgroup} to the epoll set: {errno}")]
    Register {
        /// The cgroup.
        cgroup: CgroupName,
        /// The source (`OOM eventfd`, `usage threshold eventfd`, `PSI trigger`).
        what: &'static str,
        /// The kernel's answer (EPERM for a regular file, which epoll cannot watch).
        errno: Errno,
    },
    /// An inotify watch could not be added (ENOSPC: raise
    /// `fs.inotify.max_user_watches`).
    #[error("{path}: cannot add an inotify watch (cgroup {cgroup}): {errno}")]
    Inotify {
        /// The cgroup.
        cgroup: CgroupName,
        /// The file or directory.
        path: PathBuf,
        /// The kernel's answer.
        errno: Errno,
    },
    /// The first read of a v2 `memory.events` (the baseline) failed.
    #[error("{path}: cannot read (cgroup {cgroup}): {errno}")]
    Read {
        /// The cgroup.
        cgroup: CgroupName,
        /// The file.
        path: PathBuf,
        /// The kernel's answer.
        errno: Errno,
    },
    /// The first read of a v2 `memory.events` did not parse.
    #[error("{path}: cannot parse (cgroup {cgroup}): {source}")]
    Parse {
        /// The cgroup.
        cgroup: CgroupName,
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: ParseError,
    },
    /// `epoll_wait` failed with something other than EINTR.
    #[error("waiting on the epoll set: {errno}")]
    Wait {
        /// The kernel's answer.
        errno: Errno,
    },
}

impl WatchError {
    /// True when the cgroup being registered does not exist (any more):
    /// the caller drops it (the tree watch reports its removal).
    pub fn is_gone(&self) -> bool {
        match self {
            WatchError::Cgroup { source, .. } => source.is_gone(),
            WatchError::Inotify { errno, .. } | WatchError::Read { errno, .. } => {
                matches!(errno, Errno::ENOENT | Errno::ENODEV)
            }
            _ => false,
        }
    }

    /// Wraps a cgroup filesystem error of `cgroup`.
    pub(crate) fn cgroup(cgroup: &CgroupName, source: CgroupFsError) -> Self {
        WatchError::Cgroup {
            cgroup: cgroup.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_is_recognised_and_messages_name_the_cgroup() {
        let cg = CgroupName::parse("/apps/web").unwrap();
        let gone = WatchError::cgroup(&cg, CgroupFsError::Gone { cgroup: cg.clone() });
        assert!(gone.is_gone());
        let enoent = WatchError::Inotify {
            cgroup: cg.clone(),
            path: PathBuf::from("/sys/fs/cgroup/apps/web/memory.events"),
            errno: Errno::ENOENT,
        };
        assert!(enoent.is_gone());
        let full = WatchError::Inotify {
            cgroup: cg.clone(),
            path: PathBuf::from("/x"),
            errno: Errno::ENOSPC,
        };
        assert!(!full.is_gone());
        let msg = full.to_string();
        assert!(msg.contains("/apps/web") && msg.contains("/x"), "{msg}");
        assert!(!WatchError::Wait {
            errno: Errno::EBADF
        }
        .is_gone());
    }
}
