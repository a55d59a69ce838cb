//! Where the original limits come from: the daemon's write-ahead journal
//! (its `orig` records: each cgroup's limit when cgact first saw it) or a
//! trace recorded by `cgrec` (each cgroup's limit at its first sample, or
//! at its last sample at or before a given time).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use cgcal_cli::UserError;
use cgcal_core::name::CgroupName;
use cgcal_core::parse::TimeSpec;
use cgcal_core::trace::{open_trace_set, ReadItem, TraceSetReader};

use crate::engine::journal;

/// The limit to restore of each cgroup (`None`: unlimited), by name.
pub type Originals = BTreeMap<CgroupName, Option<u64>>;

/// The original limits a journal recorded. The file is only read (never
/// created); torn or corrupt lines are skipped, as at the daemon's start.
pub fn from_journal(path: &Path) -> Result<Originals, UserError> {
    let fail = |e: std::io::Error| {
        UserError::new(format!("cannot read the journal: {e}"))
            .at(path.display().to_string())
            .hint("give the file the daemon wrote with --journal")
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    if !file.metadata().map_err(fail)?.is_file() {
        return Err(UserError::new("the journal must be a regular file")
            .at(path.display().to_string())
            .hint("give the file the daemon wrote with --journal"));
    }
    let mut bytes = Vec::new();
    file.take(journal::MAX_READ)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    Ok(journal::parse(&String::from_utf8_lossy(&bytes)).originals)
}

/// The original limits in a trace (a file or a directory of files): each
/// cgroup's limit at its first sample, or with `at`, at its last sample at
/// or before that time (cgroups first sampled after it are left out).
/// Damaged chunks are skipped with a warning.
pub fn from_trace(path: &Path, at: Option<TimeSpec>) -> Result<Originals, UserError> {
    let at = match at {
        None => None,
        Some(spec @ TimeSpec::FromEnd(_)) => {
            let end = last_sample_time(&mut open(path)?, path)?;
            Some(spec.resolve(0, end))
        }
        Some(spec) => {
            let reader = open(path)?;
            Some(spec.resolve(reader.header().start_ns, u64::MAX))
        }
    };
    let mut reader = open(path)?;
    let mut out = Originals::new();
    while let Some(item) = reader.next_item() {
        let chunk = match item.map_err(|e| trace_error(path, e))? {
            ReadItem::Chunk(c) => c,
            ReadItem::Damaged(d) => {
                tracing::warn!(trace = %path.display(), offset = d.offset, "damaged chunk skipped");
                continue;
            }
        };
        for s in chunk.samples {
            if at.is_some_and(|t| s.time_ns > t) {
                continue;
            }
            let Some(name) = reader.cgroup_name(s.cgroup) else {
                continue;
            };
            match at {
                None => {
                    out.entry(name.clone()).or_insert(s.limit);
                }
                Some(_) => {
                    out.insert(name.clone(), s.limit);
                }
            }
        }
    }
    Ok(out)
}

fn open(path: &Path) -> Result<TraceSetReader, UserError> {
    open_trace_set(path).map_err(|e| trace_error(path, e))
}

fn trace_error(path: &Path, e: impl std::fmt::Display) -> UserError {
    UserError::new(format!("cannot read the trace: {e}"))
        .at(path.display().to_string())
        .hint("give a trace recorded by cgrec record")
}

/// The time of the last sample (for `--at -DURATION`).
fn last_sample_time(reader: &mut TraceSetReader, path: &Path) -> Result<u64, UserError> {
    let mut end = reader.header().start_ns;
    while let Some(item) = reader.next_item() {
        if let ReadItem::Chunk(c) = item.map_err(|e| trace_error(path, e))? {
            end = c.samples.iter().map(|s| s.time_ns).fold(end, u64::max);
        }
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use cgcal_core::trace::{CgroupVersion, Header, Sample, TraceWriter};

    use super::*;
    use crate::engine::journal::{encode, Record};

    const SEC: u64 = 1_000_000_000;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn journal_originals_first_value_wins_and_a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut text = String::new();
        for (n, l) in [("/r/a", Some(4096)), ("/r/b", None), ("/r/a", Some(8192))] {
            text += &encode(&Record::Orig {
                name: n.into(),
                limit: l,
            });
        }
        text += "deadbeef torn";
        std::fs::write(&path, text).unwrap();
        let o = from_journal(&path).unwrap();
        assert_eq!(o.get(&name("/r/a")), Some(&Some(4096)));
        assert_eq!(o.get(&name("/r/b")), Some(&None));
        assert_eq!(o.len(), 2);
        let e = from_journal(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nope") && e.contains("cannot read the journal"),
            "{e}"
        );
        assert!(
            !dir.path().join("nope").exists(),
            "the journal is never created"
        );
    }

    #[test]
    fn trace_gives_first_sample_or_the_limit_at_a_time() {
        let header = Header {
            host: "h".into(),
            kernel: String::new(),
            cgroup_version: CgroupVersion::V1,
            root: name("/r"),
            interval_ns: SEC,
            host_memory: None,
            start_ns: 100 * SEC,
            tool: "test".into(),
        };
        let mut w = TraceWriter::new(Vec::new(), &header).unwrap();
        let a = w.cgroup_id(&name("/r/a"), 100 * SEC);
        let b = w.cgroup_id(&name("/r/b"), 100 * SEC);
        let sample = |time_ns, cgroup, limit| Sample {
            time_ns,
            cgroup,
            usage: 0,
            limit,
            inactive_file: None,
            peak: None,
            failcnt: None,
        };
        for (t, la, lb) in [(100, 10, None), (101, 20, Some(5)), (102, 30, Some(6))] {
            w.push_sample(sample(t * SEC, a, Some(la))).unwrap();
            if t >= 101 {
                w.push_sample(sample(t * SEC, b, lb)).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bin");
        std::fs::write(&path, w.finish().unwrap()).unwrap();

        let first = from_trace(&path, None).unwrap();
        assert_eq!(first.get(&name("/r/a")), Some(&Some(10)));
        assert_eq!(first.get(&name("/r/b")), Some(&Some(5)));
        let at = from_trace(&path, Some(TimeSpec::FromStart(SEC))).unwrap();
        assert_eq!(at.get(&name("/r/a")), Some(&Some(20)));
        assert_eq!(at.get(&name("/r/b")), Some(&Some(5)));
        let early = from_trace(&path, Some(TimeSpec::Absolute(100 * SEC))).unwrap();
        assert_eq!(early.get(&name("/r/b")), None, "b not sampled yet");
        let end = from_trace(&path, Some(TimeSpec::FromEnd(0))).unwrap();
        assert_eq!(end.get(&name("/r/a")), Some(&Some(30)));
        let e = from_trace(&dir.path().join("x.bin"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.bin"), "{e}");
    }
}
