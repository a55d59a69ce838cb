//! `cgrec import --format csv`: builds a trace from the CSV interchange
//! format ([`cgcal_core::interchange`]).
//!
//! Every row is validated; the first error stops the import with
//! `FILE:LINE:COLUMN: what` (exit 1) and no trace is written. Rows are held
//! in memory (32 bytes each, at most [`MAX_IMPORT_ROWS`]) and sorted into a
//! canonical order, by time, then cgroup name, then kind (sample, oom,
//! oom_kill, limit), then values, so that the input's row order does not
//! matter and `import → export → import` gives byte-identical traces.
//! Cgroup ids follow the first appearance in that order.
//!
//! The header: host `imported`, kernel empty, cgroup version unknown,
//! interval 0 (unknown), start = the first row's time, root = the longest
//! common ancestor of the cgroup names (SPEC §4's global cgroup; a single
//! name is its own ancestor), host memory = `--host-memory` (`max` or
//! absent: unknown, so the global cgroup is unlimited).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;
use cgcal_cli::UserError;
use cgcal_core::interchange::{CsvError, CsvKind, CsvRowReader};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::{create_trace, CgroupId, CgroupVersion, Event, EventKind, Header, Sample};

use crate::cli::ImportConfig;

/// Most rows one import holds in memory (about 1.6 GB).
pub const MAX_IMPORT_ROWS: usize = 50_000_000;

/// The host name of an imported trace's header.
pub const IMPORTED_HOST: &str = "imported";

/// One row, packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    time_ns: u64,
    /// Rank of the name in sorted order (before sorting: its reader index).
    name: u32,
    kind: CsvKind,
    /// Bit 0: usage present; bit 1: limit present.
    present: u8,
    usage: u64,
    limit: u64,
}

impl Row {
    fn usage(&self) -> Option<u64> {
        (self.present & 1 != 0).then_some(self.usage)
    }

    fn limit(&self) -> Option<u64> {
        (self.present & 2 != 0).then_some(self.limit)
    }
}

/// Builds a trace from an interchange file.
pub fn run(cfg: ImportConfig) -> anyhow::Result<()> {
    let file =
        File::open(&cfg.input).with_context(|| format!("cannot open {}", cfg.input.display()))?;
    let input = BufReader::with_capacity(256 * 1024, file);
    let at = |e: CsvError| csv_error(&cfg.input, e);
    let mut reader = CsvRowReader::new(input).map_err(at)?;
    let mut rows: Vec<Row> = Vec::new();
    while let Some(r) = reader.next_row().map_err(at)? {
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(UserError::new(format!(
                "{}:{}: more than {MAX_IMPORT_ROWS} rows",
                cfg.input.display(),
                r.line
            ))
            .hint("an import is sorted in memory; split the input by time and import the parts")
            .into());
        }
        rows.push(Row {
            time_ns: r.time_ns,
            name: r.cgroup.0,
            kind: r.kind,
            present: u8::from(r.usage.is_some()) | (u8::from(r.limit.is_some()) << 1),
            usage: r.usage.unwrap_or(0),
            limit: r.limit.unwrap_or(0),
        });
    }
    const _: () = assert!(std::mem::size_of::<Row>() == 32);
    let names = reader.names();
    // Canonical order: replace reader indices by name ranks, then sort.
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    let mut rank = vec![0u32; names.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    for row in &mut rows {
        row.name = rank[row.name as usize];
    }
    rows.sort_unstable();
    let sorted_names: Vec<&CgroupName> = order.iter().map(|&i| &names[i as usize]).collect();
    let header = Header {
        host: IMPORTED_HOST.to_string(),
        kernel: String::new(),
        cgroup_version: CgroupVersion::Unknown,
        root: common_ancestor(&sorted_names),
        interval_ns: 0,
        host_memory: cfg.host_memory.and_then(|h| h.bytes()),
        start_ns: rows.first().map_or(0, |r| r.time_ns),
        tool: format!("cgrec {} import", env!("CARGO_PKG_VERSION")),
    };
    write_trace(&cfg.output, &header, &rows, &sorted_names)
}

/// The longest common ancestor of `names` (`/` when there are none).
fn common_ancestor(names: &[&CgroupName]) -> CgroupName {
    let mut it = names.iter();
    let Some(first) = it.next() else {
        return CgroupName::root();
    };
    it.fold((*first).clone(), |acc, n| acc.common_ancestor(n))
}

fn write_trace(
    path: &Path,
    header: &Header,
    rows: &[Row],
    names: &[&CgroupName],
) -> anyhow::Result<()> {
    let mut w = create_trace(path, header)?;
    let mut ids: Vec<Option<CgroupId>> = vec![None; names.len()];
    // The latest limit of each cgroup (sample or limit row), for a limit event's old value.
    let mut limits: Vec<Option<u64>> = vec![None; names.len()];
    for r in rows {
        let slot = r.name as usize;
        let cgroup = *ids[slot].get_or_insert_with(|| w.cgroup_id(names[slot], r.time_ns));
        let event = |kind| Event {
            time_ns: r.time_ns,
            cgroup,
            kind,
        };
        match r.kind {
            CsvKind::Sample => {
                limits[slot] = r.limit();
                w.push_sample(Sample {
                    time_ns: r.time_ns,
                    cgroup,
                    usage: r.usage().unwrap_or(0),
                    limit: r.limit(),
                    inactive_file: None,
                    peak: None,
                    failcnt: None,
                })?;
            }
            CsvKind::Oom => w.push_event(event(EventKind::Oom {
                usage: r.usage(),
                limit: r.limit(),
            }))?,
            CsvKind::OomKill => w.push_event(event(EventKind::OomKill {
                usage: r.usage(),
                limit: r.limit(),
            }))?,
            CsvKind::Limit => {
                let old = std::mem::replace(&mut limits[slot], r.limit());
                w.push_event(event(EventKind::LimitChange {
                    old,
                    new: r.limit(),
                }))?;
            }
        }
    }
    w.finish()?;
    Ok(())
}

/// `FILE:LINE:COLUMN: what`, as a runtime error (exit 1).
fn csv_error(file: &Path, e: CsvError) -> anyhow::Error {
    UserError::new(format!(
        "{}:{}:{}: {}",
        file.display(),
        e.line,
        e.column,
        e.kind
    ))
    .into()
}
