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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroupfs::fixture::FixtureTree;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    fn fixture() -> (tempfile::TempDir, FixtureTree) {
        let dir = tempfile::tempdir().unwrap();
        let tree = FixtureTree::new(dir.path(), CgroupVersion::V1).unwrap();
        tree.add("apps", 96 << 20, None).unwrap();
        tree.add("apps/web", 64 << 20, Some(128 << 20)).unwrap();
        (dir, tree)
    }

    #[test]
    fn reads_a_v1_tree() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        assert_eq!(fs.version(), CgroupVersion::V1);
        let listed: Vec<String> = fs.list().unwrap().iter().map(|n| n.to_string()).collect();
        assert_eq!(listed, ["/", "/apps", "/apps/web"]);
        let mut web = fs.open(&name("/apps/web")).unwrap();
        assert_eq!(web.usage().unwrap(), 64 << 20);
        assert_eq!(web.limit().unwrap(), Some(128 << 20));
        assert_eq!(web.peak().unwrap(), Some(64 << 20));
        assert_eq!(web.failcnt().unwrap(), Some(0));
        let stat = web.stat().unwrap();
        assert_eq!(stat.inactive_file(), Some(8 << 20));
        assert_eq!(web.inactive_file().unwrap(), Some(8 << 20));
        assert_eq!(stat.anon(), Some(48 << 20));
        let oom = web.oom_state().unwrap();
        assert_eq!(
            (oom.oom, oom.oom_kill, oom.under_oom, oom.oom_kill_disable),
            (None, 0, Some(false), Some(false))
        );
        assert_eq!(fs.open(&name("/apps")).unwrap().limit().unwrap(), None);
        assert_eq!(web.procs().unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn rereads_through_the_kept_open_file() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        assert_eq!(web.usage().unwrap(), 64 << 20);
        tree.set_usage("apps/web", 70 << 20).unwrap();
        assert_eq!(web.usage().unwrap(), 70 << 20);
        tree.write(
            "apps/web",
            "memory.oom_control",
            "oom_kill_disable 1\nunder_oom 1\noom_kill 2\n",
        )
        .unwrap();
        let oom = web.oom_state().unwrap();
        assert_eq!(
            (oom.oom_kill, oom.under_oom, oom.oom_kill_disable),
            (2, Some(true), Some(true))
        );
        tree.write("apps/web", "cgroup.procs", "12\n34\n").unwrap();
        assert_eq!(web.procs().unwrap(), vec![12, 34]);
    }

    #[test]
    fn writes_limits_and_oom_kill_disable() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        web.set_limit(Some(100 << 20)).unwrap();
        assert_eq!(web.limit().unwrap(), Some(100 << 20));
        web.set_limit(None).unwrap();
        let raw = std::fs::read_to_string(tree.dir("apps/web").join(LIMIT)).unwrap();
        assert_eq!(raw, "-1");
        web.set_oom_kill_disable(true).unwrap();
        let raw = std::fs::read_to_string(tree.dir("apps/web").join(OOM_CONTROL)).unwrap();
        assert_eq!(raw, "1");
        assert!(matches!(web.high(), Err(CgroupFsError::Unsupported { .. })));
        assert!(matches!(
            web.set_high(None),
            Err(CgroupFsError::Unsupported { .. })
        ));
        assert!(matches!(
            web.events_file(),
            Err(CgroupFsError::Unsupported { .. })
        ));
        assert!(matches!(
            web.psi_trigger(1, 2),
            Err(CgroupFsError::Unsupported { .. })
        ));
    }

    #[test]
    fn removed_cgroup_is_gone() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        let mut fresh = fs.open(&name("/apps/web")).unwrap();
        assert_eq!(web.usage().unwrap(), 64 << 20);
        std::fs::remove_dir_all(tree.dir("apps/web")).unwrap();
        // Not yet opened: ENOENT in a missing directory.
        assert!(fresh.usage().unwrap_err().is_gone());
        assert!(fresh.peak().unwrap_err().is_gone());
        // A plain file kept open stays readable after unlink; kernfs answers
        // ENODEV instead (checked by the live tests).
        drop(web);
        assert!(fs.open(&name("/apps/web")).err().unwrap().is_gone());
        assert!(!fs.exists(&name("/apps/web")));
    }

    #[test]
    fn refuses_symlinked_and_outside_names() {
        let (d, tree) = fixture();
        let elsewhere = d.path().join("../");
        std::os::unix::fs::symlink(&elsewhere, tree.dir("apps/sneaky")).unwrap();
        let fs = V1Fs::on_plain_dir_for_tests(tree.root_dir(), name("/"));
        assert!(matches!(
            fs.open_cgroup(&name("/apps/sneaky")),
            Err(CgroupFsError::Symlink { .. })
        ));
        // The walk skips the symlink.
        assert!(!fs.list().unwrap().contains(&name("/apps/sneaky")));
        let scoped = V1Fs::on_plain_dir_for_tests(&tree.dir("apps"), name("/apps"));
        assert!(matches!(
            scoped.open_cgroup(&name("/other")),
            Err(CgroupFsError::OutsideRoot { .. })
        ));
        assert_eq!(
            scoped
                .open_cgroup(&name("/apps/web"))
                .unwrap()
                .usage()
                .unwrap(),
            64 << 20
        );
        assert_eq!(
            scoped.dir_of(&name("/apps/web")).unwrap(),
            tree.dir("apps/web")
        );
    }
}
