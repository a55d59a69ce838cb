//! Test fixtures: a v1 or v2 cgroup tree laid out in an ordinary directory
//! with the files and realistic contents a real host shows, for the real
//! backends' `on_plain_dir_for_tests` constructors.
//!
//! ```
//! use cgcal_core::cgroupfs::{fixture::FixtureTree, Cgroup, CgroupFs};
//! use cgcal_core::trace::CgroupVersion;
//! let dir = tempfile::tempdir().unwrap();
//! let tree = FixtureTree::new(dir.path(), CgroupVersion::V2).unwrap();
//! tree.add("apps/web", 64 << 20, Some(128 << 20)).unwrap();
//! let fs = tree.backend();
//! let web = cgcal_core::name::CgroupName::parse("/apps/web").unwrap();
//! assert_eq!(fs.open(&web).unwrap().usage().unwrap(), 64 << 20);
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{CgroupFs, V1Fs, V2Fs};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

/// What v1 shows for an unlimited `memory.limit_in_bytes`.
pub const V1_UNLIMITED_TEXT: &str = "9223372036854771712";

/// A cgroup tree in an ordinary directory (its root is the hierarchy root `/`).
#[derive(Debug, Clone)]
pub struct FixtureTree {
    root: PathBuf,
    version: CgroupVersion,
}

impl FixtureTree {
    /// Lays out the root cgroup of a `version` hierarchy in `dir` (which must
    /// exist): v1 root with usage 0 and no limit; v2 root with
    /// `cgroup.controllers`, `memory.stat`, `memory.pressure` and no
    /// `memory.current`/`memory.max`, as the kernel does.
    pub fn new(dir: &Path, version: CgroupVersion) -> io::Result<Self> {
        let t = FixtureTree {
            root: dir.to_path_buf(),
            version,
        };
        match version {
            CgroupVersion::V1 => t.write_v1_files(dir, 0, None)?,
            _ => {
                fs::write(
                    dir.join("cgroup.controllers"),
                    "cpuset cpu io memory hugetlb pids rdma misc\n",
                )?;
                fs::write(dir.join("cgroup.subtree_control"), "cpu io memory pids\n")?;
                fs::write(dir.join("cgroup.procs"), "1\n")?;
                fs::write(dir.join("memory.stat"), v2_stat(0))?;
                fs::write(dir.join("memory.pressure"), PRESSURE_IDLE)?;
            }
        }
        Ok(t)
    }

    /// The root directory.
    pub fn root_dir(&self) -> &Path {
        &self.root
    }

    /// The directory of the cgroup at `rel` (`"a/b"`; `""` is the root).
    pub fn dir(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// Adds the cgroup at `rel` (`"a/b"`, parents created as needed without
    /// files) with `usage` bytes and a hard `limit` (`None`: unlimited).
    pub fn add(&self, rel: &str, usage: u64, limit: Option<u64>) -> io::Result<PathBuf> {
        let dir = self.dir(rel);
        fs::create_dir_all(&dir)?;
        match self.version {
            CgroupVersion::V1 => self.write_v1_files(&dir, usage, limit)?,
            _ => write_v2_files(&dir, usage, limit)?,
        }
        Ok(dir)
    }

    /// Replaces the content of one file of the cgroup at `rel` (truncate and
    /// write, which inotify reports as IN_MODIFY).
    pub fn write(&self, rel: &str, file: &str, content: &str) -> io::Result<()> {
        fs::write(self.dir(rel).join(file), content)
    }

    /// Sets the usage of the cgroup at `rel` (usage file and `memory.stat`).
    pub fn set_usage(&self, rel: &str, usage: u64) -> io::Result<()> {
        match self.version {
            CgroupVersion::V1 => {
                self.write(rel, "memory.usage_in_bytes", &format!("{usage}\n"))?;
                self.write(rel, "memory.stat", &v1_stat(usage, None))
            }
            _ => {
                self.write(rel, "memory.current", &format!("{usage}\n"))?;
                self.write(rel, "memory.stat", &v2_stat(usage))
            }
        }
    }

    /// The real backend of this fixture's version on the directory, root `/`.
    pub fn backend(&self) -> Box<dyn CgroupFs> {
        match self.version {
            CgroupVersion::V1 => {
                Box::new(V1Fs::on_plain_dir_for_tests(&self.root, CgroupName::root()))
            }
            _ => Box::new(V2Fs::on_plain_dir_for_tests(&self.root, CgroupName::root())),
        }
    }

    fn write_v1_files(&self, dir: &Path, usage: u64, limit: Option<u64>) -> io::Result<()> {
        let limit_text = limit.map_or(V1_UNLIMITED_TEXT.to_string(), |l| l.to_string());
        let files: [(&str, String); 14] = [
            ("cgroup.procs", String::new()),
            ("tasks", String::new()),
            ("cgroup.event_control", String::new()),
            ("memory.usage_in_bytes", format!("{usage}\n")),
            ("memory.limit_in_bytes", format!("{limit_text}\n")),
            ("memory.max_usage_in_bytes", format!("{usage}\n")),
            ("memory.failcnt", "0\n".to_string()),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n".to_string(),
            ),
            ("memory.stat", v1_stat(usage, limit)),
            ("memory.memsw.usage_in_bytes", format!("{usage}\n")),
            (
                "memory.memsw.limit_in_bytes",
                format!("{V1_UNLIMITED_TEXT}\n"),
            ),
            (
                "memory.soft_limit_in_bytes",
                format!("{V1_UNLIMITED_TEXT}\n"),
            ),
            ("memory.swappiness", "60\n".to_string()),
            ("memory.use_hierarchy", "1\n".to_string()),
        ];
        for (name, content) in files {
            fs::write(dir.join(name), content)?;
        }
        Ok(())
    }
}

const PRESSURE_IDLE: &str = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n\
full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";

fn write_v2_files(dir: &Path, usage: u64, limit: Option<u64>) -> io::Result<()> {
    let max = limit.map_or("max".to_string(), |l| l.to_string());
    let files: [(&str, String); 16] = [
        ("cgroup.controllers", "cpu io memory pids\n".to_string()),
        ("cgroup.subtree_control", String::new()),
        ("cgroup.procs", String::new()),
        ("cgroup.events", "populated 0\nfrozen 0\n".to_string()),
        ("memory.current", format!("{usage}\n")),
        ("memory.min", "0\n".to_string()),
        ("memory.low", "0\n".to_string()),
        ("memory.high", "max\n".to_string()),
        ("memory.max", format!("{max}\n")),
        ("memory.peak", format!("{usage}\n")),
        (
            "memory.events",
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n".to_string(),
        ),
        (
            "memory.events.local",
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n".to_string(),
        ),
        ("memory.stat", v2_stat(usage)),
        ("memory.pressure", PRESSURE_IDLE.to_string()),
        ("memory.swap.current", "0\n".to_string()),
        ("memory.swap.max", "max\n".to_string()),
    ];
    for (name, content) in files {
        fs::write(dir.join(name), content)?;
    }
    Ok(())
}

/// A v1 `memory.stat` of a cgroup using `usage` bytes: three quarters
/// anonymous, a quarter page cache of which half inactive.
pub fn v1_stat(usage: u64, limit: Option<u64>) -> String {
    let page = |v: u64| v / 4096 * 4096;
    let rss = page(usage / 4 * 3);
    let cache = page(usage - rss);
    let inactive_file = page(cache / 2);
    let active_file = cache - inactive_file;
    let limit = limit.map_or(V1_UNLIMITED_TEXT.to_string(), |l| l.to_string());
    let own = [
        ("cache", cache),
        ("rss", rss),
        ("rss_huge", 0),
        ("shmem", 0),
        ("mapped_file", page(cache / 4)),
        ("dirty", 0),
        ("writeback", 0),
        ("workingset_refault_anon", 0),
        ("workingset_refault_file", 0),
        ("swap", 0),
        ("swapcached", 0),
        ("pgpgin", usage / 4096 + 100),
        ("pgpgout", 100),
        ("pgfault", usage / 4096 + 500),
        ("pgmajfault", 0),
        ("inactive_anon", rss),
        ("active_anon", 0),
        ("inactive_file", inactive_file),
        ("active_file", active_file),
        ("unevictable", 0),
    ];
    let mut s = String::new();
    for (k, v) in own {
        s.push_str(&format!("{k} {v}\n"));
    }
    s.push_str(&format!("hierarchical_memory_limit {limit}\n"));
    s.push_str(&format!("hierarchical_memsw_limit {V1_UNLIMITED_TEXT}\n"));
    for (k, v) in own {
        s.push_str(&format!("total_{k} {v}\n"));
    }
    s
}

/// A v2 `memory.stat` (kernel 6.x keys, in the kernel's order) of a cgroup
/// using `usage` bytes: three quarters anonymous, a quarter file of which
/// half inactive.
pub fn v2_stat(usage: u64) -> String {
    let page = |v: u64| v / 4096 * 4096;
    let anon = page(usage / 4 * 3);
    let file = page(usage - anon);
    let inactive_file = page(file / 2);
    let entries: [(&str, u64); 56] = [
        ("anon", anon),
        ("file", file),
        ("kernel", page(usage / 64)),
        ("kernel_stack", 16384),
        ("pagetables", 65536),
        ("sec_pagetables", 0),
        ("percpu", 480),
        ("sock", 0),
        ("vmalloc", 0),
        ("shmem", 0),
        ("zswap", 0),
        ("zswapped", 0),
        ("file_mapped", page(file / 4)),
        ("file_dirty", 0),
        ("file_writeback", 0),
        ("swapcached", 0),
        ("anon_thp", 0),
        ("file_thp", 0),
        ("shmem_thp", 0),
        ("inactive_anon", anon),
        ("active_anon", 0),
        ("inactive_file", inactive_file),
        ("active_file", file - inactive_file),
        ("unevictable", 0),
        ("slab_reclaimable", 8192),
        ("slab_unreclaimable", 24576),
        ("slab", 32768),
        ("workingset_refault_anon", 0),
        ("workingset_refault_file", 0),
        ("workingset_activate_anon", 0),
        ("workingset_activate_file", 0),
        ("workingset_restore_anon", 0),
        ("workingset_restore_file", 0),
        ("workingset_nodereclaim", 0),
        ("pgdemote_kswapd", 0),
        ("pgdemote_direct", 0),
        ("pgdemote_khugepaged", 0),
        ("pgscan", 0),
        ("pgsteal", 0),
        ("pgscan_kswapd", 0),
        ("pgscan_direct", 0),
        ("pgscan_khugepaged", 0),
        ("pgsteal_kswapd", 0),
        ("pgsteal_direct", 0),
        ("pgsteal_khugepaged", 0),
        ("pgfault", usage / 4096 + 500),
        ("pgmajfault", 0),
        ("pgrefill", 0),
        ("pgactivate", 0),
        ("pgdeactivate", 0),
        ("pglazyfree", 0),
        ("pglazyfreed", 0),
        ("zswpin", 0),
        ("zswpout", 0),
        ("thp_fault_alloc", 0),
        ("thp_collapse_alloc", 0),
    ];
    entries.iter().map(|(k, v)| format!("{k} {v}\n")).collect()
}
