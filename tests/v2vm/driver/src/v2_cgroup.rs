//! Reading and writing the cgroup v2 files of the scenarios' cgroups, each
//! error naming the file; the parent guard on the VM's cgroup2 mount.

use std::fs;
use std::path::{Path, PathBuf};

use cgcal_core::cgroupfs::parse::{
    format_v2_limit, parse_memory_events, parse_u64, parse_v2_limit, MemoryEvents,
};
use cgcal_testkit::LiveParent;

use crate::CGROUP2_MOUNT;

/// One MiB.
pub const MIB: u64 = 1 << 20;

/// A `cgcal-test-*` parent on the VM's cgroup2 mount with the memory
/// controller enabled for its children.
pub fn parent(tag: &str) -> Result<LiveParent, String> {
    LiveParent::new_v2(Path::new(CGROUP2_MOUNT), tag)
        .ok_or_else(|| format!("no usable cgroup v2 memory hierarchy at {CGROUP2_MOUNT}"))
}

/// Creates the sub-cgroup `rel` of `parent` with `memory.max` = `max`
/// (`None`: no limit) and returns its directory.
pub fn child(parent: &LiveParent, rel: &str, max: Option<u64>) -> Result<PathBuf, String> {
    let dir = parent.child(rel);
    set_limit(&dir, "memory.max", max)?;
    Ok(dir)
}

/// Writes `+memory` to `dir`'s `cgroup.subtree_control`, so that its
/// children get memory files (and `dir` can no longer hold tasks).
pub fn enable_memory_below(dir: &Path) -> Result<(), String> {
    write(dir, "cgroup.subtree_control", "+memory")
}

/// Writes `value` to `dir/file`.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    let path = dir.join(file);
    fs::write(&path, value).map_err(|e| format!("write {value:?} to {}: {e}", path.display()))
}

/// Writes a limit (`memory.max`, `memory.high`) in the kernel's syntax.
pub fn set_limit(dir: &Path, file: &str, bytes: Option<u64>) -> Result<(), String> {
    write(dir, file, &format_v2_limit(bytes))
}

fn read(dir: &Path, file: &str) -> Result<String, String> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))
}

/// A limit file (`memory.max`, `memory.high`): `None` for `max`.
pub fn limit(dir: &Path, file: &str) -> Result<Option<u64>, String> {
    let text = read(dir, file)?;
    parse_v2_limit(&text).map_err(|e| format!("{}: {e}", dir.join(file).display()))
}

/// `memory.current`.
pub fn current(dir: &Path) -> Result<u64, String> {
    let text = read(dir, "memory.current")?;
    parse_u64(&text).map_err(|e| format!("{}: {e}", dir.join("memory.current").display()))
}

/// `memory.events` (`local: false`, hierarchical) or `memory.events.local`.
pub fn events(dir: &Path, local: bool) -> Result<MemoryEvents, String> {
    let file = if local {
        "memory.events.local"
    } else {
        "memory.events"
    };
    let text = read(dir, file)?;
    parse_memory_events(&text).map_err(|e| format!("{}: {e}", dir.join(file).display()))
}
