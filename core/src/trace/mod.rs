//! The trace format: a file header, then self-checking chunks of
//! zstd-compressed, delta/varint-coded columns. `docs/trace-format.md` is
//! the full byte layout; in short:
//!
//! ```text
//! file    = prelude(20: "CGCALTRC", major u16, minor u16, body_len u32, crc32c u32)
//!           header body (Header fields, little-endian, u32-length-prefixed strings)
//!           chunk*
//! chunk   = frame(24: "CGck", kind u16, 0u16, seq u32, stored_len u32,
//!                 payload_crc32c u32, frame_crc32c u32)  payload(stored_len)
//! payload = body_len u32, zstd frame of:
//!           base_time varint, then sections (tag u8, len varint, bytes):
//!           1 cgroup table: every cgroup the chunk refers to (id, first_seen, name)
//!           2 samples: per cgroup, columns (delta-of-delta time, delta usage,
//!             presence-coded limit / inactive_file / peak / failcnt)
//!           3 events
//! ```
//!
//! Each chunk decodes on its own (delta state resets, names re-declared),
//! so a reader skips a damaged chunk and goes on.
//!
//! ```
//! use cgcal_core::name::CgroupName;
//! use cgcal_core::trace::*;
//!
//! let header = Header {
//!     host: "node-1".into(), kernel: String::new(), cgroup_version: CgroupVersion::V2,
//!     root: CgroupName::root(), interval_ns: 1_000_000_000, host_memory: None,
//!     start_ns: 0, tool: "doc".into(),
//! };
//! let mut w = TraceWriter::new(Vec::new(), &header).unwrap();
//! let web = w.cgroup_id(&CgroupName::parse("/web").unwrap(), 0);
//! w.push_sample(Sample { time_ns: 0, cgroup: web, usage: 4096, limit: None,
//!     inactive_file: None, peak: None, failcnt: None }).unwrap();
//! let bytes = w.finish().unwrap();
//! let (h, defs, samples, _events, damage) = read_all(TraceReader::new(&bytes[..]).unwrap()).unwrap();
//! assert_eq!((h, defs.len(), samples[0].usage, damage.len()), (header, 1, 4096, 0));
//! ```
pub mod model;

mod body_decode;
mod body_encode;
mod chunk_stream;
mod columns;
mod compact;
mod error;
mod event_codec;
mod file_header;
mod files;
pub mod layout;
mod payload;
mod reader;
mod source;
pub mod synthetic_noise;
mod trace_set;
mod varint;
mod writer;

#[cfg(test)]
mod tests;

pub use chunk_stream::ChunkStream;
pub use compact::{compact, compact_stream, CompactStats};
pub use error::TraceError;
pub use files::{create_trace, open_trace};
pub use model::*;
pub use reader::{read_all, Chunk, Damage, DamageKind, ReadAll, ReadItem, TraceReader};
pub use trace_set::{open_trace_set, trace_files_in, TraceSet, TraceSetReader, TRACE_EXTENSION};
pub use writer::{TraceWriter, FLUSH_RECORDS};
