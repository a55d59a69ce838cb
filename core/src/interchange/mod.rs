//! Interchange formats of traces: the CSV that `cgrec export` writes and
//! `cgrec import` reads (SPEC §4), and the JSON lines that `cgrec export
//! --format jsonl` writes. Pure: parsers take a [`BufRead`](std::io::BufRead)
//! and writers append to a `Vec<u8>`; no file is opened here, so a fuzzer can
//! drive the parser with any bytes.
//!
//! CSV (RFC 4180, `\n` or `\r\n` line ends, UTF-8):
//!
//! ```text
//! timestamp_ns,cgroup,kind,usage_bytes,limit_bytes
//! 1767225600000000000,/apps/web,sample,52428800,104857600
//! 1767225601000000000,/apps/web,oom,104857600,104857600
//! 1767225601000000000,/apps/web,oom_kill,104857600,104857600
//! 1767225602000000000,/apps/web,limit,,138412032
//! 1767225603000000000,"/apps/a,b",sample,4096,
//! ```
//!
//! | kind | usage_bytes | limit_bytes |
//! |---|---|---|
//! | `sample` | required | the limit; empty for no limit |
//! | `oom`, `oom_kill` | usage at the event; empty when unknown | the limit at the event; empty for unknown or no limit |
//! | `limit` | must be empty | the new limit; empty for no limit |
//!
//! A `limit` row carries only the new limit; on import the old one is the
//! limit of the cgroup's latest earlier `sample` or `limit` row (`None` when
//! there is none). Sample fields other than usage and limit, and the events
//! `under_oom_start`, `under_oom_end`, `created` and `removed`, have no CSV
//! form: the JSON lines carry them.
//!
//! ```
//! use cgcal_core::interchange::{CsvRowReader, CsvKind};
//! let csv = "timestamp_ns,cgroup,kind,usage_bytes,limit_bytes\n5,/a,sample,4096,\n";
//! let mut r = CsvRowReader::new(csv.as_bytes()).unwrap();
//! let row = r.next_row().unwrap().unwrap();
//! assert_eq!((row.time_ns, row.kind, row.usage, row.limit), (5, CsvKind::Sample, Some(4096), None));
//! assert_eq!(r.name(row.cgroup).as_str(), "/a");
//! assert!(r.next_row().unwrap().is_none());
//! ```

mod csv_fields;
mod csv_read;
mod csv_write;
mod error;
mod jsonl_write;

pub use csv_read::{CsvRow, CsvRowReader, NameIndex};
pub use csv_write::{csv_row_of_event, csv_row_of_sample, write_csv_row, CsvOutRow};
pub use error::{CsvError, CsvErrorKind};
pub use jsonl_write::{write_jsonl_event, write_jsonl_sample};

/// The header line of the CSV interchange format (without line end).
pub const CSV_HEADER: &str = "timestamp_ns,cgroup,kind,usage_bytes,limit_bytes";

/// Longest CSV field accepted, in bytes (a cgroup name is at most 4096).
pub const MAX_FIELD_LEN: usize = 8192;

/// The `kind` column of a CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CsvKind {
    /// A periodic sample.
    Sample,
    /// An OOM event ([`EventKind::Oom`](crate::trace::EventKind::Oom)).
    Oom,
    /// An OOM kill ([`EventKind::OomKill`](crate::trace::EventKind::OomKill)).
    OomKill,
    /// A limit change ([`EventKind::LimitChange`](crate::trace::EventKind::LimitChange)).
    Limit,
}

impl CsvKind {
    /// The name as the `kind` column spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CsvKind::Sample => "sample",
            CsvKind::Oom => "oom",
            CsvKind::OomKill => "oom_kill",
            CsvKind::Limit => "limit",
        }
    }

    /// The kind spelled `s`, if any.
    pub fn parse(s: &[u8]) -> Option<CsvKind> {
        match s {
            b"sample" => Some(CsvKind::Sample),
            b"oom" => Some(CsvKind::Oom),
            b"oom_kill" => Some(CsvKind::OomKill),
            b"limit" => Some(CsvKind::Limit),
            _ => None,
        }
    }
}
