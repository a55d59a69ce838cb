//! Rotation and retention of a long recording (`cgrec record --rotate 1h
//! --rotate-size 64M --retain 7d`).
//!
//! With rotation `--out` names a **directory** (created if missing). The
//! recording writes one trace file at a time, named by its start time,
//! `cgrec-HOST-YYYYMMDDTHHMMSS.mmmZ.bin` (UTC, fixed width, so names sort
//! in time order). A file is closed when it is `--rotate` old or has
//! `--rotate-size` bytes, whichever comes first: its last chunk is written
//! and synced and it is re-chunked like a stopped recording; the next file
//! starts with its own header (the same host, root and interval, the new
//! start time) and re-declares every tracked cgroup. The cgroups' state
//! (open handles, OOM counter baselines, last limit) lives in the session,
//! not in the file, so no OOM kill is missed or counted twice across files.
//!
//! Retention: after each rotation, closed files of this host in the
//! directory whose **end time** (modification time: the last write is the
//! close) is older than `--retain` are deleted. The file being written is
//! never deleted, nor a file of another host or not named like ours.
//!
//! Readers take the directory as one trace
//! ([`cgcal_core::trace::TraceSet`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::error::RecordError;
use super::trace_file::TraceFile;
use crate::cli::{rotated_trace_name, trace_name_prefix};

/// When to close a file and how long to keep closed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    /// The directory the files go to.
    pub dir: PathBuf,
    /// Close a file once it is this old.
    pub every: Option<Duration>,
    /// Close a file once it has this many bytes.
    pub max_bytes: Option<u64>,
    /// Delete closed files that ended longer ago than this.
    pub retain: Option<Duration>,
}

/// The rotation state of a recording.
#[derive(Debug)]
pub struct Rotation {
    policy: RotationPolicy,
    host: String,
    opened: Instant,
    rotations: u64,
    deleted: u64,
}

impl Rotation {
    /// Rotation for a recording of `host` whose first file was opened at `opened`.
    pub fn new(policy: RotationPolicy, host: &str, opened: Instant) -> Rotation {
        Rotation {
            policy,
            host: host.to_string(),
            opened,
            rotations: 0,
            deleted: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// The path of the file starting at `start_ns`.
    pub fn path_for(&self, start_ns: u64) -> PathBuf {
        self.policy
            .dir
            .join(rotated_trace_name(&self.host, start_ns))
    }

    /// Whether the current file (`bytes` long) is to be closed at `now`.
    pub fn due(&self, now: Instant, bytes: u64) -> bool {
        let old = self
            .policy
            .every
            .is_some_and(|d| now.saturating_duration_since(self.opened) >= d);
        let big = self.policy.max_bytes.is_some_and(|m| bytes >= m);
        old || big
    }

    /// Creates the next file, starting at `start_ns` (`now` on the monotonic clock).
    pub fn open_next(
        &mut self,
        current: &TraceFile,
        start_ns: u64,
        now: Instant,
    ) -> Result<TraceFile, RecordError> {
        let mut header = current.header().clone();
        header.start_ns = start_ns;
        let mut path = self.path_for(start_ns);
        if path == current.path() || path.exists() {
            // Two files in one millisecond (a tiny --rotate-size): keep both.
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let name = format!("{stem}-{}.bin", self.rotations + 1);
            path = self.policy.dir.join(name);
        }
        let next = TraceFile::create(&path, &header)?;
        self.opened = now;
        self.rotations += 1;
        Ok(next)
    }

    /// Files closed so far.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    /// Files deleted by retention so far.
    pub fn deleted(&self) -> u64 {
        self.deleted
    }

    /// Deletes our closed files that ended more than `--retain` before
    /// `now`, never `current`; returns the deleted paths. Failures are logged.
    pub fn apply_retention(&mut self, now: SystemTime, current: &Path) -> Vec<PathBuf> {
        let Some(retain) = self.policy.retain else {
            return Vec::new();
        };
        let deleted = expired_files(&self.policy.dir, &self.host, retain, now, current);
        let deleted: Vec<PathBuf> = deleted
            .into_iter()
            .filter(|p| match std::fs::remove_file(p) {
                Ok(()) => {
                    tracing::info!("retention: deleted {}", p.display());
                    true
                }
                Err(e) => {
                    tracing::warn!("retention: cannot delete {}: {e}", p.display());
                    false
                }
            })
            .collect();
        self.deleted += deleted.len() as u64;
        deleted
    }
}

/// The files of `host`'s rotated recording in `dir`, other than `current`,
/// whose modification time is more than `retain` before `now`, oldest first.
pub fn expired_files(
    dir: &Path,
    host: &str,
    retain: Duration,
    now: SystemTime,
    current: &Path,
) -> Vec<PathBuf> {
    let prefix = trace_name_prefix(host);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p != current)
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".bin"))
        })
        .filter(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|end| now.duration_since(end).is_ok_and(|age| age > retain))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_by_age_or_size() {
        let t0 = Instant::now();
        let policy = RotationPolicy {
            dir: PathBuf::from("d"),
            every: Some(Duration::from_secs(10)),
            max_bytes: Some(1000),
            retain: None,
        };
        let r = Rotation::new(policy, "h", t0);
        assert!(!r.due(t0 + Duration::from_secs(9), 999));
        assert!(r.due(t0 + Duration::from_secs(10), 0));
        assert!(r.due(t0, 1000));
        let size_only = RotationPolicy {
            every: None,
            ..r.policy().clone()
        };
        assert!(!Rotation::new(size_only, "h", t0).due(t0 + Duration::from_secs(1 << 20), 10));
    }

    #[test]
    fn names_sort_in_time_order() {
        let r = Rotation::new(
            RotationPolicy {
                dir: PathBuf::from("/var/lib/cgrec"),
                every: None,
                max_bytes: None,
                retain: None,
            },
            "web 1",
            Instant::now(),
        );
        let a = r.path_for(1_795_867_200_005_000_000);
        assert_eq!(
            a,
            Path::new("/var/lib/cgrec/cgrec-web_1-20261128T120000.005Z.bin")
        );
        let b = r.path_for(1_795_867_200_010_000_000);
        let c = r.path_for(1_795_867_201_000_000_000);
        assert!(a < b && b < c);
    }

    #[test]
    fn retention_deletes_only_our_old_closed_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        for n in [
            "cgrec-h-20261128T120000.000Z.bin",
            "cgrec-h-20261128T120001.000Z.bin",
            "cgrec-h-20261128T120002.000Z.bin",
            "cgrec-other-20261128T120000.000Z.bin",
            "notes.txt",
        ] {
            std::fs::write(p(n), b"x").unwrap();
        }
        let current = p("cgrec-h-20261128T120002.000Z.bin");
        let now = SystemTime::now() + Duration::from_secs(60);
        let mut r = Rotation::new(
            RotationPolicy {
                dir: dir.path().to_path_buf(),
                every: None,
                max_bytes: None,
                retain: Some(Duration::from_secs(30)),
            },
            "h",
            Instant::now(),
        );
        let deleted = r.apply_retention(now, &current);
        assert_eq!(
            deleted,
            vec![
                p("cgrec-h-20261128T120000.000Z.bin"),
                p("cgrec-h-20261128T120001.000Z.bin")
            ]
        );
        assert!(current.exists() && p("cgrec-other-20261128T120000.000Z.bin").exists());
        assert_eq!(r.deleted(), 2);
        // Nothing is older than a day.
        let keep = expired_files(dir.path(), "h", Duration::from_secs(86_400), now, &current);
        assert!(keep.is_empty());
    }

    /// A session on a fake v1 hierarchy rotated after every sweep: each
    /// file is a complete trace re-declaring the cgroup; an OOM kill before
    /// a rotation is in the first file only (the baseline is carried), the
    /// next one in the second; the directory reads as one trace.
    #[test]
    fn rotation_keeps_the_oom_baseline_and_redeclares_cgroups() {
        use crate::record::clock::TraceClock;
        use crate::record::session::Session;
        use crate::record::tracked_cgroup::SweepDepth;
        use cgcal_core::cgroupfs::MemoryFs;
        use cgcal_core::name::CgroupName;
        use cgcal_core::trace::{
            open_trace, read_all, CgroupVersion, EventKind, Header, ReadItem, TraceSet,
        };
        use cgcal_core::watch::Watcher;

        let dir = tempfile::tempdir().unwrap();
        let root = CgroupName::parse("/r").unwrap();
        let a = CgroupName::parse("/r/a").unwrap();
        let fs = MemoryFs::new(CgroupVersion::V1, root.clone());
        fs.insert(&a, 1 << 20, Some(64 << 20)).unwrap();
        let clock = TraceClock::start();
        let header = Header {
            host: "h".into(),
            kernel: String::new(),
            cgroup_version: CgroupVersion::V1,
            root,
            interval_ns: 1,
            host_memory: None,
            start_ns: clock.start_ns(),
            tool: "test".into(),
        };
        let policy = RotationPolicy {
            dir: dir.path().to_path_buf(),
            every: Some(Duration::from_nanos(1)),
            max_bytes: None,
            retain: None,
        };
        let rotation = Rotation::new(policy, "h", clock.start_instant());
        let first = TraceFile::create(&rotation.path_for(clock.start_ns()), &header).unwrap();
        let mut s =
            Session::start(Box::new(fs.clone()), Watcher::new().unwrap(), first, clock).unwrap();
        s.set_rotation(rotation);
        let kill = || fs.trigger_oom(&a).unwrap();
        kill();
        s.sweep(s.clock().now_ns(), SweepDepth::Full).unwrap();
        s.maybe_rotate(Instant::now()).unwrap();
        s.sweep(s.clock().now_ns(), SweepDepth::Full).unwrap();
        kill();
        s.sweep(s.clock().now_ns(), SweepDepth::Full).unwrap();
        s.maybe_rotate(Instant::now()).unwrap();
        s.sweep(s.clock().now_ns(), SweepDepth::Full).unwrap();
        assert_eq!(s.rotation().unwrap().rotations(), 2);
        assert_eq!(s.counts().oom_kills, 2);
        s.finish().unwrap();

        let set = TraceSet::open(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(set.files().len(), 3);
        let kills_per_file: Vec<usize> = set
            .files()
            .iter()
            .map(|f| {
                let (_, defs, samples, events, damage) = read_all(open_trace(f).unwrap()).unwrap();
                assert!(damage.is_empty());
                assert!(defs.iter().any(|d| d.name == a), "{f:?} declares /r/a");
                assert!(!samples.is_empty(), "{f:?}");
                events
                    .iter()
                    .filter(|e| matches!(e.kind, EventKind::OomKill { .. }))
                    .count()
            })
            .collect();
        assert_eq!(kills_per_file, [1, 1, 0]);
        let mut r = set.reader().unwrap();
        let mut names = std::collections::BTreeSet::new();
        while let Some(item) = r.next_item() {
            if let ReadItem::Chunk(c) = item.unwrap() {
                for x in &c.samples {
                    names.insert(r.cgroup_name(x.cgroup).unwrap().clone());
                }
            }
        }
        assert!(names.contains(&a));
    }
}
