//! The trace being recorded: the writer, `fdatasync` at every flush, and
//! the re-chunking at a clean stop.
//!
//! Durability: every `--flush` writes a chunk and calls `fdatasync`, so a
//! crash of the *machine* (not only of the recorder) loses at most one
//! flush interval. At the default 5 s that is one `fdatasync` of a few
//! KiB every 5 s, far below the sampling cost; without it the page cache
//! could hold the last 30 s (dirty writeback) and a power loss would lose them.
//!
//! Compactness: chunks written every 5 s repeat every cgroup name and first
//! value; at a clean stop [`TraceFile::finish`] rewrites the file with
//! full-size chunks ([`cgcal_core::trace::compact`]) into a temporary file
//! next to it and renames it over the original; if that fails, the
//! 5 s-chunked file is kept (logged).

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use cgcal_core::trace::{compact, CompactStats, Event, Header, Sample, TraceError, TraceWriter};

use super::error::RecordError;

/// The trace file being written.
pub struct TraceFile {
    path: PathBuf,
    header: Header,
    writer: TraceWriter<BufWriter<File>>,
    sync: File,
}

impl std::fmt::Debug for TraceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TraceFile {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, header: &Header) -> Result<TraceFile, RecordError> {
        let create = |source| RecordError::CreateTrace {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(create)?;
        let sync = file.try_clone().map_err(create)?;
        let name = path.display().to_string();
        let writer =
            TraceWriter::with_file_name(BufWriter::with_capacity(256 * 1024, file), header, &name)?;
        Ok(TraceFile {
            path: path.to_path_buf(),
            header: header.clone(),
            writer,
            sync,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header written at the file's start.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The writer (cgroup ids, samples, events).
    pub fn writer(&mut self) -> &mut TraceWriter<BufWriter<File>> {
        &mut self.writer
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.writer.bytes_written()
    }

    /// Buffers a sample.
    pub fn push_sample(&mut self, s: Sample) -> Result<(), RecordError> {
        Ok(self.writer.push_sample(s)?)
    }

    /// Buffers an event.
    pub fn push_event(&mut self, e: Event) -> Result<(), RecordError> {
        Ok(self.writer.push_event(e)?)
    }

    /// Writes the buffered records as a chunk and `fdatasync`s the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.writer.flush_chunk()?;
        self.sync
            .sync_data()
            .map_err(|source| RecordError::Trace(self.io_error("fdatasync", source)))
    }

    /// Writes the last chunk, syncs, then rewrites the file with full-size
    /// chunks (kept as it is if that fails). Returns the final size and the
    /// compaction's figures when it succeeded.
    pub fn finish(mut self) -> Result<(u64, Option<CompactStats>), RecordError> {
        self.flush()?;
        let size = self.writer.bytes_written();
        drop(self.writer);
        let stats = match compact_in_place(&self.path) {
            Ok(stats) => Some(stats),
            Err(e) => {
                tracing::warn!(
                    "cannot rewrite {} with full-size chunks: {e}; keeping it as recorded",
                    self.path.display()
                );
                None
            }
        };
        Ok((stats.as_ref().map_or(size, |s| s.bytes_out), stats))
    }

    fn io_error(&self, op: &'static str, source: std::io::Error) -> TraceError {
        TraceError::Io {
            op,
            file: self.path.display().to_string(),
            offset: self.writer.bytes_written(),
            source,
        }
    }
}

/// Rewrites the trace at `path` with full-size chunks through a temporary
/// file in the same directory renamed over it (removed on failure).
pub fn compact_in_place(path: &Path) -> Result<CompactStats, TraceError> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".compacting");
    let tmp = path.with_file_name(tmp_name);
    let result = compact(path, &tmp).and_then(|stats| {
        std::fs::rename(&tmp, path)
            .map(|()| stats)
            .map_err(|source| TraceError::Io {
                op: "rename",
                file: tmp.display().to_string(),
                offset: 0,
                source,
            })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgcal_core::name::CgroupName;
    use cgcal_core::trace::{open_trace, read_all, CgroupVersion};

    fn header() -> Header {
        Header {
            host: "h".into(),
            kernel: String::new(),
            cgroup_version: CgroupVersion::V1,
            root: CgroupName::root(),
            interval_ns: 1_000_000,
            host_memory: None,
            start_ns: 0,
            tool: "test".into(),
        }
    }

    #[test]
    fn flushed_chunks_are_compacted_at_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bin");
        let mut t = TraceFile::create(&path, &header()).unwrap();
        let id = t.writer().cgroup_id(&CgroupName::parse("/a").unwrap(), 0);
        for i in 0..50u64 {
            t.push_sample(Sample {
                time_ns: i,
                cgroup: id,
                usage: 4096 * i,
                limit: None,
                inactive_file: None,
                peak: None,
                failcnt: None,
            })
            .unwrap();
            t.flush().unwrap();
        }
        let before = t.bytes_written();
        let (after, stats) = t.finish().unwrap();
        let stats = stats.unwrap();
        assert_eq!((stats.chunks_in, stats.samples), (50, 50));
        assert!(after < before, "{after} >= {before}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), after);
        let (_, _, samples, _, damage) = read_all(open_trace(&path).unwrap()).unwrap();
        assert_eq!((samples.len(), damage.len()), (50, 0));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_path_is_a_create_error_naming_it() {
        let err = TraceFile::create(Path::new("/nonexistent-dir/t.bin"), &header()).unwrap_err();
        assert!(
            matches!(err, RecordError::CreateTrace { ref path, .. } if path == Path::new("/nonexistent-dir/t.bin"))
        );
    }
}
