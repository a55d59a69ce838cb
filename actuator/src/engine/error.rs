//! The engine's typed error: every variant names the cgroup (or file) it is about.

use cgcal_core::cgroupfs::CgroupFsError;
use cgcal_core::name::CgroupName;
use cgcal_core::policy::SafetyViolation;

/// What went wrong in one decision.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The cgroup is not one of the managed cgroups (not a leaf below the root).
    #[error("cgroup {cgroup} is not managed (only the leaf cgroups below the root {root} are)")]
    NotManaged {
        /// The cgroup named by the event.
        cgroup: CgroupName,
        /// The root.
        root: CgroupName,
    },
    /// The cgroup vanished while the engine worked on it.
    #[error("cgroup {cgroup} is gone")]
    Gone {
        /// The cgroup.
        cgroup: CgroupName,
    },
    /// Reading or writing a cgroup failed.
    #[error("cgroup {cgroup}: {source}")]
    Fs {
        /// The cgroup.
        cgroup: CgroupName,
        /// The filesystem error.
        source: CgroupFsError,
    },
    /// The policy returned a plan that breaks a safety rule (a bug in the
    /// policy): nothing was written.
    #[error("cgroup {cgroup}: the {algo} plan was refused, nothing written: {source}")]
    UnsafePlan {
        /// The plan's target (or the root for a Tick).
        cgroup: CgroupName,
        /// The algorithm.
        algo: &'static str,
        /// The broken rule.
        source: SafetyViolation,
    },
}

impl EngineError {
    /// Wraps a filesystem error of `cgroup`, turning [`CgroupFsError::Gone`]
    /// into [`EngineError::Gone`].
    pub fn fs(cgroup: &CgroupName, source: CgroupFsError) -> EngineError {
        if source.is_gone() {
            EngineError::Gone {
                cgroup: cgroup.clone(),
            }
        } else {
            EngineError::Fs {
                cgroup: cgroup.clone(),
                source,
            }
        }
    }

    /// True for [`EngineError::Gone`] and [`EngineError::NotManaged`]: the
    /// daemon drops the cgroup and carries on.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            EngineError::Gone { .. } | EngineError::NotManaged { .. }
        )
    }
}
