//! The time span of a trace (its first and last sample times), found
//! without reading the whole file: the first chunk that has samples gives
//! the start, and the chunks of the file's tail give the end. The tail is
//! read by a second reader that starts at a byte offset near the end and
//! resynchronises on the next valid chunk frame (chunks are self-contained);
//! the tail grows fourfold until it holds a sample.
//!
//! A directory of rotated traces ([`TraceSet`]) spans from the first sample
//! of its first file that has one to the last sample of its last such file.
//!
//! Traces are written in time order (the recorder samples forward in time,
//! imports are sorted), so the first chunk holds the earliest sample and the
//! last chunks the latest; within a chunk the extreme times are taken.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::Context;
use cgcal_core::trace::{open_trace, ReadItem, TraceReader, TraceSet};

/// First tail read: 4 MiB (a few chunks of a recorder trace).
const FIRST_TAIL: u64 = 4 << 20;

/// First and last sample times of a trace, nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Time of the first sample.
    pub first_ns: u64,
    /// Time of the last sample.
    pub last_ns: u64,
}

/// The span of the trace at `path` (a file, or a directory read as one
/// trace); `None` when no readable chunk holds a sample.
pub fn trace_span(path: &Path) -> anyhow::Result<Option<Span>> {
    let set = TraceSet::open(&[path.to_path_buf()])?;
    let mut first = None;
    for f in set.files() {
        if let Some(s) = file_span(f)? {
            first = Some(s);
            break;
        }
    }
    let Some(first) = first else {
        return Ok(None);
    };
    for f in set.files().iter().rev() {
        if let Some(s) = file_span(f)? {
            return Ok(Some(Span {
                first_ns: first.first_ns,
                last_ns: s.last_ns.max(first.first_ns),
            }));
        }
    }
    Ok(Some(first))
}

/// The span of one trace file.
fn file_span(path: &Path) -> anyhow::Result<Option<Span>> {
    let mut reader = open_trace(path)?;
    let header_len = reader.offset();
    let mut first = None;
    while let Some(item) = reader.next_item() {
        if let ReadItem::Chunk(c) = item? {
            if let Some(t) = c.samples.iter().map(|s| s.time_ns).min() {
                first = Some(t);
                break;
            }
        }
    }
    let Some(first_ns) = first else {
        return Ok(None);
    };
    let mut prefix = vec![0u8; header_len as usize];
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    file.read_exact(&mut prefix)
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len();
    let mut tail = FIRST_TAIL;
    loop {
        let start = len.saturating_sub(tail).max(header_len);
        if let Some(last_ns) = last_time_from(path, &prefix, start)? {
            return Ok(Some(Span {
                first_ns,
                last_ns: last_ns.max(first_ns),
            }));
        }
        if start == header_len {
            // Every chunk was read and none has a sample after all: the file changed.
            return Ok(Some(Span {
                first_ns,
                last_ns: first_ns,
            }));
        }
        tail = tail.saturating_mul(4);
    }
}

/// The latest sample time in the chunks from byte `start` to the end.
fn last_time_from(path: &Path, prefix: &[u8], start: u64) -> anyhow::Result<Option<u64>> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    file.seek(SeekFrom::Start(start))
        .with_context(|| format!("cannot seek in {}", path.display()))?;
    let input = Cursor::new(prefix).chain(BufReader::with_capacity(256 * 1024, file));
    let mut reader = TraceReader::with_file_name(input, &path.display().to_string())?;
    let mut last = None;
    while let Some(item) = reader.next_item() {
        if let ReadItem::Chunk(c) = item? {
            if let Some(t) = c.samples.iter().map(|s| s.time_ns).max() {
                last = Some(last.map_or(t, |l: u64| l.max(t)));
            }
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgcal_core::trace::synthetic_noise::{write_noise_trace, NoiseSpec};

    #[test]
    fn finds_first_and_last_sample_of_a_multi_chunk_trace() {
        let dir = tempfile::tempdir().unwrap();
        let spec = NoiseSpec {
            cgroups: 200,
            samples_per_cgroup: 2000,
            ..NoiseSpec::fleet_hour(5)
        };
        let path = dir.path().join("t.bin");
        let bytes = write_noise_trace(&spec, Vec::new()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let samples: Vec<_> = spec.samples().collect();
        let want = Span {
            first_ns: samples.iter().map(|s| s.time_ns).min().unwrap(),
            last_ns: samples.iter().map(|s| s.time_ns).max().unwrap(),
        };
        assert_eq!(trace_span(&path).unwrap(), Some(want));
        // A torn tail: the end is the last complete chunk's.
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let torn = trace_span(&path).unwrap().unwrap();
        assert_eq!(torn.first_ns, want.first_ns);
        assert!(torn.last_ns < want.last_ns && torn.last_ns > want.first_ns);
    }
}
