//! Live tests of the cgroup filesystem layer on the machine's v1 memory
//! hierarchy, under a `LiveParent` guard (SKIP where none is writable).
//! Needs the hog: `cargo build -p cgcal-testkit --bins`.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use cgcal_core::cgroupfs::{open_root, CgroupFs, CgroupFsError, V1Fs};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;
use cgcal_testkit::{spawn_hog, wait_ready, HogError, HogOptions, LiveParent};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

const MIB: u64 = 1 << 20;
/// Bound on waiting for a kernel notification (not a timing assertion).
const NOTIFY_WAIT: Duration = Duration::from_secs(30);

fn name(s: &str) -> CgroupName {
    CgroupName::parse(s).unwrap()
}

/// Waits (bounded) until the eventfd is readable and returns its counter,
/// `None` if it never became readable.
fn wait_eventfd(fd: OwnedFd) -> Option<u64> {
    let deadline = Instant::now() + NOTIFY_WAIT;
    while Instant::now() < deadline {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(1000u16)).unwrap() > 0 {
            let mut b = [0u8; 8];
            File::from(fd).read_exact(&mut b).unwrap();
            return Some(u64::from_ne_bytes(b));
        }
    }
    None
}

fn v1(parent: &LiveParent) -> Box<dyn CgroupFs> {
    let fs = open_root(parent.path(), None).expect("open_root on the live parent");
    assert_eq!(fs.version(), CgroupVersion::V1);
    fs
}

#[test]
fn v1_reads_writes_lists_and_names_from_mountinfo() {
    let Some(parent) = LiveParent::new("cgfs-basic") else {
        return;
    };
    parent.child("a/b");
    let fs = v1(&parent);
    let root = name(parent.name());
    assert_eq!(fs.root(), &root);
    let a = name(&parent.name_of("a"));
    let b = name(&parent.name_of("a/b"));
    assert_eq!(fs.list().unwrap(), vec![root.clone(), a.clone(), b.clone()]);
    assert_eq!(fs.dir_of(&b).unwrap(), parent.path().join("a/b"));
    assert!(fs.exists(&b));
    assert!(matches!(
        fs.open(&name("/elsewhere")),
        Err(CgroupFsError::OutsideRoot { .. })
    ));

    let mut cg = fs.open(&a).unwrap();
    assert_eq!(cg.limit().unwrap(), None, "a new cgroup is unlimited");
    assert!(cg.usage().unwrap() < MIB);
    assert!(cg.peak().unwrap().is_some());
    assert_eq!(cg.failcnt().unwrap(), Some(0));
    let stat = cg.stat().unwrap();
    assert!(stat.get("total_rss").is_some() && stat.inactive_file().is_some());
    assert!(cg.inactive_file().unwrap().is_some());
    let oom = cg.oom_state().unwrap();
    assert_eq!(
        (oom.oom, oom.oom_kill, oom.under_oom, oom.oom_kill_disable),
        (None, 0, Some(false), Some(false))
    );
    cg.set_limit(Some(64 * MIB + 100)).unwrap();
    assert_eq!(
        cg.limit().unwrap(),
        Some(64 * MIB),
        "rounded down to a page"
    );
    cg.set_oom_kill_disable(true).unwrap();
    assert_eq!(cg.oom_state().unwrap().oom_kill_disable, Some(true));
    cg.set_oom_kill_disable(false).unwrap();
    cg.set_limit(None).unwrap();
    assert_eq!(cg.limit().unwrap(), None);
    assert!(cg.procs().unwrap().is_empty());
    assert!(matches!(cg.high(), Err(CgroupFsError::Unsupported { .. })));

    let x = name(&parent.name_of("x"));
    fs.create(&x).unwrap();
    assert!(matches!(
        fs.create(&x),
        Err(CgroupFsError::AlreadyExists { .. })
    ));
    fs.remove(&x).unwrap();
    assert!(!fs.exists(&x));

    // A sub-root names its cgroups from the mount too.
    let sub = V1Fs::open(&parent.path().join("a")).unwrap();
    assert_eq!(sub.root(), &a);
    assert_eq!(sub.list().unwrap(), vec![a, b]);
}

#[test]
fn v1_hog_is_charged_and_limit_below_usage_is_busy() {
    let Some(parent) = LiveParent::new("cgfs-busy") else {
        return;
    };
    let dir = parent.child("a");
    parent.set_limit("a", 64 * MIB);
    let fs = v1(&parent);
    let a = name(&parent.name_of("a"));
    let mut cg = fs.open(&a).unwrap();
    let before = cg.usage().unwrap();
    let threshold = cg.usage_threshold_eventfd(8 * MIB).unwrap();

    let mut hog = spawn_hog(&dir, 20, HogOptions::default());
    assert_eq!(wait_ready(&mut hog), Ok(20 * MIB));
    // Same kept-open file, new value.
    let usage = cg.usage().unwrap();
    assert!(usage > before);
    assert!(
        (20 * MIB..24 * MIB).contains(&usage),
        "usage {usage} is not about 20 MiB"
    );
    let anon = cg.stat().unwrap().anon().unwrap();
    assert!(anon >= 20 * MIB, "total_rss {anon}");
    assert_eq!(cg.procs().unwrap(), vec![hog.id()]);
    assert!(
        wait_eventfd(threshold).is_some(),
        "usage threshold eventfd at 8 MiB did not fire"
    );

    // Anonymous memory, no swap: reclaim cannot reach 10 MiB.
    let err = cg.set_limit(Some(10 * MIB)).unwrap_err();
    assert!(err.is_busy(), "expected Busy, got {err}");
    assert!(err.to_string().contains("memory.limit_in_bytes"), "{err}");
    assert_eq!(cg.limit().unwrap(), Some(64 * MIB), "old limit kept");
    assert_eq!(
        cg.oom_state().unwrap().oom_kill,
        0,
        "no OOM kill on this path"
    );
    assert!(hog.try_wait().unwrap().is_none(), "the hog survived");

    // rmdir of a cgroup with a task is Busy too.
    assert!(fs.remove(&a).unwrap_err().is_busy());
    hog.kill().unwrap();
    hog.wait().unwrap();
}

#[test]
fn v1_oom_eventfd_fires_and_oom_kill_is_counted() {
    let Some(parent) = LiveParent::new("cgfs-oom") else {
        return;
    };
    let dir = parent.child("a");
    parent.set_limit("a", 16 * MIB);
    let fs = v1(&parent);
    let a = name(&parent.name_of("a"));
    let mut cg = fs.open(&a).unwrap();
    let efd = cg.oom_eventfd().unwrap();
    // v1 signals listeners of the OOM cgroup and of its descendants, not of
    // its ancestors: a listener on the parent stays quiet.
    let mut root = fs.open(fs.root()).unwrap();
    let parent_efd = root.oom_eventfd().unwrap();

    let mut hog = spawn_hog(&dir, 48, HogOptions::default());
    assert_eq!(wait_ready(&mut hog), Err(HogError::Exited));
    let status = hog.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    let count = wait_eventfd(efd).expect("oom eventfd did not fire");
    assert!(count >= 1);
    assert!(fs.exists(&a), "a real OOM, not a removal");
    let oom = cg.oom_state().unwrap();
    assert!(oom.oom_kill >= 1, "oom_kill {}", oom.oom_kill);
    assert!(cg.failcnt().unwrap().unwrap() > 0);
    assert_eq!(
        root.oom_state().unwrap().oom_kill,
        0,
        "kills counted locally"
    );
    let mut fds = [PollFd::new(parent_efd.as_fd(), PollFlags::POLLIN)];
    assert_eq!(
        poll(&mut fds, PollTimeout::ZERO).unwrap(),
        0,
        "an ancestor's listener is not signalled"
    );
}

#[test]
fn v1_removal_signals_eventfd_and_handles_report_gone() {
    let Some(parent) = LiveParent::new("cgfs-gone") else {
        return;
    };
    parent.child("r");
    let fs = v1(&parent);
    let r = name(&parent.name_of("r"));
    let mut cg = fs.open(&r).unwrap();
    let mut unopened = fs.open(&r).unwrap();
    cg.usage().unwrap();
    cg.stat().unwrap();
    let efd = cg.oom_eventfd().unwrap();
    fs.remove(&r).unwrap();
    assert!(
        wait_eventfd(efd).is_some(),
        "removal did not signal the eventfd"
    );
    assert!(!fs.exists(&r));
    // Kept-open files answer ENODEV, unopened ones ENOENT: both are Gone.
    assert!(cg.usage().unwrap_err().is_gone());
    assert!(cg.stat().unwrap_err().is_gone());
    assert!(unopened.usage().unwrap_err().is_gone());
    assert!(unopened.peak().unwrap_err().is_gone());
    assert!(fs.open(&r).err().unwrap().is_gone());
    assert!(fs.remove(&r).unwrap_err().is_gone());
    assert!(!fs.list().unwrap().contains(&r));
}

#[test]
fn open_root_refuses_what_is_not_a_memory_hierarchy() {
    let tmp = tempfile::tempdir().unwrap();
    let err = open_root(tmp.path(), None).err().unwrap();
    assert!(matches!(err, CgroupFsError::NotCgroupFs { .. }), "{err}");
    // On this machine /sys/fs/cgroup is a tmpfs holding the v1 mounts, and
    // the unified hierarchy has no memory controller.
    let sys = Path::new("/sys/fs/cgroup");
    if let Ok(st) = nix::sys::statfs::statfs(sys) {
        if st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC {
            let err = open_root(sys, None).err().unwrap();
            assert!(matches!(err, CgroupFsError::NotCgroupFs { .. }), "{err}");
        }
    }
    let unified = Path::new("/sys/fs/cgroup/unified");
    if let Ok(c) = std::fs::read_to_string(unified.join("cgroup.controllers")) {
        if !c.split_whitespace().any(|w| w == "memory") {
            let err = open_root(unified, None).err().unwrap();
            assert!(
                matches!(err, CgroupFsError::NoMemoryController { .. }),
                "{err}"
            );
        }
    }
}

#[test]
fn live_parent_drop_kills_waiting_hogs_and_removes_the_tree() {
    let Some(parent) = LiveParent::new("cgfs-guard") else {
        return;
    };
    let dir = parent.child("a/b");
    parent.set_limit("a/b", 16 * MIB);
    let fs = v1(&parent);
    let b = name(&parent.name_of("a/b"));
    let mut cg = fs.open(&b).unwrap();
    cg.set_oom_kill_disable(true).unwrap();
    let efd = cg.oom_eventfd().unwrap();
    let mut hog = spawn_hog(&dir, 32, HogOptions::default());
    // With oom_kill_disable the hog sleeps at the limit instead of dying.
    assert!(wait_eventfd(efd).is_some(), "no OOM notification");
    let oom = cg.oom_state().unwrap();
    assert_eq!(oom.under_oom, Some(true));
    assert_eq!(oom.oom_kill, 0);
    assert!(
        hog.try_wait().unwrap().is_none(),
        "the hog waits, not killed"
    );
    let path = parent.path().to_path_buf();
    drop(cg);
    drop(parent);
    assert!(!path.exists(), "{} left behind", path.display());
    let status = hog.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
}
