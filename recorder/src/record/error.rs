//! The errors of a recording.

use std::path::PathBuf;

use cgcal_core::cgroupfs::CgroupFsError;
use cgcal_core::trace::TraceError;
use cgcal_core::watch::WatchError;

/// What stops a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// `--root` could not be opened as a cgroup memory hierarchy.
    #[error("cannot record {path}: {source}")]
    Root {
        /// The directory given.
        path: PathBuf,
        /// Why.
        source: CgroupFsError,
    },
    /// The trace file could not be created.
    #[error("cannot create {path}: {source}")]
    CreateTrace {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing the trace failed (the error names the file and offset).
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The event sources failed.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// Listing the hierarchy failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupFsError),
}
