//! Limit writes seen through inotify, so that a fast sweep reads one file
//! per cgroup (usage) instead of two.
//!
//! A cgroup's limit changes only when someone writes its limit file
//! (`memory.limit_in_bytes` in v1, `memory.max` in v2), and every
//! successful `write(2)` raises `IN_MODIFY` on the written file
//! (`vfs_write` → `fsnotify_modify`, kernfs files included; checked live on
//! v1). So a sweep first drains the inotify queue and re-reads the limit
//! of the cgroups whose limit file was written since the last sweep; the
//! others keep their last reading. Full sweeps (`--stat-interval`) re-read
//! every limit anyway, and a cgroup whose file could not be watched is read
//! every sweep, as is every cgroup after a queue overflow or a read error.
//! A write landing during a sweep shows at the next one: the sample's limit
//! is at most one interval late.

use std::collections::HashMap;
use std::path::Path;

use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

/// The limit file of a cgroup directory in `version` (`None`: no live
/// hierarchy).
pub fn limit_file(version: CgroupVersion) -> Option<&'static str> {
    match version {
        CgroupVersion::V1 => Some("memory.limit_in_bytes"),
        CgroupVersion::V2 => Some("memory.max"),
        CgroupVersion::Unknown => None,
    }
}

/// Which limits were written since the last [`LimitWatch::written`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// These cgroups' (possibly with repeats).
    These(Vec<CgroupName>),
    /// Unknown (queue overflow, read error): re-read every limit.
    All,
}

/// One inotify instance watching every tracked cgroup's limit file.
#[derive(Debug)]
pub struct LimitWatch {
    inotify: Option<Inotify>,
    names: HashMap<WatchDescriptor, CgroupName>,
    warned: bool,
}

impl LimitWatch {
    /// A non-blocking inotify instance; without one (the kernel refused),
    /// [`LimitWatch::watch`] watches nothing and every limit is read every
    /// sweep.
    pub fn new() -> LimitWatch {
        let inotify = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(
                    "no inotify for limit changes ({e}); reading every limit every sweep"
                );
                None
            }
        };
        LimitWatch {
            inotify,
            names: HashMap::new(),
            warned: false,
        }
    }

    /// Watches `file`, the limit file of `name`. `None` when it cannot (the
    /// caller then reads that limit every sweep); a missing file is not
    /// warned about (the v2 root has no `memory.max`).
    pub fn watch(&mut self, file: &Path, name: &CgroupName) -> Option<WatchDescriptor> {
        let inotify = self.inotify.as_ref()?;
        match inotify.add_watch(file, AddWatchFlags::IN_MODIFY) {
            Ok(wd) => {
                self.names.insert(wd, name.clone());
                Some(wd)
            }
            // No limit file (the v2 root): nothing to watch, nothing to read.
            Err(Errno::ENOENT) => None,
            Err(e) => {
                if !self.warned {
                    self.warned = true;
                    tracing::warn!(
                        "cannot watch {} ({e}); its limit and those of other unwatched cgroups are read every sweep",
                        file.display()
                    );
                }
                None
            }
        }
    }

    /// Stops watching (the cgroup is no longer tracked).
    pub fn unwatch(&mut self, wd: WatchDescriptor) {
        self.names.remove(&wd);
        if let Some(i) = &self.inotify {
            // EINVAL when the kernel already dropped it (cgroup removed).
            let _ = i.rm_watch(wd);
        }
    }

    /// Drains the queue: the cgroups whose limit file was written since the
    /// last call.
    pub fn written(&mut self) -> Written {
        let Some(inotify) = &self.inotify else {
            return Written::These(Vec::new());
        };
        let mut names = Vec::new();
        loop {
            match inotify.read_events() {
                Ok(events) => {
                    for ev in events {
                        if ev.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                            return Written::All;
                        }
                        if ev.mask.contains(AddWatchFlags::IN_IGNORED) {
                            self.names.remove(&ev.wd);
                        } else if let Some(name) = self.names.get(&ev.wd) {
                            names.push(name.clone());
                        }
                    }
                }
                Err(Errno::EAGAIN) => return Written::These(names),
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    tracing::warn!("reading limit changes: {e}; re-reading every limit");
                    return Written::All;
                }
            }
        }
    }
}

impl Default for LimitWatch {
    fn default() -> Self {
        LimitWatch::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn writes_name_their_cgroup_once_drained() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "1").unwrap();
        std::fs::write(&b, "1").unwrap();
        let mut w = LimitWatch::new();
        let wa = w.watch(&a, &name("/a")).expect("watch a");
        w.watch(&b, &name("/b")).expect("watch b");
        assert_eq!(w.written(), Written::These(vec![]));
        std::fs::write(&a, "2").unwrap();
        assert_eq!(w.written(), Written::These(vec![name("/a")]));
        assert_eq!(w.written(), Written::These(vec![]));
        w.unwatch(wa);
        std::fs::write(&a, "3").unwrap();
        std::fs::write(&b, "3").unwrap();
        assert_eq!(w.written(), Written::These(vec![name("/b")]));
    }

    /// A session on a v1 fixture tree: a limit written between two fast
    /// sweeps is in the second one's sample, with its `LimitChange` event;
    /// a removed cgroup's watch goes with it.
    #[test]
    fn a_written_limit_shows_at_the_next_fast_sweep() {
        use crate::record::clock::TraceClock;
        use crate::record::session::Session;
        use crate::record::trace_file::TraceFile;
        use crate::record::tracked_cgroup::SweepDepth;
        use cgcal_core::cgroupfs::fixture::FixtureTree;
        use cgcal_core::trace::{open_trace, read_all, EventKind, Header};
        use cgcal_core::watch::Watcher;

        const MIB: u64 = 1 << 20;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let tree = FixtureTree::new(&root, CgroupVersion::V1).unwrap();
        tree.add("a", MIB, Some(64 * MIB)).unwrap();
        tree.add("b", MIB, Some(64 * MIB)).unwrap();
        let clock = TraceClock::start();
        let header = Header {
            host: "h".into(),
            kernel: String::new(),
            cgroup_version: CgroupVersion::V1,
            root: CgroupName::root(),
            interval_ns: 1,
            host_memory: None,
            start_ns: clock.start_ns(),
            tool: "test".into(),
        };
        let path = dir.path().join("t.bin");
        let out = TraceFile::create(&path, &header).unwrap();
        let mut s = Session::start(tree.backend(), Watcher::new().unwrap(), out, clock).unwrap();
        s.sweep(s.clock().now_ns(), SweepDepth::Fast).unwrap();
        tree.write("a", "memory.limit_in_bytes", &(32 * MIB).to_string())
            .unwrap();
        s.sweep(s.clock().now_ns(), SweepDepth::Fast).unwrap();
        s.sweep(s.clock().now_ns(), SweepDepth::Fast).unwrap();
        s.finish().unwrap();

        let (_, defs, samples, events, _) = read_all(open_trace(&path).unwrap()).unwrap();
        let id = |n: &str| defs.iter().find(|d| d.name == name(n)).unwrap().id;
        let limits = |n: &str| -> Vec<Option<u64>> {
            samples
                .iter()
                .filter(|x| x.cgroup == id(n))
                .map(|x| x.limit)
                .collect()
        };
        let (l64, l32) = (Some(64 * MIB), Some(32 * MIB));
        assert_eq!(limits("/a"), [l64, l32, l32]);
        assert_eq!(limits("/b"), [l64, l64, l64]);
        let changes: Vec<(u32, EventKind)> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::LimitChange { .. }))
            .map(|e| (e.cgroup, e.kind))
            .collect();
        assert_eq!(
            changes,
            [(id("/a"), EventKind::LimitChange { old: l64, new: l32 })]
        );
    }

    #[test]
    fn a_missing_file_is_not_watched() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LimitWatch::new();
        assert_eq!(w.watch(&dir.path().join("none"), &name("/x")), None);
        assert_eq!(limit_file(CgroupVersion::V1), Some("memory.limit_in_bytes"));
        assert_eq!(limit_file(CgroupVersion::V2), Some("memory.max"));
        assert_eq!(limit_file(CgroupVersion::Unknown), None);
    }
}
