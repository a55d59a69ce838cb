//! [`TraceReader`]: a streaming reader yielding one chunk (or one damage
//! report) at a time, in memory bounded by the number of cgroups and the
//! largest chunk.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use crate::name::CgroupName;
use crate::trace::error::TraceError;
use crate::trace::file_header::read_file_header;
use crate::trace::layout::{FrameError, FrameHeader, FRAME_HEADER_LEN, KIND_DATA, MAX_STORED_LEN};
use crate::trace::model::{CgroupDef, CgroupId, Event, Header, Sample};
use crate::trace::payload::{PayloadDecoder, PayloadError};
use crate::trace::source::Source;

/// One step of reading a trace.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadItem {
    /// A chunk read and verified.
    Chunk(Chunk),
    /// A chunk (or a stretch of bytes) that could not be read.
    Damaged(Damage),
}

/// The content of one verified data chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Byte offset of the chunk's frame header in the file.
    pub offset: u64,
    /// Bytes the chunk occupies (frame header and payload).
    pub len: u64,
    /// Cgroups this reader had not seen before this chunk, sorted by id.
    pub defs: Vec<CgroupDef>,
    /// Samples sorted by (time, cgroup).
    pub samples: Vec<Sample>,
    /// Events sorted by (time, cgroup).
    pub events: Vec<Event>,
}

/// A chunk or stretch of the file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset where the damage starts (a chunk's frame header, or the
    /// start of unreadable bytes).
    pub offset: u64,
    /// Index of the damaged chunk (from its frame header when that is
    /// intact, else the index the next chunk would have).
    pub chunk_index: u64,
    /// What is wrong.
    pub kind: DamageKind,
}

/// What is wrong with a damaged chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DamageKind {
    /// The file ends inside the chunk: `have` of its `need` bytes exist.
    /// Nothing follows.
    TornTail {
        /// Bytes present from the chunk's start.
        have: u64,
        /// Bytes the chunk needs.
        need: u64,
    },
    /// The payload does not match its CRC32C; the chunk was skipped.
    CrcMismatch {
        /// CRC stored in the frame header.
        expected: u32,
        /// CRC computed over the payload.
        found: u32,
    },
    /// No valid frame header here (bad magic or frame CRC); `skipped` bytes
    /// up to the next valid frame header (or the end of the file) were skipped.
    BadFraming {
        /// Why the frame header is invalid.
        reason: String,
        /// Bytes skipped.
        skipped: u64,
        /// True when the scan reached the end of the file.
        to_end: bool,
    },
    /// A declared length is over its limit; the chunk was skipped unread.
    TooLarge {
        /// Which length.
        what: &'static str,
        /// Declared length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The payload passed its CRC but could not be decoded.
    Decode(String),
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageKind::TornTail { have, need } => write!(
                f,
                "torn tail: the file ends {have} bytes into a chunk of {need} bytes (the writer stopped mid-chunk; everything before is intact)"
            ),
            DamageKind::CrcMismatch { expected, found } => write!(
                f,
                "payload CRC mismatch (stored {expected:#010x}, computed {found:#010x}): chunk skipped"
            ),
            DamageKind::BadFraming { reason, skipped, to_end: false } => write!(
                f,
                "no valid chunk frame ({reason}): skipped {skipped} bytes to the next chunk"
            ),
            DamageKind::BadFraming { reason, skipped, to_end: true } => write!(
                f,
                "no valid chunk frame ({reason}): skipped the last {skipped} bytes of the file, no further chunk found"
            ),
            DamageKind::TooLarge { what, len, max } => {
                write!(f, "{what} of {len} bytes exceeds the limit {max}: chunk skipped")
            }
            DamageKind::Decode(what) => write!(f, "undecodable chunk content ({what}): chunk skipped"),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chunk {} at byte offset {}: {}",
            self.chunk_index, self.offset, self.kind
        )
    }
}

/// Reads a trace chunk by chunk. Damage is reported as
/// [`ReadItem::Damaged`] and skipped where the framing allows.
pub struct TraceReader<R: Read> {
    src: Source<R>,
    file: String,
    header: Header,
    minor: u16,
    names: BTreeMap<CgroupId, CgroupDef>,
    decoder: PayloadDecoder,
    stored: Vec<u8>,
    next_index: u64,
    done: bool,
}

impl<R: Read> fmt::Debug for TraceReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceReader")
            .field("file", &self.file)
            .field("offset", &self.src.offset())
            .field("cgroups", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl<R: Read> TraceReader<R> {
    /// Reads and validates the file header; errors name the input `<stream>`.
    pub fn new(input: R) -> Result<Self, TraceError> {
        Self::with_file_name(input, "<stream>")
    }

    /// As [`TraceReader::new`], with `file` naming the input in errors.
    pub fn with_file_name(input: R, file: &str) -> Result<Self, TraceError> {
        let mut src = Source::new(input, 0);
        let fh = read_file_header(&mut src, file)?;
        let decoder = PayloadDecoder::new().map_err(|source| TraceError::Io {
            op: "set up zstd for",
            file: file.to_string(),
            offset: src.offset(),
            source,
        })?;
        Ok(TraceReader {
            src,
            file: file.to_string(),
            header: fh.header,
            minor: fh.minor,
            names: BTreeMap::new(),
            decoder,
            stored: Vec::new(),
            next_index: 0,
            done: false,
        })
    }

    /// The file header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The input as errors name it (its path, or `<stream>`).
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The format minor version of the file.
    pub fn minor_version(&self) -> u16 {
        self.minor
    }

    /// Byte offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.src.offset()
    }

    /// The name of cgroup `id`, if a chunk read so far declared it.
    pub fn cgroup_name(&self, id: CgroupId) -> Option<&CgroupName> {
        self.names.get(&id).map(|d| &d.name)
    }

    /// Every cgroup declared so far, by id.
    pub fn cgroups(&self) -> impl Iterator<Item = (CgroupId, &CgroupName)> {
        self.names.iter().map(|(&id, d)| (id, &d.name))
    }

    /// The next chunk or damage report; `None` at the end of the file.
    /// `Err` only for I/O errors, after which the reader yields `None`.
    pub fn next_item(&mut self) -> Option<Result<ReadItem, TraceError>> {
        if self.done {
            return None;
        }
        let r = self.read_item();
        if matches!(r, Some(Err(_)) | None) {
            self.done = true;
        }
        r
    }

    fn io_error(&self, source: std::io::Error) -> TraceError {
        TraceError::Io {
            op: "read",
            file: self.file.clone(),
            offset: self.src.offset(),
            source,
        }
    }

    fn damaged(
        &mut self,
        offset: u64,
        chunk_index: u64,
        kind: DamageKind,
    ) -> Option<Result<ReadItem, TraceError>> {
        Some(Ok(ReadItem::Damaged(Damage {
            offset,
            chunk_index,
            kind,
        })))
    }

    fn read_item(&mut self) -> Option<Result<ReadItem, TraceError>> {
        loop {
            let offset = self.src.offset();
            let mut fh = [0u8; FRAME_HEADER_LEN];
            let have = match self.src.read_up_to(&mut fh) {
                Ok(n) => n,
                Err(e) => return Some(Err(self.io_error(e))),
            };
            if have == 0 {
                return None;
            }
            if have < FRAME_HEADER_LEN {
                self.done = true;
                let kind = DamageKind::TornTail {
                    have: have as u64,
                    need: FRAME_HEADER_LEN as u64,
                };
                return self.damaged(offset, self.next_index, kind);
            }
            let frame = match FrameHeader::decode(&fh) {
                Ok(f) => f,
                Err(fe) => return self.resync(offset, &fh, fe),
            };
            let index = frame.seq as u64;
            self.next_index = index + 1;
            let need = FRAME_HEADER_LEN as u64 + frame.stored_len as u64;
            if frame.stored_len > MAX_STORED_LEN {
                // The length passed the frame CRC: skip it without storing.
                match self.src.skip(frame.stored_len as u64) {
                    Ok(n) if n < frame.stored_len as u64 => self.done = true,
                    Ok(_) => {}
                    Err(e) => return Some(Err(self.io_error(e))),
                }
                let kind = DamageKind::TooLarge {
                    what: "stored chunk payload",
                    len: frame.stored_len as u64,
                    max: MAX_STORED_LEN as u64,
                };
                return self.damaged(offset, index, kind);
            }
            let got = match self
                .src
                .read_into_vec(&mut self.stored, frame.stored_len as usize)
            {
                Ok(n) => n,
                Err(e) => return Some(Err(self.io_error(e))),
            };
            if got < frame.stored_len as usize {
                self.done = true;
                let kind = DamageKind::TornTail {
                    have: (FRAME_HEADER_LEN + got) as u64,
                    need,
                };
                return self.damaged(offset, index, kind);
            }
            let found = crc32c::crc32c(&self.stored);
            if found != frame.payload_crc {
                let kind = DamageKind::CrcMismatch {
                    expected: frame.payload_crc,
                    found,
                };
                return self.damaged(offset, index, kind);
            }
            if frame.kind != KIND_DATA {
                continue; // a chunk kind of a later minor version
            }
            let body = match self.decoder.decode(&self.stored) {
                Ok(b) => b,
                Err(PayloadError::TooLarge { len, max }) => {
                    let kind = DamageKind::TooLarge {
                        what: "decompressed chunk body",
                        len,
                        max,
                    };
                    return self.damaged(offset, index, kind);
                }
                Err(PayloadError::Decode(what)) => {
                    return self.damaged(offset, index, DamageKind::Decode(what))
                }
            };
            if let Some(what) = self.conflicting_definition(&body.table) {
                return self.damaged(offset, index, DamageKind::Decode(what));
            }
            let mut defs = Vec::new();
            for d in body.table {
                if let std::collections::btree_map::Entry::Vacant(v) = self.names.entry(d.id) {
                    v.insert(d.clone());
                    defs.push(d);
                }
            }
            return Some(Ok(ReadItem::Chunk(Chunk {
                offset,
                len: need,
                defs,
                samples: body.samples,
                events: body.events,
            })));
        }
    }

    /// A cgroup id declared with another name or first-seen time than in an earlier chunk.
    fn conflicting_definition(&self, table: &[CgroupDef]) -> Option<String> {
        table.iter().find_map(|d| match self.names.get(&d.id) {
            Some(old) if old != d => Some(format!(
                "cgroup {} declared as {} (first seen {}) but as {} (first seen {}) before",
                d.id, d.name, d.first_seen_ns, old.name, old.first_seen_ns
            )),
            _ => None,
        })
    }

    /// Scans past an invalid frame header to the next valid one.
    fn resync(
        &mut self,
        offset: u64,
        fh: &[u8; FRAME_HEADER_LEN],
        fe: FrameError,
    ) -> Option<Result<ReadItem, TraceError>> {
        let reason = match fe {
            FrameError::BadMagic => "bad chunk magic".to_string(),
            FrameError::BadCrc { expected, found } => {
                format!("frame header CRC stored {expected:#010x}, computed {found:#010x}")
            }
        };
        let accept = |w: &[u8]| {
            let mut a = [0u8; FRAME_HEADER_LEN];
            a.copy_from_slice(w);
            FrameHeader::decode(&a).is_ok()
        };
        let (skipped, to_end) = match self.src.scan_for(&fh[1..], FRAME_HEADER_LEN, accept) {
            Ok(Some(n)) => (1 + n, false),
            Ok(None) => (self.src.offset() - offset, true),
            Err(e) => return Some(Err(self.io_error(e))),
        };
        if to_end {
            self.done = true;
        }
        let kind = DamageKind::BadFraming {
            reason,
            skipped,
            to_end,
        };
        self.damaged(offset, self.next_index, kind)
    }
}

/// Everything in a trace: header, cgroup definitions, samples and events
/// (each in file order) and the damage met. For tests and small traces;
/// large traces should be streamed with [`TraceReader::next_item`].
pub type ReadAll = (Header, Vec<CgroupDef>, Vec<Sample>, Vec<Event>, Vec<Damage>);

/// Reads a whole trace into memory.
pub fn read_all<R: Read>(mut r: TraceReader<R>) -> Result<ReadAll, TraceError> {
    let (mut defs, mut samples, mut events, mut damage) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    while let Some(item) = r.next_item() {
        match item? {
            ReadItem::Chunk(c) => {
                defs.extend(c.defs);
                samples.extend(c.samples);
                events.extend(c.events);
            }
            ReadItem::Damaged(d) => damage.push(d),
        }
    }
    Ok((r.header.clone(), defs, samples, events, damage))
}
