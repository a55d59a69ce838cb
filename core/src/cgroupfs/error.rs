//! The one error type of the cgroup filesystem layer.

use std::io;
use std::path::PathBuf;

use crate::name::{CgroupName, NameError};
use crate::trace::CgroupVersion;

/// What went wrong talking to a cgroup hierarchy.
///
/// Callers sampling many cgroups match [`CgroupFsError::Gone`] to drop a
/// cgroup that disappeared; an actuator matches [`CgroupFsError::Busy`] for
/// a v1 limit the kernel refused to lower below usage.
#[derive(Debug, thiserror::Error)]
pub enum CgroupFsError {
    /// The path is not on a cgroup or cgroup2 filesystem.
    #[error(
        "{path} is not on a cgroup filesystem (filesystem magic {magic:#x}): \
         give a directory below /sys/fs/cgroup, e.g. /sys/fs/cgroup/memory (v1) or /sys/fs/cgroup (v2)"
    )]
    NotCgroupFs {
        /// The path given.
        path: PathBuf,
        /// The `f_type` statfs reported.
        magic: u64,
    },
    /// The hierarchy at the path has no memory controller.
    #[error(
        "{path} has no memory controller: for v1 give the memory hierarchy \
         (e.g. /sys/fs/cgroup/memory), for v2 enable memory in the parent's cgroup.subtree_control"
    )]
    NoMemoryController {
        /// The path given.
        path: PathBuf,
    },
    /// No cgroup mount holding the path was found in `/proc/self/mountinfo`.
    #[error("no cgroup mount holds {path} in /proc/self/mountinfo")]
    NoMount {
        /// The path given.
        path: PathBuf,
    },
    /// The cgroup does not exist (any more): it was removed, or never was.
    #[error("cgroup {cgroup} is gone")]
    Gone {
        /// The cgroup.
        cgroup: CgroupName,
    },
    /// The cgroup already exists (on create).
    #[error("cgroup {cgroup} already exists")]
    AlreadyExists {
        /// The cgroup.
        cgroup: CgroupName,
    },
    /// The kernel answered EBUSY: a v1 limit below usage that reclaim could
    /// not reach (the old limit stays), or rmdir of a cgroup with tasks.
    #[error("{path}: device or resource busy (cgroup {cgroup})")]
    Busy {
        /// The cgroup.
        cgroup: CgroupName,
        /// The file or directory written.
        path: PathBuf,
    },
    /// The operation does not exist for this cgroup version or on this
    /// cgroup (e.g. `memory.high` on v1, an OOM eventfd on the v1 root,
    /// PSI when the kernel has it disabled).
    #[error("{what} is not supported for cgroup {cgroup} ({version:?})")]
    Unsupported {
        /// The cgroup.
        cgroup: CgroupName,
        /// The operation.
        what: &'static str,
        /// The hierarchy's version.
        version: CgroupVersion,
    },
    /// The name is not the root or below it.
    #[error("cgroup {name} is not within the root {root}")]
    OutsideRoot {
        /// The name asked for.
        name: CgroupName,
        /// The root of the hierarchy handle.
        root: CgroupName,
    },
    /// A path component is a symbolic link (refused: it could escape the root).
    #[error("{path} is a symbolic link; cgroup paths must not contain symlinks")]
    Symlink {
        /// The offending path.
        path: PathBuf,
    },
    /// A directory name is not a valid cgroup name.
    #[error("{path}: invalid cgroup name: {source}")]
    BadName {
        /// The directory.
        path: PathBuf,
        /// Why the name is invalid.
        source: NameError,
    },
    /// A file's content could not be parsed.
    #[error("{path}: cannot parse: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: ParseError,
    },
    /// A file is larger than the layer reads.
    #[error("{path} is larger than {max} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap.
        max: usize,
    },
    /// Any other I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl CgroupFsError {
    /// True for [`CgroupFsError::Gone`]: the caller should drop the cgroup.
    pub fn is_gone(&self) -> bool {
        matches!(self, CgroupFsError::Gone { .. })
    }

    /// True for [`CgroupFsError::Busy`].
    pub fn is_busy(&self) -> bool {
        matches!(self, CgroupFsError::Busy { .. })
    }
}

/// Why a cgroup file's content could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The content is empty.
    #[error("empty")]
    Empty,
    /// A value is not an unsigned decimal integer.
    #[error("not an unsigned integer: {0:?}")]
    NotANumber(String),
    /// A `key value` line has no value.
    #[error("line {0:?} is not 'key value'")]
    BadLine(String),
    /// The content is not valid UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
}
