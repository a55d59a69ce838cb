//! A cgroup control file opened lazily once and re-read with `pread` at
//! offset 0, and the one-shot writes of control files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::{CgroupFsError, ParseError};
use crate::name::CgroupName;

/// Largest control file read (`cgroup.procs` of a huge cgroup is the big one).
pub(crate) const MAX_FILE_BYTES: usize = 64 << 20;

/// First size of a handle's read buffer.
const INITIAL_BUF: usize = 8 << 10;

/// How a file's content is produced, which decides when a read is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Produced by one `show` call (every `memory.*` file): a short read
    /// means the end, so one `pread` suffices.
    SingleRecord,
    /// Produced record by record (`cgroup.procs`): read until 0.
    MultiRecord,
}

enum Slot {
    Unopened,
    Open(File),
    /// The file does not exist in a cgroup that does (an optional file).
    Absent,
}

/// One control file of a cgroup handle.
pub(crate) struct ControlFile {
    path: PathBuf,
    layout: Layout,
    slot: Slot,
}

/// The reusable read buffer of a handle.
#[derive(Default)]
pub(crate) struct ReadBuf {
    bytes: Vec<u8>,
}

/// Opens flags shared by every control-file open: no following a symlink.
fn open_options(write: bool) -> OpenOptions {
    let mut o = OpenOptions::new();
    if write {
        o.write(true).truncate(true);
    } else {
        o.read(true);
    }
    o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    o
}

/// Maps an I/O error on a cgroup's file: ENODEV (what kernfs answers on a
/// file kept open in a removed cgroup) or
/// ENOENT while the directory is gone become [`CgroupFsError::Gone`]; ELOOP
/// (O_NOFOLLOW on a symlink) becomes [`CgroupFsError::Symlink`]; EBUSY
/// becomes [`CgroupFsError::Busy`].
pub(crate) fn map_io(e: io::Error, path: &Path, cgroup: &CgroupName) -> CgroupFsError {
    match e.raw_os_error() {
        Some(libc::ENODEV) => CgroupFsError::Gone {
            cgroup: cgroup.clone(),
        },
        Some(libc::ENOENT) if !path.parent().is_some_and(Path::is_dir) => CgroupFsError::Gone {
            cgroup: cgroup.clone(),
        },
        Some(libc::ELOOP) => CgroupFsError::Symlink {
            path: path.to_path_buf(),
        },
        Some(libc::EBUSY) => CgroupFsError::Busy {
            cgroup: cgroup.clone(),
            path: path.to_path_buf(),
        },
        _ => CgroupFsError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Opens a control file of `cgroup` for reading, mapping errors.
pub(crate) fn open_read(path: &Path, cgroup: &CgroupName) -> Result<File, CgroupFsError> {
    open_options(false)
        .open(path)
        .map_err(|e| map_io(e, path, cgroup))
}

/// Writes `content` to a control file in one `write` call.
pub(crate) fn write_control(
    path: &Path,
    cgroup: &CgroupName,
    content: &str,
) -> Result<(), CgroupFsError> {
    let mut f = open_options(true)
        .open(path)
        .map_err(|e| map_io(e, path, cgroup))?;
    f.write_all(content.as_bytes())
        .map_err(|e| map_io(e, path, cgroup))
}

impl ControlFile {
    /// A file not opened yet.
    pub(crate) fn new(path: PathBuf, layout: Layout) -> Self {
        ControlFile {
            path,
            layout,
            slot: Slot::Unopened,
        }
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the whole file into `buf`: `None` when the file does not exist
    /// in a cgroup that does (remembered: later calls do not retry).
    pub(crate) fn read_optional<'b>(
        &mut self,
        buf: &'b mut ReadBuf,
        cgroup: &CgroupName,
    ) -> Result<Option<&'b str>, CgroupFsError> {
        if let Slot::Unopened = self.slot {
            self.slot = match open_options(false).open(&self.path) {
                Ok(f) => Slot::Open(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match map_io(e, &self.path, cgroup) {
                        gone @ CgroupFsError::Gone { .. } => return Err(gone),
                        _ => Slot::Absent,
                    }
                }
                Err(e) => return Err(map_io(e, &self.path, cgroup)),
            };
        }
        let file = match &self.slot {
            Slot::Open(f) => f,
            _ => return Ok(None),
        };
        let n = read_all_at(file, &mut buf.bytes, self.layout).map_err(|e| match e {
            ReadError::Io(e) => map_io(e, &self.path, cgroup),
            ReadError::TooLarge => CgroupFsError::TooLarge {
                path: self.path.clone(),
                max: MAX_FILE_BYTES,
            },
        })?;
        let text = std::str::from_utf8(&buf.bytes[..n]).map_err(|_| CgroupFsError::Parse {
            path: self.path.clone(),
            source: ParseError::NotUtf8,
        })?;
        Ok(Some(text))
    }

    /// Reads a file that must exist: an absent file is an I/O NotFound error.
    pub(crate) fn read<'b>(
        &mut self,
        buf: &'b mut ReadBuf,
        cgroup: &CgroupName,
    ) -> Result<&'b str, CgroupFsError> {
        match self.read_optional(buf, cgroup)? {
            Some(text) => Ok(text),
            // The path is cloned only here: `read` is on the recorder's
            // per-sample path.
            None => Err(CgroupFsError::Io {
                path: self.path.clone(),
                source: io::Error::from(io::ErrorKind::NotFound),
            }),
        }
    }

    /// Parses the file's content with `parse`, `None` when it is absent.
    pub(crate) fn parse_optional<T>(
        &mut self,
        buf: &mut ReadBuf,
        cgroup: &CgroupName,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, CgroupFsError> {
        match self.read_optional(buf, cgroup)? {
            None => Ok(None),
            Some(text) => parse(text)
                .map(Some)
                .map_err(|source| CgroupFsError::Parse {
                    path: self.path.clone(),
                    source,
                }),
        }
    }

    /// Parses the file's content with `parse`; the file must exist.
    pub(crate) fn parse<T>(
        &mut self,
        buf: &mut ReadBuf,
        cgroup: &CgroupName,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, CgroupFsError> {
        let text = self.read(buf, cgroup)?;
        parse(text).map_err(|source| CgroupFsError::Parse {
            path: self.path.clone(),
            source,
        })
    }
}

enum ReadError {
    Io(io::Error),
    TooLarge,
}

/// Reads `file` from offset 0 into `bytes` (grown as needed up to
/// [`MAX_FILE_BYTES`]); returns the content length.
fn read_all_at(file: &File, bytes: &mut Vec<u8>, layout: Layout) -> Result<usize, ReadError> {
    if bytes.is_empty() {
        bytes.resize(INITIAL_BUF, 0);
    }
    let mut n = 0usize;
    loop {
        if n == bytes.len() {
            if bytes.len() >= MAX_FILE_BYTES {
                return Err(ReadError::TooLarge);
            }
            let grown = (bytes.len() * 2).min(MAX_FILE_BYTES);
            bytes.resize(grown, 0);
        }
        let got = loop {
            match file.read_at(&mut bytes[n..], n as u64) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(ReadError::Io)?,
            }
        };
        if got == 0 {
            return Ok(n);
        }
        n += got;
        if layout == Layout::SingleRecord && n < bytes.len() {
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rereads_and_grows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("memory.stat");
        let big: String = (0..3000).map(|i| format!("key{i} {i}\n")).collect();
        std::fs::write(&p, &big).unwrap();
        let cg = CgroupName::root();
        let mut f = ControlFile::new(p.clone(), Layout::SingleRecord);
        let mut buf = ReadBuf::default();
        assert_eq!(f.read(&mut buf, &cg).unwrap(), big);
        std::fs::write(&p, "x 1\n").unwrap();
        assert_eq!(f.read(&mut buf, &cg).unwrap(), "x 1\n");
        let mut procs = ControlFile::new(p, Layout::MultiRecord);
        assert_eq!(procs.read(&mut buf, &cg).unwrap(), "x 1\n");
    }

    #[test]
    fn absent_file_is_remembered_and_gone_dir_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let cgdir = dir.path().join("a");
        std::fs::create_dir(&cgdir).unwrap();
        let cg = CgroupName::parse("/a").unwrap();
        let mut buf = ReadBuf::default();
        let mut peak = ControlFile::new(cgdir.join("memory.peak"), Layout::SingleRecord);
        assert!(peak.read_optional(&mut buf, &cg).unwrap().is_none());
        std::fs::write(cgdir.join("memory.peak"), "5\n").unwrap();
        assert!(peak.read_optional(&mut buf, &cg).unwrap().is_none());
        let mut cur = ControlFile::new(cgdir.join("memory.current"), Layout::SingleRecord);
        assert!(matches!(
            cur.read(&mut buf, &cg),
            Err(CgroupFsError::Io { .. })
        ));
        std::fs::remove_dir_all(&cgdir).unwrap();
        let mut cur = ControlFile::new(cgdir.join("memory.current"), Layout::SingleRecord);
        assert!(cur.read(&mut buf, &cg).unwrap_err().is_gone());
    }

    #[test]
    fn symlinked_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "1\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("memory.current"))
            .unwrap();
        let mut f = ControlFile::new(dir.path().join("memory.current"), Layout::SingleRecord);
        let mut buf = ReadBuf::default();
        assert!(matches!(
            f.read(&mut buf, &CgroupName::root()),
            Err(CgroupFsError::Symlink { .. })
        ));
    }
}
