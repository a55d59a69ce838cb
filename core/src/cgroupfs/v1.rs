//! The cgroup v1 memory controller backend
//! (Documentation/admin-guide/cgroup-v1/memory.rst).

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::eventfd::{EfdFlags, EventFd};

use super::control_file::{open_read, write_control, ControlFile, Layout, ReadBuf};
use super::detect;
use super::error::CgroupFsError;
use super::parse::{
    format_v1_limit, keyed_value, parse_oom_control, parse_procs, parse_u64, parse_v1_limit,
};
use super::readings::{inactive_file_key, MemoryStat, OomState};
use super::tree::Tree;
use super::{Cgroup, CgroupFs};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

const USAGE: &str = "memory.usage_in_bytes";
const LIMIT: &str = "memory.limit_in_bytes";
const MAX_USAGE: &str = "memory.max_usage_in_bytes";
const FAILCNT: &str = "memory.failcnt";
const OOM_CONTROL: &str = "memory.oom_control";
const STAT: &str = "memory.stat";
const PROCS: &str = "cgroup.procs";
const EVENT_CONTROL: &str = "cgroup.event_control";

/// A v1 memory hierarchy seen from a root cgroup directory.
#[derive(Debug, Clone)]
pub struct V1Fs {
    tree: Tree,
}

impl V1Fs {
    /// Opens the v1 memory hierarchy at `root_dir` (e.g.
    /// `/sys/fs/cgroup/memory` or a cgroup below it): refuses a path that is
    /// not on a cgroup v1 filesystem or has no memory controller, and names
    /// the root from `/proc/self/mountinfo`.
    pub fn open(root_dir: &Path) -> Result<V1Fs, CgroupFsError> {
        let (dir, version, name) = detect::probe(root_dir)?;
        if version != CgroupVersion::V1 {
            return Err(CgroupFsError::NotCgroupFs {
                path: dir,
                magic: detect::CGROUP2_SUPER_MAGIC,
            });
        }
        Self::checked(dir, name)
    }

    /// The backend on `root_dir` with the version check already done.
    pub(crate) fn checked(dir: PathBuf, name: CgroupName) -> Result<V1Fs, CgroupFsError> {
        if !dir.join(LIMIT).exists() {
            return Err(CgroupFsError::NoMemoryController { path: dir });
        }
        Ok(V1Fs {
            tree: Tree::new(dir, name),
        })
    }

    /// For tests only: the v1 backend on an ordinary directory laid out like
    /// a v1 memory hierarchy (see [`super::fixture`]), without the filesystem
    /// magic and mount checks. `root_name` is the name of `dir`'s cgroup.
    pub fn on_plain_dir_for_tests(dir: &Path, root_name: CgroupName) -> V1Fs {
        V1Fs {
            tree: Tree::new(dir.to_path_buf(), root_name),
        }
    }

    /// The root directory.
    pub fn root_dir(&self) -> &Path {
        self.tree.root_dir()
    }

    /// Opens a handle on an existing cgroup (the concrete type).
    pub fn open_cgroup(&self, name: &CgroupName) -> Result<V1Cgroup, CgroupFsError> {
        let dir = self.tree.existing_dir(name)?;
        Ok(V1Cgroup::new(name.clone(), dir))
    }
}

impl CgroupFs for V1Fs {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V1
    }

    fn root(&self) -> &CgroupName {
        self.tree.root_name()
    }

    fn list(&self) -> Result<Vec<CgroupName>, CgroupFsError> {
        self.tree.list()
    }

    fn open(&self, name: &CgroupName) -> Result<Box<dyn Cgroup>, CgroupFsError> {
        Ok(Box::new(self.open_cgroup(name)?))
    }

    fn exists(&self, name: &CgroupName) -> bool {
        self.tree.exists(name)
    }

    fn create(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        self.tree.create(name)
    }

    fn remove(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        self.tree.remove(name)
    }

    fn dir_of(&self, name: &CgroupName) -> Result<PathBuf, CgroupFsError> {
        self.tree.dir_of(name)
    }
}

/// An open v1 memory cgroup.
pub struct V1Cgroup {
    name: CgroupName,
    dir: PathBuf,
    buf: ReadBuf,
    usage: ControlFile,
    limit: ControlFile,
    max_usage: ControlFile,
    failcnt: ControlFile,
    oom_control: ControlFile,
    stat: ControlFile,
    procs: ControlFile,
}

impl V1Cgroup {
    fn new(name: CgroupName, dir: PathBuf) -> Self {
        let f = |file: &str| ControlFile::new(dir.join(file), Layout::SingleRecord);
        V1Cgroup {
            usage: f(USAGE),
            limit: f(LIMIT),
            max_usage: f(MAX_USAGE),
            failcnt: f(FAILCNT),
            oom_control: f(OOM_CONTROL),
            stat: f(STAT),
            procs: ControlFile::new(dir.join(PROCS), Layout::MultiRecord),
            buf: ReadBuf::default(),
            name,
            dir,
        }
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn unsupported(&self, what: &'static str) -> CgroupFsError {
        CgroupFsError::Unsupported {
            cgroup: self.name.clone(),
            what,
            version: CgroupVersion::V1,
        }
    }

    /// Registers a new eventfd on `control` through `cgroup.event_control`.
    fn register_event(&self, control: &str, args: Option<u64>) -> Result<OwnedFd, CgroupFsError> {
        let event_control = self.dir.join(EVENT_CONTROL);
        let efd =
            EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).map_err(|e| {
                CgroupFsError::Io {
                    path: event_control.clone(),
                    source: e.into(),
                }
            })?;
        let cfile: File = open_read(&self.dir.join(control), &self.name)?;
        let line = match args {
            Some(a) => format!("{} {} {a}", efd.as_raw_fd(), cfile.as_raw_fd()),
            None => format!("{} {}", efd.as_raw_fd(), cfile.as_raw_fd()),
        };
        write_control(&event_control, &self.name, &line)?;
        Ok(OwnedFd::from(efd))
    }
}

impl Cgroup for V1Cgroup {
    fn name(&self) -> &CgroupName {
        &self.name
    }

    fn usage(&mut self) -> Result<u64, CgroupFsError> {
        self.usage.parse(&mut self.buf, &self.name, parse_u64)
    }

    fn limit(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.limit.parse(&mut self.buf, &self.name, parse_v1_limit)
    }

    fn peak(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.max_usage
            .parse_optional(&mut self.buf, &self.name, parse_u64)
    }

    fn failcnt(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.failcnt
            .parse_optional(&mut self.buf, &self.name, parse_u64)
    }

    fn oom_state(&mut self) -> Result<OomState, CgroupFsError> {
        let c = self
            .oom_control
            .parse(&mut self.buf, &self.name, parse_oom_control)?;
        Ok(OomState {
            oom: None,
            oom_kill: c.oom_kill.unwrap_or(0),
            under_oom: Some(c.under_oom),
            oom_kill_disable: Some(c.oom_kill_disable),
            max_events: None,
            high_events: None,
        })
    }

    fn stat(&mut self) -> Result<MemoryStat, CgroupFsError> {
        self.stat.parse(&mut self.buf, &self.name, |t| {
            MemoryStat::parse(CgroupVersion::V1, t)
        })
    }

    fn inactive_file(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.stat.parse(&mut self.buf, &self.name, |t| {
            keyed_value(t, inactive_file_key(CgroupVersion::V1))
        })
    }

    fn set_limit(&mut self, limit: Option<u64>) -> Result<(), CgroupFsError> {
        write_control(self.limit.path(), &self.name, &format_v1_limit(limit))
    }

    fn set_oom_kill_disable(&mut self, disable: bool) -> Result<(), CgroupFsError> {
        let value = if disable { "1" } else { "0" };
        write_control(self.oom_control.path(), &self.name, value)
    }

    fn high(&mut self) -> Result<Option<u64>, CgroupFsError> {
        Err(self.unsupported("memory.high"))
    }

    fn set_high(&mut self, _high: Option<u64>) -> Result<(), CgroupFsError> {
        Err(self.unsupported("memory.high"))
    }

    fn oom_eventfd(&mut self) -> Result<OwnedFd, CgroupFsError> {
        self.register_event(OOM_CONTROL, None)
    }

    fn usage_threshold_eventfd(&mut self, bytes: u64) -> Result<OwnedFd, CgroupFsError> {
        self.register_event(USAGE, Some(bytes))
    }

    fn events_file(&mut self) -> Result<File, CgroupFsError> {
        Err(self.unsupported("memory.events"))
    }

    fn psi_trigger(&mut self, _stall_us: u64, _window_us: u64) -> Result<File, CgroupFsError> {
        Err(self.unsupported("memory.pressure (PSI)"))
    }

    fn procs(&mut self) -> Result<Vec<u32>, CgroupFsError> {
        self.procs.parse(&mut self.buf, &self.name, parse_procs)
    }
}
