//! The cgroup v2 (unified hierarchy) memory backend
//! (Documentation/admin-guide/cgroup-v2.rst).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::control_file::{map_io, open_read, write_control, ControlFile, Layout, ReadBuf};
use super::detect;
use super::error::CgroupFsError;
use super::parse::{
    format_v2_limit, keyed_value, parse_memory_events, parse_procs, parse_u64, parse_v2_limit,
};
use super::readings::{inactive_file_key, MemoryStat, OomState};
use super::tree::Tree;
use super::{Cgroup, CgroupFs};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

const CURRENT: &str = "memory.current";
const MAX: &str = "memory.max";
const HIGH: &str = "memory.high";
const PEAK: &str = "memory.peak";
const EVENTS: &str = "memory.events";
const EVENTS_LOCAL: &str = "memory.events.local";
const STAT: &str = "memory.stat";
const PRESSURE: &str = "memory.pressure";
const PROCS: &str = "cgroup.procs";
const CONTROLLERS: &str = "cgroup.controllers";

/// A v2 hierarchy seen from a root cgroup directory.
#[derive(Debug, Clone)]
pub struct V2Fs {
    tree: Tree,
}

impl V2Fs {
    /// Opens the unified hierarchy at `root_dir` (e.g. `/sys/fs/cgroup` or a
    /// cgroup below it): refuses a path that is not on a cgroup2 filesystem
    /// or whose cgroup has no memory controller (`cgroup.controllers`), and
    /// names the root from `/proc/self/mountinfo`.
    pub fn open(root_dir: &Path) -> Result<V2Fs, CgroupFsError> {
        let (dir, version, name) = detect::probe(root_dir)?;
        if version != CgroupVersion::V2 {
            return Err(CgroupFsError::NotCgroupFs {
                path: dir,
                magic: detect::CGROUP_SUPER_MAGIC,
            });
        }
        Self::checked(dir, name)
    }

    /// The backend on `dir` with the version check already done.
    pub(crate) fn checked(dir: PathBuf, name: CgroupName) -> Result<V2Fs, CgroupFsError> {
        let controllers = dir.join(CONTROLLERS);
        let text = std::fs::read_to_string(&controllers).map_err(|e| CgroupFsError::Io {
            path: controllers.clone(),
            source: e,
        })?;
        if !text.split_ascii_whitespace().any(|c| c == "memory") {
            return Err(CgroupFsError::NoMemoryController { path: dir });
        }
        Ok(V2Fs {
            tree: Tree::new(dir, name),
        })
    }

    /// For tests only: the v2 backend on an ordinary directory laid out like
    /// a v2 hierarchy (see [`super::fixture`]), without the filesystem magic,
    /// mount and controller checks. `root_name` is the name of `dir`'s cgroup.
    pub fn on_plain_dir_for_tests(dir: &Path, root_name: CgroupName) -> V2Fs {
        V2Fs {
            tree: Tree::new(dir.to_path_buf(), root_name),
        }
    }

    /// The root directory.
    pub fn root_dir(&self) -> &Path {
        self.tree.root_dir()
    }

    /// Opens a handle on an existing cgroup (the concrete type).
    pub fn open_cgroup(&self, name: &CgroupName) -> Result<V2Cgroup, CgroupFsError> {
        let dir = self.tree.existing_dir(name)?;
        Ok(V2Cgroup::new(name.clone(), dir))
    }
}

impl CgroupFs for V2Fs {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V2
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

/// An open v2 cgroup.
pub struct V2Cgroup {
    name: CgroupName,
    dir: PathBuf,
    buf: ReadBuf,
    current: ControlFile,
    max: ControlFile,
    high: ControlFile,
    peak: ControlFile,
    events: ControlFile,
    events_local: ControlFile,
    stat: ControlFile,
    procs: ControlFile,
}

impl V2Cgroup {
    fn new(name: CgroupName, dir: PathBuf) -> Self {
        let f = |file: &str| ControlFile::new(dir.join(file), Layout::SingleRecord);
        V2Cgroup {
            current: f(CURRENT),
            max: f(MAX),
            high: f(HIGH),
            peak: f(PEAK),
            events: f(EVENTS),
            events_local: f(EVENTS_LOCAL),
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

    /// The error for a memory file the cgroup lacks: the hierarchy root has
    /// no `memory.current`/`memory.max`; another cgroup lacks them when its
    /// parent has not enabled the memory controller.
    fn no_memory_file(&self, file: &'static str) -> CgroupFsError {
        if self.name.is_root() {
            return self.unsupported(file);
        }
        self.unsupported(match file {
            "memory.max" => "memory.max (memory controller not enabled in the parent's cgroup.subtree_control)",
            _ => "memory.current (memory controller not enabled in the parent's cgroup.subtree_control)",
        })
    }

    fn unsupported(&self, what: &'static str) -> CgroupFsError {
        CgroupFsError::Unsupported {
            cgroup: self.name.clone(),
            what,
            version: CgroupVersion::V2,
        }
    }
}

impl Cgroup for V2Cgroup {
    fn name(&self) -> &CgroupName {
        &self.name
    }

    fn usage(&mut self) -> Result<u64, CgroupFsError> {
        match self
            .current
            .parse_optional(&mut self.buf, &self.name, parse_u64)?
        {
            Some(v) => Ok(v),
            None => Err(self.no_memory_file("memory.current")),
        }
    }

    fn limit(&mut self) -> Result<Option<u64>, CgroupFsError> {
        match self
            .max
            .parse_optional(&mut self.buf, &self.name, parse_v2_limit)?
        {
            Some(v) => Ok(v),
            // The hierarchy root has no memory.max: it is unlimited.
            None if self.name.is_root() => Ok(None),
            None => Err(self.no_memory_file("memory.max")),
        }
    }

    fn peak(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.peak
            .parse_optional(&mut self.buf, &self.name, parse_u64)
    }

    fn failcnt(&mut self) -> Result<Option<u64>, CgroupFsError> {
        Ok(self
            .events
            .parse_optional(&mut self.buf, &self.name, parse_memory_events)?
            .map(|e| e.max))
    }

    fn oom_state(&mut self) -> Result<OomState, CgroupFsError> {
        let Some(ev) =
            self.events
                .parse_optional(&mut self.buf, &self.name, parse_memory_events)?
        else {
            return Err(self.unsupported("memory.events"));
        };
        let local =
            self.events_local
                .parse_optional(&mut self.buf, &self.name, parse_memory_events)?;
        // `oom` and `oom_kill` of memory.events are hierarchical (an
        // ancestor counts its descendants' events too); memory.events.local
        // counts this cgroup's own (kernel 5.2+).
        Ok(OomState {
            oom: Some(local.map_or(ev.oom, |l| l.oom)),
            oom_kill: local.map_or(ev.oom_kill, |l| l.oom_kill),
            under_oom: None,
            oom_kill_disable: None,
            max_events: Some(ev.max),
            high_events: Some(ev.high),
        })
    }

    fn stat(&mut self) -> Result<MemoryStat, CgroupFsError> {
        self.stat.parse(&mut self.buf, &self.name, |t| {
            MemoryStat::parse(CgroupVersion::V2, t)
        })
    }

    fn inactive_file(&mut self) -> Result<Option<u64>, CgroupFsError> {
        self.stat.parse(&mut self.buf, &self.name, |t| {
            keyed_value(t, inactive_file_key(CgroupVersion::V2))
        })
    }

    fn set_limit(&mut self, limit: Option<u64>) -> Result<(), CgroupFsError> {
        write_control(self.max.path(), &self.name, &format_v2_limit(limit))
    }

    fn set_oom_kill_disable(&mut self, _disable: bool) -> Result<(), CgroupFsError> {
        Err(self.unsupported("oom_kill_disable"))
    }

    fn high(&mut self) -> Result<Option<u64>, CgroupFsError> {
        Ok(self
            .high
            .parse_optional(&mut self.buf, &self.name, parse_v2_limit)?
            .flatten())
    }

    fn set_high(&mut self, high: Option<u64>) -> Result<(), CgroupFsError> {
        write_control(self.high.path(), &self.name, &format_v2_limit(high))
    }

    fn oom_eventfd(&mut self) -> Result<OwnedFd, CgroupFsError> {
        Err(self.unsupported("OOM eventfd (v1 cgroup.event_control)"))
    }

    fn usage_threshold_eventfd(&mut self, _bytes: u64) -> Result<OwnedFd, CgroupFsError> {
        Err(self.unsupported("usage threshold eventfd (v1 cgroup.event_control)"))
    }

    fn events_file(&mut self) -> Result<File, CgroupFsError> {
        let path = self.dir.join(EVENTS);
        let file = open_read(&path, &self.name)?;
        // poll reports POLLPRI only after a first read.
        let mut scratch = [0u8; 512];
        std::os::unix::fs::FileExt::read_at(&file, &mut scratch, 0)
            .map_err(|e| map_io(e, &path, &self.name))?;
        Ok(file)
    }

    fn psi_trigger(&mut self, stall_us: u64, window_us: u64) -> Result<File, CgroupFsError> {
        let path = self.dir.join(PRESSURE);
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.dir.is_dir() => {
                return Err(self.unsupported("memory.pressure (PSI disabled)"));
            }
            Err(e) => return Err(map_io(e, &path, &self.name)),
        };
        // The kernel overwrites the last byte written with a NUL: send one.
        file.write_all(format!("some {stall_us} {window_us}\0").as_bytes())
            .map_err(|e| map_io(e, &path, &self.name))?;
        Ok(file)
    }

    fn procs(&mut self) -> Result<Vec<u32>, CgroupFsError> {
        self.procs.parse(&mut self.buf, &self.name, parse_procs)
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

    use super::*;
    use crate::cgroupfs::fixture::FixtureTree;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    fn fixture() -> (tempfile::TempDir, FixtureTree) {
        let dir = tempfile::tempdir().unwrap();
        let tree = FixtureTree::new(dir.path(), CgroupVersion::V2).unwrap();
        tree.add("apps", 96 << 20, None).unwrap();
        tree.add("apps/web", 64 << 20, Some(128 << 20)).unwrap();
        (dir, tree)
    }

    #[test]
    fn reads_a_v2_tree() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        assert_eq!(fs.version(), CgroupVersion::V2);
        assert_eq!(fs.list().unwrap().len(), 3);
        let mut root = fs.open(&CgroupName::root()).unwrap();
        assert!(matches!(
            root.usage(),
            Err(CgroupFsError::Unsupported { .. })
        ));
        assert_eq!(root.limit().unwrap(), None);
        let mut web = fs.open(&name("/apps/web")).unwrap();
        assert_eq!(web.usage().unwrap(), 64 << 20);
        assert_eq!(web.limit().unwrap(), Some(128 << 20));
        assert_eq!(web.high().unwrap(), None);
        assert_eq!(web.peak().unwrap(), Some(64 << 20));
        assert_eq!(web.failcnt().unwrap(), Some(0));
        assert_eq!(web.inactive_file().unwrap(), Some(8 << 20));
        let stat = web.stat().unwrap();
        assert_eq!(stat.get("kernel_stack"), Some(16384));
        assert_eq!(stat.anon(), Some(48 << 20));
        assert_eq!(fs.open(&name("/apps")).unwrap().limit().unwrap(), None);
        // A child whose parent did not enable the memory controller.
        std::fs::create_dir(tree.dir("apps/web/nomem")).unwrap();
        let mut nomem = fs.open(&name("/apps/web/nomem")).unwrap();
        let err = nomem.limit().unwrap_err();
        assert!(err.to_string().contains("subtree_control"), "{err}");
        assert!(matches!(
            nomem.usage(),
            Err(CgroupFsError::Unsupported { .. })
        ));
    }

    #[test]
    fn oom_state_attributes_kills_locally() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut apps = fs.open(&name("/apps")).unwrap();
        tree.write(
            "apps",
            "memory.events",
            "low 0\nhigh 3\nmax 9\noom 2\noom_kill 5\noom_group_kill 0\n",
        )
        .unwrap();
        tree.write(
            "apps",
            "memory.events.local",
            "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        let s = apps.oom_state().unwrap();
        assert_eq!(
            s.oom,
            Some(1),
            "limit hits of this cgroup only (events.local)"
        );
        assert_eq!(s.oom_kill, 1, "kills of this cgroup only (events.local)");
        assert_eq!((s.max_events, s.high_events), (Some(9), Some(3)));
        assert_eq!((s.under_oom, s.oom_kill_disable), (None, None));
        assert_eq!(apps.failcnt().unwrap(), Some(9));
        // Before 5.2 there is no events.local: the hierarchical counter is used.
        std::fs::remove_file(tree.dir("apps").join(EVENTS_LOCAL)).unwrap();
        let mut fresh = fs.open(&name("/apps")).unwrap();
        let old_kernel = fresh.oom_state().unwrap();
        assert_eq!((old_kernel.oom, old_kernel.oom_kill), (Some(2), 5));
    }

    #[test]
    fn missing_peak_is_none_and_remembered() {
        let (_d, tree) = fixture();
        std::fs::remove_file(tree.dir("apps/web").join(PEAK)).unwrap();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        assert_eq!(web.peak().unwrap(), None);
        tree.write("apps/web", PEAK, "1\n").unwrap();
        assert_eq!(web.peak().unwrap(), None);
    }

    #[test]
    fn writes_max_and_high() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        web.set_limit(None).unwrap();
        assert_eq!(
            std::fs::read_to_string(tree.dir("apps/web").join(MAX)).unwrap(),
            "max"
        );
        assert_eq!(web.limit().unwrap(), None);
        web.set_limit(Some(1 << 30)).unwrap();
        assert_eq!(web.limit().unwrap(), Some(1 << 30));
        web.set_high(Some(100 << 20)).unwrap();
        assert_eq!(web.high().unwrap(), Some(100 << 20));
        assert!(matches!(
            web.set_oom_kill_disable(true),
            Err(CgroupFsError::Unsupported { .. })
        ));
        assert!(matches!(
            web.oom_eventfd(),
            Err(CgroupFsError::Unsupported { .. })
        ));
        assert!(matches!(
            web.usage_threshold_eventfd(1),
            Err(CgroupFsError::Unsupported { .. })
        ));
    }

    #[test]
    fn psi_trigger_writes_the_trigger_and_reports_disabled_psi() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        drop(web.psi_trigger(150_000, 1_000_000).unwrap());
        let raw = std::fs::read(tree.dir("apps/web").join(PRESSURE)).unwrap();
        assert!(raw.starts_with(b"some 150000 1000000\0"), "{raw:?}");
        std::fs::remove_file(tree.dir("apps/web").join(PRESSURE)).unwrap();
        assert!(matches!(
            web.psi_trigger(150_000, 1_000_000),
            Err(CgroupFsError::Unsupported { .. })
        ));
    }

    #[test]
    fn events_change_is_seen_through_inotify() {
        let (_d, tree) = fixture();
        let fs = tree.backend();
        let mut web = fs.open(&name("/apps/web")).unwrap();
        let events = web.events_file().unwrap();
        let dir = fs.dir_of(&name("/apps/web")).unwrap();
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).unwrap();
        ino.add_watch(&dir.join(EVENTS), AddWatchFlags::IN_MODIFY)
            .unwrap();
        let ready = |ms: u16| {
            let mut fds = [PollFd::new(ino.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(ms)).unwrap()
        };
        assert_eq!(ready(0), 0, "no event before the change");
        tree.write(
            "apps/web",
            EVENTS,
            "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        tree.write(
            "apps/web",
            "memory.events.local",
            "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        assert_eq!(ready(5000), 1);
        assert!(!ino.read_events().unwrap().is_empty());
        // Re-read the counters from the file the handle gave.
        let mut buf = [0u8; 256];
        let n = std::os::unix::fs::FileExt::read_at(&events, &mut buf, 0).unwrap();
        let ev =
            crate::cgroupfs::parse::parse_memory_events(std::str::from_utf8(&buf[..n]).unwrap())
                .unwrap();
        assert_eq!((ev.oom, ev.oom_kill), (1, 1));
        assert_eq!(web.oom_state().unwrap().oom, Some(1));
    }

    #[test]
    fn create_and_remove_through_the_trait() {
        let dir = tempfile::tempdir().unwrap();
        let fs = V2Fs::on_plain_dir_for_tests(dir.path(), CgroupName::root());
        fs.create(&name("/new")).unwrap();
        assert!(fs.exists(&name("/new")));
        assert!(matches!(
            fs.create(&name("/new")),
            Err(CgroupFsError::AlreadyExists { .. })
        ));
        fs.remove(&name("/new")).unwrap();
        assert!(fs.remove(&name("/new")).unwrap_err().is_gone());
    }
}
