//! The event sources of one cgroup: a v1 OOM eventfd or a v2
//! `memory.events` file with its last counters, a v1 usage threshold
//! eventfd, a v2 PSI trigger.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::WatchDescriptor;

use super::error::WatchError;
use crate::cgroupfs::parse::{parse_memory_events, MemoryEvents};
use crate::cgroupfs::ParseError;
use crate::name::CgroupName;

/// Largest `memory.events` read (the kernel's is about 100 bytes).
const EVENTS_BUF: usize = 4096;

/// Every source of one cgroup (the watcher keeps an entry only while it
/// has at least one).
#[derive(Debug, Default)]
pub(crate) struct CgroupSources {
    /// The cgroup's directory when known (to tell a v1 removal wake-up).
    pub(crate) dir: Option<PathBuf>,
    /// OOM notifications.
    pub(crate) oom: Option<OomSource>,
    /// v1 usage threshold.
    pub(crate) threshold: Option<ThresholdSource>,
    /// v2 PSI trigger.
    pub(crate) pressure: Option<PressureSource>,
    /// v2: the inotify watch on the parent directory for the cgroup's rmdir.
    pub(crate) removal: Option<WatchDescriptor>,
}

/// How OOMs of a cgroup are noticed.
#[derive(Debug)]
pub(crate) enum OomSource {
    /// v1: an eventfd registered on `memory.oom_control`, in the epoll set.
    V1 {
        /// Its epoll token.
        token: u64,
        /// The eventfd.
        fd: OwnedFd,
    },
    /// v2: `memory.events` under an inotify IN_MODIFY watch.
    V2(EventsFile),
}

/// A v1 usage threshold eventfd, in the epoll set.
#[derive(Debug)]
pub(crate) struct ThresholdSource {
    /// Its epoll token.
    pub(crate) token: u64,
    /// The eventfd.
    pub(crate) fd: OwnedFd,
    /// The threshold registered.
    pub(crate) bytes: u64,
}

/// A v2 PSI trigger file, in the epoll set with EPOLLPRI.
#[derive(Debug)]
pub(crate) struct PressureSource {
    /// Its epoll token.
    pub(crate) token: u64,
    /// The trigger (closing it removes the trigger).
    pub(crate) file: File,
}

/// A v2 `memory.events` file and the counters last read from it.
#[derive(Debug)]
pub(crate) struct EventsFile {
    /// The inotify watch on it.
    pub(crate) wd: WatchDescriptor,
    file: File,
    path: PathBuf,
    last: Option<MemoryEvents>,
}

/// What a re-read of `memory.events` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reread {
    /// The counters differ from the previous read.
    Changed {
        /// The counters now.
        counters: MemoryEvents,
        /// Their increase, `None` without an earlier read.
        delta: Option<MemoryEvents>,
    },
    /// Same counters (a coalesced or unrelated wake-up), or a file caught
    /// mid-rewrite (empty): the next IN_MODIFY brings the news.
    Unchanged,
    /// The cgroup is gone (ENODEV / ENOENT).
    Gone,
}

impl EventsFile {
    /// Takes the baseline: reads `file` (already watched as `wd`) once.
    pub(crate) fn new(
        cgroup: &CgroupName,
        wd: WatchDescriptor,
        file: File,
        path: &Path,
    ) -> Result<Self, WatchError> {
        let mut buf = [0u8; EVENTS_BUF];
        let text = read_text(&file, &mut buf).map_err(|errno| WatchError::Read {
            cgroup: cgroup.clone(),
            path: path.to_path_buf(),
            errno,
        })?;
        let last = match parse_memory_events(text) {
            Ok(ev) => Some(ev),
            Err(ParseError::Empty) => None,
            Err(source) => {
                return Err(WatchError::Parse {
                    cgroup: cgroup.clone(),
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(EventsFile {
            wd,
            file,
            path: path.to_path_buf(),
            last,
        })
    }

    /// Re-reads the counters and compares them with the previous read.
    pub(crate) fn reread(&mut self, cgroup: &CgroupName) -> Reread {
        let mut buf = [0u8; EVENTS_BUF];
        let text = match read_text(&self.file, &mut buf) {
            Ok(t) => t,
            Err(Errno::ENODEV | Errno::ENOENT) => return Reread::Gone,
            Err(errno) => {
                tracing::warn!(cgroup = %cgroup, path = %self.path.display(), %errno, "cannot re-read memory.events");
                return Reread::Unchanged;
            }
        };
        let counters = match parse_memory_events(text) {
            Ok(c) => c,
            Err(ParseError::Empty) => return Reread::Unchanged,
            Err(e) => {
                tracing::warn!(cgroup = %cgroup, path = %self.path.display(), error = %e, "cannot parse memory.events");
                return Reread::Unchanged;
            }
        };
        if self.last == Some(counters) {
            return Reread::Unchanged;
        }
        let delta = self.last.map(|l| counters.saturating_delta(&l));
        self.last = Some(counters);
        Reread::Changed { counters, delta }
    }
}

impl EventsFile {
    /// True when the file has no link left (deleted while we hold it open,
    /// as an rmdir of a fixture directory does).
    pub(crate) fn is_unlinked(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.file.metadata().is_ok_and(|m| m.nlink() == 0)
    }
}

/// Reads the whole (small) file from offset 0 as UTF-8; EFBIG when it
/// fills the buffer, EILSEQ when it is not UTF-8.
fn read_text<'b>(file: &File, buf: &'b mut [u8; EVENTS_BUF]) -> Result<&'b str, Errno> {
    let n = loop {
        match file.read_at(buf, 0) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
        }
    };
    if n == buf.len() {
        return Err(Errno::EFBIG);
    }
    std::str::from_utf8(&buf[..n]).map_err(|_| Errno::EILSEQ)
}

/// Reads an eventfd's counter (resetting it): `None` when it was zero.
pub(crate) fn read_eventfd(fd: &OwnedFd) -> Option<u64> {
    let mut b = [0u8; 8];
    loop {
        return match nix::unistd::read(fd, &mut b) {
            Ok(8) => Some(u64::from_ne_bytes(b)),
            Ok(_) | Err(Errno::EAGAIN) => None,
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                tracing::warn!(%errno, "eventfd read failed");
                None
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_events(dir: &Path, text: &str) -> (File, PathBuf) {
        let path = dir.join("memory.events");
        std::fs::write(&path, text).unwrap();
        (File::open(&path).unwrap(), path)
    }

    fn wd() -> WatchDescriptor {
        // Any descriptor: these tests do not use inotify.
        let ino =
            nix::sys::inotify::Inotify::init(nix::sys::inotify::InitFlags::IN_CLOEXEC).unwrap();
        ino.add_watch("/", nix::sys::inotify::AddWatchFlags::IN_ATTRIB)
            .unwrap()
    }

    #[test]
    fn reread_reports_changes_once_with_their_delta() {
        let dir = tempfile::tempdir().unwrap();
        let cg = CgroupName::parse("/a").unwrap();
        let (file, path) = open_events(dir.path(), "low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\n");
        let mut ev = EventsFile::new(&cg, wd(), file, &path).unwrap();
        assert_eq!(ev.reread(&cg), Reread::Unchanged);
        std::fs::write(&path, "low 0\nhigh 2\nmax 4\noom 2\noom_kill 2\n").unwrap();
        let Reread::Changed { counters, delta } = ev.reread(&cg) else {
            panic!("no change seen")
        };
        assert_eq!((counters.oom, counters.oom_kill), (2, 2));
        let d = delta.unwrap();
        assert_eq!((d.max, d.oom, d.oom_kill, d.high), (1, 1, 1, 0));
        assert_eq!(ev.reread(&cg), Reread::Unchanged);
        std::fs::write(&path, "").unwrap();
        assert_eq!(ev.reread(&cg), Reread::Unchanged, "mid-rewrite");
    }

    #[test]
    fn empty_baseline_gives_no_delta_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cg = CgroupName::parse("/a").unwrap();
        let (file, path) = open_events(dir.path(), "");
        let mut ev = EventsFile::new(&cg, wd(), file, &path).unwrap();
        std::fs::write(&path, "oom 1\noom_kill 1\n").unwrap();
        assert!(matches!(
            ev.reread(&cg),
            Reread::Changed { delta: None, .. }
        ));
        let (file, path) = open_events(dir.path(), "oom x\n");
        assert!(matches!(
            EventsFile::new(&cg, wd(), file, &path),
            Err(WatchError::Parse { .. })
        ));
        let big = "k 1\n".repeat(EVENTS_BUF);
        let (file, path) = open_events(dir.path(), &big);
        assert!(matches!(
            EventsFile::new(&cg, wd(), file, &path),
            Err(WatchError::Read {
                errno: Errno::EFBIG,
                ..
            })
        ));
    }
}
