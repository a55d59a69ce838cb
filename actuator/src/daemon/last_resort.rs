//! The last resort when the engine cannot start (a `--stats` file that does
//! not validate, an unwritable audit log): tasks found frozen under OOM
//! with `oom_kill_disable=1` (left by an instance killed mid-rescue) are
//! released to the kernel's OOM killer before cgact exits, so that a
//! restart loop over a broken configuration never keeps them frozen.

use cgcal_core::cgroupfs::{Cgroup, CgroupFs};
use cgcal_core::trace::CgroupVersion;

/// Handles on the cgroups below the root (v1) whose tasks are frozen:
/// `under_oom 1` with `oom_kill_disable 1`. Read-only; unreadable
/// cgroups are skipped.
pub fn frozen_cgroups(fs: &dyn CgroupFs) -> Vec<Box<dyn Cgroup>> {
    if fs.version() != CgroupVersion::V1 {
        return Vec::new();
    }
    let Ok(all) = fs.list() else {
        return Vec::new();
    };
    all.iter()
        .filter(|n| *n != fs.root())
        .filter_map(|n| fs.open(n).ok())
        .filter_map(|mut cg| {
            let s = cg.oom_state().ok()?;
            (s.under_oom == Some(true) && s.oom_kill_disable == Some(true)).then_some(cg)
        })
        .collect()
}

/// Writes `oom_kill_disable=0` on each (the waiting tasks retry and the OOM
/// killer runs); returns how many were released. Each is logged as an
/// error naming the cgroup.
pub fn release(frozen: Vec<Box<dyn Cgroup>>) -> usize {
    let mut released = 0;
    for mut cg in frozen {
        match cg.set_oom_kill_disable(false) {
            Ok(()) => {
                released += 1;
                tracing::error!(
                    cgroup = %cg.name(),
                    "cgact cannot start: frozen tasks released to the OOM killer (oom_kill_disable=0)"
                );
            }
            Err(e) if e.is_gone() => {}
            Err(e) => tracing::error!(cgroup = %cg.name(), "cannot release frozen tasks: {e}"),
        }
    }
    released
}
