//! Open cgroup handles kept across decisions: a [`Cgroup`] keeps its
//! control files open and re-reads them with `pread`, so a decision costs
//! reads and writes only, no `open`.

use std::collections::BTreeMap;

use cgcal_core::cgroupfs::{Cgroup, CgroupFs};
use cgcal_core::name::CgroupName;

use super::EngineError;

/// The open handles, by cgroup name. A handle whose cgroup is gone is
/// dropped by [`Handles::forget`].
#[derive(Default)]
pub struct Handles {
    open: BTreeMap<CgroupName, Box<dyn Cgroup>>,
}

impl Handles {
    /// The handle on `name`, opened on first use.
    pub fn get(
        &mut self,
        fs: &dyn CgroupFs,
        name: &CgroupName,
    ) -> Result<&mut dyn Cgroup, EngineError> {
        if !self.open.contains_key(name) {
            let cg = fs.open(name).map_err(|e| EngineError::fs(name, e))?;
            self.open.insert(name.clone(), cg);
        }
        match self.open.get_mut(name) {
            Some(cg) => Ok(cg.as_mut()),
            None => Err(EngineError::Gone {
                cgroup: name.clone(),
            }),
        }
    }

    /// Closes the handle on `name` (its cgroup was removed).
    pub fn forget(&mut self, name: &CgroupName) {
        self.open.remove(name);
    }

    /// Closes every handle whose cgroup is not in `keep`.
    pub fn retain(&mut self, keep: impl Fn(&CgroupName) -> bool) {
        self.open.retain(|name, _| keep(name));
    }

    /// Runs `f` on the handle of `name`; a [`EngineError::Gone`] answer also
    /// closes the handle.
    pub fn with<T>(
        &mut self,
        fs: &dyn CgroupFs,
        name: &CgroupName,
        f: impl FnOnce(&mut dyn Cgroup) -> Result<T, cgcal_core::cgroupfs::CgroupFsError>,
    ) -> Result<T, EngineError> {
        let result = self
            .get(fs, name)
            .and_then(|cg| f(cg).map_err(|e| EngineError::fs(name, e)));
        if let Err(EngineError::Gone { .. }) = &result {
            self.forget(name);
        }
        result
    }
}
