//! An in-memory hierarchy with modelled kernel semantics, for unit tests of
//! the actuator and the policy applier.
//!
//! Modelled: page rounding of limits; v1 `set_limit` below usage reclaims
//! the inactive file pages and answers [`CgroupFsError::Busy`] (old limit
//! kept) when that is not enough; v2 `set_limit` below usage reclaims, then
//! OOM-kills (`oom`, `oom_kill`, `max` events + 1) and drops usage to the
//! limit; v1 OOM eventfds (real eventfds) signalled by
//! [`MemoryFs::trigger_oom`] and on removal; usage threshold eventfds;
//! `oom_kill_disable` with `under_oom`, cleared by a limit above usage or by
//! re-enabling the killer (which then kills). Not modelled: v2
//! `events_file` and `psi_trigger` ([`CgroupFsError::Unsupported`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use nix::sys::eventfd::{EfdFlags, EventFd};

use super::error::CgroupFsError;
use super::readings::{MemoryStat, OomState};
use super::{Cgroup, CgroupFs};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

/// Page size the fake rounds limits down to.
pub const FAKE_PAGE_SIZE: u64 = 4096;

/// The modelled state of one fake cgroup; read it with [`MemoryFs::state`],
/// change it with [`MemoryFs::update`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FakeCgroupState {
    /// Usage in bytes.
    pub usage: u64,
    /// Hard limit, `None` for unlimited.
    pub limit: Option<u64>,
    /// v2 `memory.high`, `None` for `max`.
    pub high: Option<u64>,
    /// High-water mark of `usage`.
    pub peak: u64,
    /// v1 failcnt / v2 `max` events.
    pub failcnt: u64,
    /// v2 `oom` events.
    pub oom: u64,
    /// OOM kills of this cgroup's tasks.
    pub oom_kill: u64,
    /// v1 `under_oom`.
    pub under_oom: bool,
    /// v1 `oom_kill_disable`.
    pub oom_kill_disable: bool,
    /// v2 `high` events.
    pub high_events: u64,
    /// Inactive file bytes (reclaimable), part of `usage`.
    pub inactive_file: u64,
    /// Pids in `cgroup.procs`.
    pub procs: Vec<u32>,
}

/// A write made through a fake cgroup handle, recorded in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeWrite {
    /// `set_limit`; `accepted` is false when it answered an error.
    Limit {
        /// The cgroup written.
        cgroup: CgroupName,
        /// The value asked for.
        value: Option<u64>,
        /// Whether the write succeeded.
        accepted: bool,
    },
    /// `set_high`.
    High {
        /// The cgroup written.
        cgroup: CgroupName,
        /// The value asked for.
        value: Option<u64>,
    },
    /// `set_oom_kill_disable`.
    OomKillDisable {
        /// The cgroup written.
        cgroup: CgroupName,
        /// The value written.
        disable: bool,
    },
}

struct Node {
    state: FakeCgroupState,
    oom_listeners: Vec<File>,
    thresholds: Vec<(u64, File)>,
}

struct State {
    nodes: BTreeMap<CgroupName, Node>,
    writes: Vec<FakeWrite>,
}

/// The in-memory hierarchy. Clones share the same state.
#[derive(Clone)]
pub struct MemoryFs {
    version: CgroupVersion,
    root: CgroupName,
    state: Arc<Mutex<State>>,
}

fn signal(f: &File) {
    // An eventfd write of 1; a full counter (never in tests) is ignored.
    let _ = (&*f).write(&1u64.to_ne_bytes());
}

fn round_page(v: Option<u64>) -> Option<u64> {
    v.map(|b| b / FAKE_PAGE_SIZE * FAKE_PAGE_SIZE)
}

impl MemoryFs {
    /// A hierarchy of `version` holding only its root cgroup `root` (usage 0,
    /// unlimited).
    pub fn new(version: CgroupVersion, root: CgroupName) -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(root.clone(), Node::new(FakeCgroupState::default()));
        MemoryFs {
            version,
            root,
            state: Arc::new(Mutex::new(State {
                nodes,
                writes: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not cascade.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or replaces the state of) a cgroup with `usage` and `limit`;
    /// missing ancestors up to the root are created empty.
    pub fn insert(
        &self,
        name: &CgroupName,
        usage: u64,
        limit: Option<u64>,
    ) -> Result<(), CgroupFsError> {
        self.check_within(name)?;
        let mut st = self.lock();
        let mut anc = name.parent();
        while let Some(a) = anc {
            if !a.is_within(&self.root) {
                break;
            }
            st.nodes
                .entry(a.clone())
                .or_insert_with(|| Node::new(FakeCgroupState::default()));
            anc = a.parent();
        }
        let node = st
            .nodes
            .entry(name.clone())
            .or_insert_with(|| Node::new(FakeCgroupState::default()));
        node.state.usage = usage;
        node.state.peak = node.state.peak.max(usage);
        node.state.limit = round_page(limit);
        Ok(())
    }

    /// Sets a cgroup's usage as its tasks would (no limit enforcement; see
    /// [`MemoryFs::trigger_oom`]); updates the peak and fires threshold
    /// eventfds crossed. [`CgroupFsError::Gone`] if it does not exist.
    pub fn set_usage(&self, name: &CgroupName, usage: u64) -> Result<(), CgroupFsError> {
        self.update(name, |_| {})?;
        let mut st = self.lock();
        let node = st.nodes.get_mut(name).ok_or_else(|| gone(name))?;
        let old = node.state.usage;
        node.state.usage = usage;
        node.state.peak = node.state.peak.max(usage);
        for (t, f) in &node.thresholds {
            if (old < *t) != (usage < *t) {
                signal(f);
            }
        }
        Ok(())
    }

    /// Changes a cgroup's state directly.
    pub fn update(
        &self,
        name: &CgroupName,
        f: impl FnOnce(&mut FakeCgroupState),
    ) -> Result<(), CgroupFsError> {
        let mut st = self.lock();
        let node = st.nodes.get_mut(name).ok_or_else(|| gone(name))?;
        f(&mut node.state);
        Ok(())
    }

    /// A copy of a cgroup's state, `None` if it does not exist.
    pub fn state(&self, name: &CgroupName) -> Option<FakeCgroupState> {
        self.lock().nodes.get(name).map(|n| n.state.clone())
    }

    /// Every write made through handles so far, in order.
    pub fn writes(&self) -> Vec<FakeWrite> {
        self.lock().writes.clone()
    }

    /// Models a charge of this cgroup failing at its limit: v1 failcnt + 1,
    /// then `under_oom` if `oom_kill_disable` is set, else an OOM kill; the
    /// OOM eventfds of the cgroup and of its descendants are signalled.
    /// v2: `max`, `oom` and `oom_kill` + 1.
    pub fn trigger_oom(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        let version = self.version;
        let mut st = self.lock();
        let node = st.nodes.get_mut(name).ok_or_else(|| gone(name))?;
        let s = &mut node.state;
        s.failcnt += 1;
        match version {
            CgroupVersion::V1 => {
                if s.oom_kill_disable {
                    s.under_oom = true;
                } else {
                    s.oom_kill += 1;
                }
                for (n, node) in st.nodes.iter() {
                    if n.is_within(name) {
                        node.oom_listeners.iter().for_each(signal);
                    }
                }
            }
            _ => {
                s.oom += 1;
                s.oom_kill += 1;
            }
        }
        Ok(())
    }

    fn check_within(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        if name.is_within(&self.root) {
            Ok(())
        } else {
            Err(CgroupFsError::OutsideRoot {
                name: name.clone(),
                root: self.root.clone(),
            })
        }
    }

    fn unsupported(&self, name: &CgroupName, what: &'static str) -> CgroupFsError {
        CgroupFsError::Unsupported {
            cgroup: name.clone(),
            what,
            version: self.version,
        }
    }
}

impl Node {
    fn new(state: FakeCgroupState) -> Self {
        Node {
            state,
            oom_listeners: Vec::new(),
            thresholds: Vec::new(),
        }
    }
}

fn gone(name: &CgroupName) -> CgroupFsError {
    CgroupFsError::Gone {
        cgroup: name.clone(),
    }
}

impl CgroupFs for MemoryFs {
    fn version(&self) -> CgroupVersion {
        self.version
    }

    fn root(&self) -> &CgroupName {
        &self.root
    }

    fn list(&self) -> Result<Vec<CgroupName>, CgroupFsError> {
        Ok(self.lock().nodes.keys().cloned().collect())
    }

    fn open(&self, name: &CgroupName) -> Result<Box<dyn Cgroup>, CgroupFsError> {
        self.check_within(name)?;
        if !self.lock().nodes.contains_key(name) {
            return Err(gone(name));
        }
        Ok(Box::new(MemoryCgroup {
            fs: self.clone(),
            name: name.clone(),
        }))
    }

    fn exists(&self, name: &CgroupName) -> bool {
        self.lock().nodes.contains_key(name)
    }

    fn create(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        self.check_within(name)?;
        let mut st = self.lock();
        if st.nodes.contains_key(name) {
            return Err(CgroupFsError::AlreadyExists {
                cgroup: name.clone(),
            });
        }
        let parent = name.parent().unwrap_or_else(CgroupName::root);
        if !st.nodes.contains_key(&parent) {
            return Err(gone(&parent));
        }
        st.nodes
            .insert(name.clone(), Node::new(FakeCgroupState::default()));
        Ok(())
    }

    fn remove(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        self.check_within(name)?;
        let mut st = self.lock();
        let node = st.nodes.get(name).ok_or_else(|| gone(name))?;
        let has_children = st.nodes.keys().any(|n| n != name && n.is_within(name));
        if has_children || !node.state.procs.is_empty() {
            return Err(CgroupFsError::Busy {
                cgroup: name.clone(),
                path: PathBuf::from(name.as_str()),
            });
        }
        if let Some(node) = st.nodes.remove(name) {
            // v1: removal signals every registered eventfd once.
            node.oom_listeners.iter().for_each(signal);
            node.thresholds.iter().for_each(|(_, f)| signal(f));
        }
        Ok(())
    }

    fn dir_of(&self, name: &CgroupName) -> Result<PathBuf, CgroupFsError> {
        Err(self.unsupported(name, "a directory (in-memory backend)"))
    }
}

/// A handle on a cgroup of a [`MemoryFs`].
struct MemoryCgroup {
    fs: MemoryFs,
    name: CgroupName,
}

impl MemoryCgroup {
    fn read<T>(&self, f: impl FnOnce(&FakeCgroupState) -> T) -> Result<T, CgroupFsError> {
        let st = self.fs.lock();
        let node = st.nodes.get(&self.name).ok_or_else(|| gone(&self.name))?;
        Ok(f(&node.state))
    }

    fn only(&self, version: CgroupVersion, what: &'static str) -> Result<(), CgroupFsError> {
        if self.fs.version == version {
            Ok(())
        } else {
            Err(self.fs.unsupported(&self.name, what))
        }
    }

    fn new_eventfd(&self) -> Result<(OwnedFd, File), CgroupFsError> {
        let io = |e: nix::Error| CgroupFsError::Io {
            path: PathBuf::from("eventfd"),
            source: e.into(),
        };
        let efd =
            EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).map_err(io)?;
        let fd = OwnedFd::from(efd);
        let kept = fd.try_clone().map_err(|e| CgroupFsError::Io {
            path: PathBuf::from("eventfd"),
            source: e,
        })?;
        Ok((fd, File::from(kept)))
    }
}

impl Cgroup for MemoryCgroup {
    fn name(&self) -> &CgroupName {
        &self.name
    }

    fn usage(&mut self) -> Result<u64, CgroupFsError> {
        self.read(|s| s.usage)
    }

    fn limit(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.read(|s| s.limit)
    }

    fn peak(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.read(|s| Some(s.peak))
    }

    fn failcnt(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.read(|s| Some(s.failcnt))
    }

    fn oom_state(&mut self) -> Result<OomState, CgroupFsError> {
        let v1 = self.fs.version == CgroupVersion::V1;
        self.read(|s| OomState {
            oom: (!v1).then_some(s.oom),
            oom_kill: s.oom_kill,
            under_oom: v1.then_some(s.under_oom),
            oom_kill_disable: v1.then_some(s.oom_kill_disable),
            max_events: (!v1).then_some(s.failcnt),
            high_events: (!v1).then_some(s.high_events),
        })
    }

    fn stat(&mut self) -> Result<MemoryStat, CgroupFsError> {
        let version = self.fs.version;
        self.read(|s| {
            let anon = s.usage.saturating_sub(s.inactive_file);
            let entries = match version {
                CgroupVersion::V1 => vec![
                    ("rss".to_string(), anon),
                    ("inactive_file".to_string(), s.inactive_file),
                    ("total_rss".to_string(), anon),
                    ("total_inactive_file".to_string(), s.inactive_file),
                ],
                _ => vec![
                    ("anon".to_string(), anon),
                    ("file".to_string(), s.inactive_file),
                    ("inactive_file".to_string(), s.inactive_file),
                ],
            };
            MemoryStat::from_entries(version, entries)
        })
    }

    fn inactive_file(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.read(|s| Some(s.inactive_file))
    }

    fn set_limit(&mut self, limit: Option<u64>) -> Result<(), CgroupFsError> {
        let version = self.fs.version;
        let mut st = self.fs.lock();
        let node = st
            .nodes
            .get_mut(&self.name)
            .ok_or_else(|| gone(&self.name))?;
        let s = &mut node.state;
        let new = round_page(limit);
        let mut accepted = true;
        if let Some(l) = new.filter(|l| *l < s.usage) {
            // Reclaim the inactive file pages first.
            let reclaimable = s.inactive_file.min(s.usage - l);
            s.usage -= reclaimable;
            s.inactive_file -= reclaimable;
            if s.usage > l {
                match version {
                    CgroupVersion::V1 => accepted = false,
                    _ => {
                        s.failcnt += 1;
                        s.oom += 1;
                        s.oom_kill += 1;
                        s.usage = l;
                    }
                }
            }
        }
        if accepted {
            s.limit = new;
            if s.under_oom && new.is_none_or(|l| l > s.usage) {
                s.under_oom = false;
            }
        }
        st.writes.push(FakeWrite::Limit {
            cgroup: self.name.clone(),
            value: limit,
            accepted,
        });
        if accepted {
            Ok(())
        } else {
            Err(CgroupFsError::Busy {
                cgroup: self.name.clone(),
                path: PathBuf::from(self.name.as_str()).join("memory.limit_in_bytes"),
            })
        }
    }

    fn set_oom_kill_disable(&mut self, disable: bool) -> Result<(), CgroupFsError> {
        self.only(CgroupVersion::V1, "oom_kill_disable")?;
        let mut st = self.fs.lock();
        let node = st
            .nodes
            .get_mut(&self.name)
            .ok_or_else(|| gone(&self.name))?;
        let s = &mut node.state;
        s.oom_kill_disable = disable;
        if !disable && s.under_oom {
            // The woken waiters retry and go to the OOM killer.
            s.under_oom = false;
            s.oom_kill += 1;
        }
        st.writes.push(FakeWrite::OomKillDisable {
            cgroup: self.name.clone(),
            disable,
        });
        Ok(())
    }

    fn high(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.only(CgroupVersion::V2, "memory.high")?;
        self.read(|s| s.high)
    }

    fn set_high(&mut self, high: Option<u64>) -> Result<(), CgroupFsError> {
        self.only(CgroupVersion::V2, "memory.high")?;
        let mut st = self.fs.lock();
        let node = st
            .nodes
            .get_mut(&self.name)
            .ok_or_else(|| gone(&self.name))?;
        node.state.high = round_page(high);
        st.writes.push(FakeWrite::High {
            cgroup: self.name.clone(),
            value: high,
        });
        Ok(())
    }

    fn oom_eventfd(&mut self) -> Result<OwnedFd, CgroupFsError> {
        self.only(CgroupVersion::V1, "OOM eventfd")?;
        let (fd, kept) = self.new_eventfd()?;
        let mut st = self.fs.lock();
        let node = st
            .nodes
            .get_mut(&self.name)
            .ok_or_else(|| gone(&self.name))?;
        if node.state.under_oom {
            signal(&kept);
        }
        node.oom_listeners.push(kept);
        Ok(fd)
    }

    fn usage_threshold_eventfd(&mut self, bytes: u64) -> Result<OwnedFd, CgroupFsError> {
        self.only(CgroupVersion::V1, "usage threshold eventfd")?;
        let (fd, kept) = self.new_eventfd()?;
        let mut st = self.fs.lock();
        let node = st
            .nodes
            .get_mut(&self.name)
            .ok_or_else(|| gone(&self.name))?;
        node.thresholds.push((bytes, kept));
        Ok(fd)
    }

    fn events_file(&mut self) -> Result<File, CgroupFsError> {
        Err(self
            .fs
            .unsupported(&self.name, "memory.events (in-memory backend)"))
    }

    fn psi_trigger(&mut self, _stall_us: u64, _window_us: u64) -> Result<File, CgroupFsError> {
        Err(self.fs.unsupported(&self.name, "PSI (in-memory backend)"))
    }

    fn procs(&mut self) -> Result<Vec<u32>, CgroupFsError> {
        self.read(|s| s.procs.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    fn eventfd_count(fd: OwnedFd) -> Option<u64> {
        let mut f = File::from(fd);
        let mut b = [0u8; 8];
        f.read_exact(&mut b).ok().map(|_| u64::from_ne_bytes(b))
    }

    #[test]
    fn v1_limit_below_usage_is_busy_unless_reclaimable() {
        let fs = MemoryFs::new(CgroupVersion::V1, CgroupName::root());
        let a = name("/a");
        fs.insert(&a, 100 << 20, Some(200 << 20)).unwrap();
        fs.update(&a, |s| s.inactive_file = 10 << 20).unwrap();
        let mut cg = fs.open(&a).unwrap();
        let err = cg.set_limit(Some(50 << 20)).unwrap_err();
        assert!(err.is_busy(), "{err}");
        assert_eq!(cg.limit().unwrap(), Some(200 << 20), "old limit stays");
        assert_eq!(cg.usage().unwrap(), 90 << 20, "inactive file reclaimed");
        cg.set_limit(Some((95 << 20) + 100)).unwrap();
        assert_eq!(
            cg.limit().unwrap(),
            Some(95 << 20),
            "rounded down to a page"
        );
        assert_eq!(
            fs.writes(),
            vec![
                FakeWrite::Limit {
                    cgroup: a.clone(),
                    value: Some(50 << 20),
                    accepted: false
                },
                FakeWrite::Limit {
                    cgroup: a.clone(),
                    value: Some((95 << 20) + 100),
                    accepted: true
                },
            ]
        );
        assert!(matches!(
            cg.set_high(None),
            Err(CgroupFsError::Unsupported { .. })
        ));
    }

    #[test]
    fn v2_limit_below_usage_kills() {
        let fs = MemoryFs::new(CgroupVersion::V2, CgroupName::root());
        let a = name("/a");
        fs.insert(&a, 100 << 20, None).unwrap();
        let mut cg = fs.open(&a).unwrap();
        cg.set_limit(Some(60 << 20)).unwrap();
        let st = fs.state(&a).unwrap();
        assert_eq!(
            (st.usage, st.limit, st.oom_kill, st.oom),
            (60 << 20, Some(60 << 20), 1, 1)
        );
        let o = cg.oom_state().unwrap();
        assert_eq!((o.oom, o.oom_kill, o.under_oom), (Some(1), 1, None));
        assert!(matches!(
            cg.oom_eventfd(),
            Err(CgroupFsError::Unsupported { .. })
        ));
        cg.set_high(Some(50 << 20)).unwrap();
        assert_eq!(cg.high().unwrap(), Some(50 << 20));
    }

    #[test]
    fn v1_oom_eventfd_fires_on_oom_of_self_or_ancestor_and_on_removal() {
        let fs = MemoryFs::new(CgroupVersion::V1, CgroupName::root());
        let (a, b) = (name("/a"), name("/a/b"));
        fs.insert(&b, 10, Some(4096)).unwrap();
        let mut cb = fs.open(&b).unwrap();
        let efd = cb.oom_eventfd().unwrap();
        let efd2 = cb.oom_eventfd().unwrap();
        let quiet = cb.oom_eventfd().unwrap();
        fs.trigger_oom(&a).unwrap();
        assert_eq!(
            eventfd_count(efd),
            Some(1),
            "ancestor OOM reaches descendants"
        );
        assert_eq!(fs.state(&a).unwrap().oom_kill, 1);
        fs.remove(&b).unwrap();
        assert_eq!(eventfd_count(efd2), Some(2), "OOM plus removal");
        assert!(cb.usage().unwrap_err().is_gone());
        drop(quiet);
        let c = name("/c");
        fs.insert(&c, 0, None).unwrap();
        let mut cc = fs.open(&c).unwrap();
        assert_eq!(
            eventfd_count(cc.oom_eventfd().unwrap()),
            None,
            "nothing yet"
        );
    }

    #[test]
    fn v1_oom_kill_disable_and_under_oom() {
        let fs = MemoryFs::new(CgroupVersion::V1, CgroupName::root());
        let a = name("/a");
        fs.insert(&a, 64 << 20, Some(64 << 20)).unwrap();
        let mut cg = fs.open(&a).unwrap();
        cg.set_oom_kill_disable(true).unwrap();
        fs.trigger_oom(&a).unwrap();
        let o = cg.oom_state().unwrap();
        assert_eq!(
            (o.under_oom, o.oom_kill, o.oom_kill_disable),
            (Some(true), 0, Some(true))
        );
        assert_eq!(
            eventfd_count(cg.oom_eventfd().unwrap()),
            Some(1),
            "already under OOM"
        );
        cg.set_limit(Some(128 << 20)).unwrap();
        assert_eq!(cg.oom_state().unwrap().under_oom, Some(false));
        fs.trigger_oom(&a).unwrap();
        cg.set_oom_kill_disable(false).unwrap();
        let o = cg.oom_state().unwrap();
        assert_eq!((o.under_oom, o.oom_kill), (Some(false), 1), "fallback kill");
        assert_eq!(cg.failcnt().unwrap(), Some(2));
    }

    #[test]
    fn tree_operations_and_thresholds() {
        let fs = MemoryFs::new(CgroupVersion::V1, name("/top"));
        assert!(matches!(
            fs.insert(&name("/elsewhere"), 0, None),
            Err(CgroupFsError::OutsideRoot { .. })
        ));
        fs.create(&name("/top/a")).unwrap();
        assert!(matches!(
            fs.create(&name("/top/a")),
            Err(CgroupFsError::AlreadyExists { .. })
        ));
        assert!(fs.create(&name("/top/x/y")).unwrap_err().is_gone());
        fs.create(&name("/top/a/b")).unwrap();
        assert!(
            fs.remove(&name("/top/a")).unwrap_err().is_busy(),
            "has a child"
        );
        assert_eq!(
            fs.list().unwrap(),
            vec![name("/top"), name("/top/a"), name("/top/a/b")]
        );
        let mut cg = fs.open(&name("/top/a/b")).unwrap();
        let t = cg.usage_threshold_eventfd(1000).unwrap();
        fs.set_usage(&name("/top/a/b"), 500).unwrap();
        fs.set_usage(&name("/top/a/b"), 1500).unwrap();
        assert_eq!(eventfd_count(t), Some(1));
        assert_eq!(cg.peak().unwrap(), Some(1500));
        assert_eq!(cg.stat().unwrap().anon(), Some(1500));
        fs.update(&name("/top/a/b"), |s| s.procs = vec![7]).unwrap();
        assert!(
            fs.remove(&name("/top/a/b")).unwrap_err().is_busy(),
            "has tasks"
        );
        assert_eq!(cg.procs().unwrap(), vec![7]);
        assert!(fs.dir_of(&name("/top")).is_err());
        assert!(!fs.exists(&name("/nope")));
    }
}
