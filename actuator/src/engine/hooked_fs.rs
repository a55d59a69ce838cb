//! Test tooling: a [`CgroupFs`] wrapper that lets a test see, and change
//! the answer of, every usage read, limit read and limit write the engine
//! makes. Used to model what the live tree does between two reads (a
//! donor's usage growing after the snapshot, a usage read that is already
//! stale when the write lands, an instance dying after k writes). Not used
//! by the daemon.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cgcal_core::cgroupfs::{Cgroup, CgroupFs, CgroupFsError, MemoryStat, OomState};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;

/// An operation seen by the hook, before it reaches the wrapped hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A usage read.
    Usage(CgroupName),
    /// A limit read.
    Limit(CgroupName),
    /// A limit write.
    SetLimit(CgroupName, Option<u64>),
}

/// What the hook decides.
#[derive(Debug)]
pub enum Verdict {
    /// Let the operation through.
    Pass,
    /// Answer this error instead.
    Fail(CgroupFsError),
    /// For a read: answer this value instead of reading.
    Report(u64),
}

/// The hook, shared by the hierarchy and its handles.
pub type Hook = Arc<Mutex<dyn FnMut(&Op) -> Verdict + Send>>;

/// A hierarchy whose usage reads, limit reads and limit writes go through a hook.
pub struct HookedFs {
    inner: Box<dyn CgroupFs>,
    hook: Hook,
}

impl HookedFs {
    /// Wraps `inner`.
    pub fn new(
        inner: Box<dyn CgroupFs>,
        hook: impl FnMut(&Op) -> Verdict + Send + 'static,
    ) -> Self {
        HookedFs {
            inner,
            hook: Arc::new(Mutex::new(hook)),
        }
    }
}

fn ask(hook: &Hook, op: Op) -> Verdict {
    let mut h = hook.lock().unwrap_or_else(|p| p.into_inner());
    h(&op)
}

impl CgroupFs for HookedFs {
    fn version(&self) -> CgroupVersion {
        self.inner.version()
    }
    fn root(&self) -> &CgroupName {
        self.inner.root()
    }
    fn list(&self) -> Result<Vec<CgroupName>, CgroupFsError> {
        self.inner.list()
    }
    fn open(&self, name: &CgroupName) -> Result<Box<dyn Cgroup>, CgroupFsError> {
        Ok(Box::new(HookedCgroup {
            inner: self.inner.open(name)?,
            hook: self.hook.clone(),
        }))
    }
    fn exists(&self, name: &CgroupName) -> bool {
        self.inner.exists(name)
    }
    fn create(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        self.inner.create(name)
    }
    fn remove(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        self.inner.remove(name)
    }
    fn dir_of(&self, name: &CgroupName) -> Result<PathBuf, CgroupFsError> {
        self.inner.dir_of(name)
    }
}

struct HookedCgroup {
    inner: Box<dyn Cgroup>,
    hook: Hook,
}

impl Cgroup for HookedCgroup {
    fn name(&self) -> &CgroupName {
        self.inner.name()
    }
    fn usage(&mut self) -> Result<u64, CgroupFsError> {
        match ask(&self.hook, Op::Usage(self.inner.name().clone())) {
            Verdict::Pass => self.inner.usage(),
            Verdict::Fail(e) => Err(e),
            Verdict::Report(v) => Ok(v),
        }
    }
    fn limit(&mut self) -> Result<Option<u64>, CgroupFsError> {
        match ask(&self.hook, Op::Limit(self.inner.name().clone())) {
            Verdict::Pass => self.inner.limit(),
            Verdict::Fail(e) => Err(e),
            Verdict::Report(v) => Ok(Some(v)),
        }
    }
    fn peak(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.inner.peak()
    }
    fn failcnt(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.inner.failcnt()
    }
    fn oom_state(&mut self) -> Result<OomState, CgroupFsError> {
        self.inner.oom_state()
    }
    fn stat(&mut self) -> Result<MemoryStat, CgroupFsError> {
        self.inner.stat()
    }
    fn inactive_file(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.inner.inactive_file()
    }
    fn set_limit(&mut self, limit: Option<u64>) -> Result<(), CgroupFsError> {
        match ask(&self.hook, Op::SetLimit(self.inner.name().clone(), limit)) {
            Verdict::Fail(e) => Err(e),
            _ => self.inner.set_limit(limit),
        }
    }
    fn set_oom_kill_disable(&mut self, disable: bool) -> Result<(), CgroupFsError> {
        self.inner.set_oom_kill_disable(disable)
    }
    fn high(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.inner.high()
    }
    fn set_high(&mut self, high: Option<u64>) -> Result<(), CgroupFsError> {
        self.inner.set_high(high)
    }
    fn oom_eventfd(&mut self) -> Result<OwnedFd, CgroupFsError> {
        self.inner.oom_eventfd()
    }
    fn usage_threshold_eventfd(&mut self, bytes: u64) -> Result<OwnedFd, CgroupFsError> {
        self.inner.usage_threshold_eventfd(bytes)
    }
    fn events_file(&mut self) -> Result<File, CgroupFsError> {
        self.inner.events_file()
    }
    fn psi_trigger(&mut self, stall_us: u64, window_us: u64) -> Result<File, CgroupFsError> {
        self.inner.psi_trigger(stall_us, window_us)
    }
    fn procs(&mut self) -> Result<Vec<u32>, CgroupFsError> {
        self.inner.procs()
    }
}
