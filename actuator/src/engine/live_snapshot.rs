//! Live snapshots.

use cgcal_core::cgroupfs::CgroupFs;
use cgcal_core::name::CgroupName;

use super::EngineError;

/// The managed cgroups: the leaves below the root, sorted by name.
pub fn managed(fs: &dyn CgroupFs) -> Result<Vec<CgroupName>, EngineError> {
    let root = fs.root().clone();
    let all = fs.list().map_err(|e| EngineError::fs(&root, e))?;
    Ok(all
        .iter()
        .filter(|n| **n != root)
        .filter(|n| !all.iter().any(|m| m != *n && m.is_within(n)))
        .cloned()
        .collect())
}
