//! Errors of the trace writer and reader. Damage inside the chunk stream is
//! not an error: the reader reports it as [`crate::trace::Damage`] and goes on.

use crate::trace::model::CgroupId;

/// A fatal trace error: the file cannot be read (header) or written.
/// Every message names the file and the byte offset, and ends with a hint.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// An I/O operation failed.
    #[error("cannot {op} {file} at byte offset {offset}: {source}")]
    Io {
        /// What was being done (`open`, `create`, `read`, `write`, `flush`).
        op: &'static str,
        /// The file (its path, or `<stream>` for an unnamed reader/writer).
        file: String,
        /// Byte offset in the trace where it failed.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the trace magic.
    #[error("{file} is not a cgcal trace: bytes 0..8 are {found}, expected \"CGCALTRC\": hint: give a trace written by cgrec")]
    BadMagic {
        /// The file.
        file: String,
        /// The first bytes found, in hex.
        found: String,
    },
    /// The file has a newer major format version than this build reads.
    #[error("{file} uses trace format {found_major}.{found_minor} (byte offset 8), newer than the {supported_major}.x this build reads: hint: read it with a newer cgcal")]
    NewerVersion {
        /// The file.
        file: String,
        /// Major version found.
        found_major: u16,
        /// Minor version found.
        found_minor: u16,
        /// Major version this build reads.
        supported_major: u16,
    },
    /// The major version is 0, which was never written.
    #[error("{file} claims trace format {found_major}.{found_minor} (byte offset 8), which does not exist: hint: the file is damaged")]
    BadVersion {
        /// The file.
        file: String,
        /// Major version found.
        found_major: u16,
        /// Minor version found.
        found_minor: u16,
    },
    /// The file ends inside its header.
    #[error("{file} ends at byte offset {offset} inside the file header ({need} bytes needed): hint: the file is truncated or the recorder died before writing its header")]
    TornHeader {
        /// The file.
        file: String,
        /// Where the file ends.
        offset: u64,
        /// Header bytes needed.
        need: u64,
    },
    /// The header body length is over the limit.
    #[error("{file}: file header body of {len} bytes (length at byte offset 12) exceeds the limit of {max}: hint: the file is damaged, or the header fields are too long to write")]
    HeaderTooLarge {
        /// The file.
        file: String,
        /// Declared or needed body length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The header CRC does not match its content.
    #[error("{file}: file header CRC mismatch over bytes 8..{end} (stored {expected:#010x}, computed {found:#010x}): hint: the header is damaged, nothing in the file can be trusted")]
    HeaderCrc {
        /// The file.
        file: String,
        /// Stored CRC.
        expected: u32,
        /// Computed CRC.
        found: u32,
        /// End offset of the CRC-covered range.
        end: u64,
    },
    /// A header field has an invalid value despite a valid CRC.
    #[error("{file}: invalid file header field at byte offset {offset}: {what}: hint: the file was written by a faulty tool")]
    HeaderDecode {
        /// The file.
        file: String,
        /// Offset of the field.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A sample or event names a cgroup id the writer never handed out.
    #[error("{file}: record names cgroup id {id} but only {defined} cgroups are defined (writing chunk at byte offset {offset}): hint: take ids from TraceWriter::cgroup_id")]
    UnknownCgroup {
        /// The file.
        file: String,
        /// The id.
        id: CgroupId,
        /// Number of defined cgroups.
        defined: u64,
        /// Where the next chunk would start.
        offset: u64,
    },
    /// zstd failed to compress a chunk, or the chunk would exceed a format limit.
    #[error("{file}: cannot encode chunk {chunk_index} at byte offset {offset}: {what}: hint: this is a bug in cgcal")]
    Encode {
        /// The file.
        file: String,
        /// Index of the chunk.
        chunk_index: u64,
        /// Where it would start.
        offset: u64,
        /// What failed.
        what: String,
    },
    /// Files read as one trace disagree on where they were recorded.
    #[error("{other} cannot be read with {first} as one trace: {what}: hint: give the files of one recording (one host, one root) only")]
    MixedSet {
        /// The first file of the set.
        first: String,
        /// The file that differs.
        other: String,
        /// What differs, with both values.
        what: String,
    },
    /// A directory given as a trace holds no trace file.
    #[error("{dir} holds no trace file (*.bin): hint: give a trace file, or the directory `cgrec record --rotate` writes")]
    EmptySet {
        /// The directory.
        dir: String,
    },
}
