//! Fuzz target: CSV import over arbitrary bytes.
//!
//! The rows go through `CsvRowReader` (header, field, number, kind and
//! cgroup-name validation: everything `cgrec import` checks besides its row
//! cap) and, when every row is accepted, into a trace the way `cgrec import`
//! writes one (samples with their limit, oom / oom_kill / limit events). The
//! trace is read back and exported to CSV again; re-reading that export must
//! give the same rows (SPEC §4's import → export round trip).
#![no_main]

use cgcal_core::interchange::{
    csv_row_of_event, csv_row_of_sample, write_csv_row, CsvKind, CsvRowReader, CSV_HEADER,
};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::{
    CgroupVersion, Event, EventKind, Header, ReadItem, Sample, TraceReader, TraceWriter,
};
use libfuzzer_sys::fuzz_target;

/// A row as (time, name, kind, usage, limit), comparable across readers.
type Key = (u64, String, CsvKind, Option<u64>, Option<u64>);

fuzz_target!(|data: &[u8]| {
    let Some(rows) = read_rows(data) else {
        return;
    };
    let trace = write_trace(&rows);
    let export = export_csv(&trace);
    let again = read_rows(&export).expect("an export re-imports");
    let (mut a, mut b) = (rows, again);
    a.sort();
    b.sort();
    assert_eq!(a, b, "import → export → import changed the rows");
});

/// Every row of `data`, or `None` at the first refused row or header.
fn read_rows(data: &[u8]) -> Option<Vec<Key>> {
    let mut r = CsvRowReader::new(data).ok()?;
    let mut rows = Vec::new();
    loop {
        match r.next_row() {
            Ok(Some(row)) => {
                let name = r.name(row.cgroup).to_string();
                rows.push((row.time_ns, name, row.kind, row.usage, row.limit));
            }
            Ok(None) => return Some(rows),
            Err(e) => {
                assert!(
                    e.line >= 1 && e.column >= 1,
                    "error without a position: {e:?}"
                );
                let _ = e.to_string();
                return None;
            }
        }
    }
}

/// A trace of `rows`, written as `cgrec import` writes one.
fn write_trace(rows: &[Key]) -> Vec<u8> {
    let header = Header {
        host: "imported".into(),
        kernel: String::new(),
        cgroup_version: CgroupVersion::Unknown,
        root: CgroupName::root(),
        interval_ns: 0,
        host_memory: None,
        start_ns: rows.first().map_or(0, |r| r.0),
        tool: "fuzz".into(),
    };
    let mut w = TraceWriter::new(Vec::new(), &header).expect("header");
    for (time_ns, name, kind, usage, limit) in rows {
        let cgroup = w.cgroup_id(&CgroupName::parse(name).expect("validated name"), *time_ns);
        let event = |kind| Event {
            time_ns: *time_ns,
            cgroup,
            kind,
        };
        match kind {
            CsvKind::Sample => w.push_sample(Sample {
                time_ns: *time_ns,
                cgroup,
                usage: usage.unwrap_or(0),
                limit: *limit,
                inactive_file: None,
                peak: None,
                failcnt: None,
            }),
            CsvKind::Oom => w.push_event(event(EventKind::Oom {
                usage: *usage,
                limit: *limit,
            })),
            CsvKind::OomKill => w.push_event(event(EventKind::OomKill {
                usage: *usage,
                limit: *limit,
            })),
            CsvKind::Limit => w.push_event(event(EventKind::LimitChange {
                old: None,
                new: *limit,
            })),
        }
        .expect("writing to memory");
    }
    w.finish().expect("writing to memory")
}

/// The CSV export of `trace`, as `cgrec export --format csv` writes it.
fn export_csv(trace: &[u8]) -> Vec<u8> {
    let mut r = TraceReader::new(trace).expect("a trace just written");
    let mut out = format!("{CSV_HEADER}\n").into_bytes();
    while let Some(item) = r.next_item() {
        let ReadItem::Chunk(c) = item.expect("slice") else {
            panic!("a trace just written is damaged");
        };
        for s in &c.samples {
            let name = r.cgroup_name(s.cgroup).expect("declared").clone();
            write_csv_row(&mut out, &csv_row_of_sample(&name, s));
        }
        for e in &c.events {
            let name = r.cgroup_name(e.cgroup).expect("declared").clone();
            if let Some(row) = csv_row_of_event(&name, e) {
                write_csv_row(&mut out, &row);
            }
        }
    }
    out
}
