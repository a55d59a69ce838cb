//! The policy's [`Snapshot`] read from the live tree: which cgroups are
//! managed, their limits and usages read now, their Phase 1 figures, and
//! the global cgroup.
//!
//! * **Managed** cgroups are the leaves below the root (a cgroup without a
//!   child cgroup), sorted by name: the same rule `cgsim replay` applies
//!   to the cgroups of a trace, so one policy sees the same set in both.
//!   Interior cgroups are never donors or targets; they are only raised as
//!   ancestors of a target (see [`super::apply`]).
//! * **Global**: the root's limit (none on the v2 hierarchy root, and v1
//!   reports 2^62 or more as unlimited), else the host's `MemTotal`; its
//!   usage (on the v2 hierarchy root, which has no `memory.current`: the
//!   sum of the usage of the root's children).
//! * A cgroup without Phase 1 figures in `--stats` is managed with floor 0
//!   and is never a donor (a policy cannot tell it is below its median).

use std::collections::BTreeMap;
use std::time::SystemTime;

use cgcal_core::cgroupfs::{CgroupFs, CgroupFsError};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::{CgroupView, GlobalView, Snapshot};
use cgcal_core::stats::StatsFile;

use super::handles::Handles;
use super::original_limits::OriginalLimits;
use super::EngineError;

/// The shape of the tree below the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// The managed cgroups (leaves below the root), sorted by name.
    pub managed: Vec<CgroupName>,
    /// The root's direct children (their usages sum to the root's where the
    /// root has no usage file).
    pub top_level: Vec<CgroupName>,
}

impl Tree {
    /// Lists the tree now.
    pub fn read(fs: &dyn CgroupFs) -> Result<Tree, EngineError> {
        let root = fs.root().clone();
        let all = fs.list().map_err(|e| EngineError::fs(&root, e))?;
        Ok(Tree::of(&root, &all))
    }

    /// The tree of `all` (sorted by name, as [`CgroupFs::list`] returns it).
    pub fn of(root: &CgroupName, all: &[CgroupName]) -> Tree {
        let below: Vec<&CgroupName> = all
            .iter()
            .filter(|n| *n != root && n.is_within(root))
            .collect();
        // Sorted by name, a cgroup's descendants follow it directly.
        let managed = below
            .iter()
            .enumerate()
            .filter(|(i, n)| !below.get(i + 1).is_some_and(|next| next.is_within(n)))
            .map(|(_, n)| (*n).clone())
            .collect();
        let top_level = below
            .iter()
            .filter(|n| n.parent().as_ref() == Some(root))
            .map(|n| (*n).clone())
            .collect();
        Tree { managed, top_level }
    }

    /// True when `name` is managed.
    pub fn is_managed(&self, name: &CgroupName) -> bool {
        self.managed.binary_search(name).is_ok()
    }
}

/// Host memory (`MemTotal` of `/proc/meminfo`), `None` if unreadable.
pub fn host_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_total(&text)
}

/// `MemTotal` in bytes from the text of `/proc/meminfo`.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Nanoseconds since the Unix epoch now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// What a snapshot read needs besides the handles.
pub struct SnapshotSource<'a> {
    /// The hierarchy.
    pub fs: &'a dyn CgroupFs,
    /// The tree's shape.
    pub tree: &'a Tree,
    /// Phase 1 figures.
    pub stats: &'a StatsFile,
    /// `MemTotal`.
    pub host_memory: Option<u64>,
}

/// Reads the snapshot now. A managed cgroup that vanished, or whose files
/// cannot be read, is left out with a warning (the caller checks that its
/// target is present); the root must be readable.
pub fn read_snapshot(
    src: &SnapshotSource<'_>,
    handles: &mut Handles,
    originals: &mut OriginalLimits,
) -> Result<Snapshot, EngineError> {
    let mut cgroups = Vec::with_capacity(src.tree.managed.len());
    for name in &src.tree.managed {
        match handles.with(src.fs, name, |cg| Ok((cg.limit()?, cg.usage()?))) {
            Ok((limit, usage)) => {
                let original_limit = originals.see(name, limit);
                cgroups.push(CgroupView {
                    name: name.clone(),
                    limit,
                    usage,
                    phase1: src.stats.get(name).cloned(),
                    original_limit,
                });
            }
            Err(EngineError::Gone { .. }) => {}
            Err(e) => tracing::warn!(cgroup = %name, error = %e, "left out of the snapshot"),
        }
    }
    let global = read_global(src, handles)?;
    Ok(Snapshot {
        time_ns: now_ns(),
        cgroups,
        global,
    })
}

fn read_global(src: &SnapshotSource<'_>, handles: &mut Handles) -> Result<GlobalView, EngineError> {
    let root = src.fs.root().clone();
    let limit = match handles.with(src.fs, &root, |cg| cg.limit()) {
        Ok(l) => l,
        Err(EngineError::Fs {
            source: CgroupFsError::Unsupported { .. },
            ..
        }) => None,
        Err(e) => return Err(e),
    };
    let usage = match handles.with(src.fs, &root, |cg| cg.usage()) {
        Ok(u) => u,
        Err(EngineError::Fs {
            source: CgroupFsError::Unsupported { .. },
            ..
        }) => {
            let mut sum = 0u64;
            for child in &src.tree.top_level {
                if let Ok(u) = handles.with(src.fs, child, |cg| cg.usage()) {
                    sum = sum.saturating_add(u);
                }
            }
            sum
        }
        Err(e) => return Err(e),
    };
    Ok(GlobalView {
        name: root,
        limit,
        usage,
        host_memory: src.host_memory,
    })
}

/// The limits of `names` read now (missing: gone or unreadable).
pub fn read_limits(
    fs: &dyn CgroupFs,
    handles: &mut Handles,
    names: &[CgroupName],
) -> BTreeMap<CgroupName, Option<u64>> {
    names
        .iter()
        .filter_map(|n| Some((n.clone(), handles.with(fs, n, |cg| cg.limit()).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn leaves_below_the_root_are_managed() {
        let all = [
            n("/r"),
            n("/r/a"),
            n("/r/a/x"),
            n("/r/a/y"),
            n("/r/ab"),
            n("/r/b"),
        ];
        let tree = Tree::of(&n("/r"), &all);
        assert_eq!(
            tree.managed,
            vec![n("/r/a/x"), n("/r/a/y"), n("/r/ab"), n("/r/b")]
        );
        assert_eq!(tree.top_level, vec![n("/r/a"), n("/r/ab"), n("/r/b")]);
        assert!(tree.is_managed(&n("/r/ab")) && !tree.is_managed(&n("/r/a")));
        assert_eq!(Tree::of(&n("/r"), &[n("/r")]), Tree::default());
    }

    #[test]
    fn mem_total_in_bytes() {
        let text = "MemTotal:        8024700 kB\nMemFree:  1 kB\n";
        assert_eq!(parse_mem_total(text), Some(8_024_700 * 1024));
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_mem_total("MemTotal: x kB\n"), None);
    }
}
