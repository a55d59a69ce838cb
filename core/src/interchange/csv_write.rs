//! Writes CSV interchange rows (RFC 4180 quoting where a name needs it).

use super::CsvKind;
use crate::name::CgroupName;
use crate::trace::{Event, EventKind, Sample};

/// One row to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOutRow<'a> {
    /// `timestamp_ns`.
    pub time_ns: u64,
    /// `cgroup`.
    pub cgroup: &'a CgroupName,
    /// `kind`.
    pub kind: CsvKind,
    /// `usage_bytes`; empty when `None`.
    pub usage: Option<u64>,
    /// `limit_bytes`; empty when `None`.
    pub limit: Option<u64>,
}

/// The row of a sample (its usage and limit; other fields have no CSV form).
pub fn csv_row_of_sample<'a>(cgroup: &'a CgroupName, s: &Sample) -> CsvOutRow<'a> {
    CsvOutRow {
        time_ns: s.time_ns,
        cgroup,
        kind: CsvKind::Sample,
        usage: Some(s.usage),
        limit: s.limit,
    }
}

/// The row of an event, or `None` for a kind the CSV cannot carry
/// (under-OOM start and end, created, removed).
pub fn csv_row_of_event<'a>(cgroup: &'a CgroupName, e: &Event) -> Option<CsvOutRow<'a>> {
    let (kind, usage, limit) = match e.kind {
        EventKind::Oom { usage, limit } => (CsvKind::Oom, usage, limit),
        EventKind::OomKill { usage, limit } => (CsvKind::OomKill, usage, limit),
        EventKind::LimitChange { new, .. } => (CsvKind::Limit, None, new),
        EventKind::UnderOomStart
        | EventKind::UnderOomEnd
        | EventKind::Created
        | EventKind::Removed => return None,
    };
    Some(CsvOutRow {
        time_ns: e.time_ns,
        cgroup,
        kind,
        usage,
        limit,
    })
}

/// Appends `row` and a `\n` to `out`.
pub fn write_csv_row(out: &mut Vec<u8>, row: &CsvOutRow<'_>) {
    push_u64(out, row.time_ns);
    out.push(b',');
    push_csv_field(out, row.cgroup.as_str());
    out.push(b',');
    out.extend_from_slice(row.kind.as_str().as_bytes());
    out.push(b',');
    if let Some(u) = row.usage {
        push_u64(out, u);
    }
    out.push(b',');
    if let Some(l) = row.limit {
        push_u64(out, l);
    }
    out.push(b'\n');
}

/// Appends `s`, quoted (with `"` doubled) when it holds `,`, `"`, `\r` or `\n`.
fn push_csv_field(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends the decimal digits of `v`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interchange::CsvRowReader;
    use proptest::prelude::*;

    #[test]
    fn writes_rows_and_quotes_names() {
        let name = CgroupName::parse("/a,\"b\"").unwrap();
        let mut out = Vec::new();
        let row = CsvOutRow {
            time_ns: 0,
            cgroup: &name,
            kind: CsvKind::Limit,
            usage: None,
            limit: Some(u64::MAX),
        };
        write_csv_row(&mut out, &row);
        assert_eq!(out, b"0,\"/a,\"\"b\"\"\",limit,,18446744073709551615\n");
        let e = Event {
            time_ns: 1,
            cgroup: 0,
            kind: EventKind::Created,
        };
        assert!(csv_row_of_event(&name, &e).is_none());
    }

    fn name_strategy() -> impl Strategy<Value = CgroupName> {
        "(/[a-z,\" é]{1,4}){1,3}".prop_filter_map("valid name", |s| CgroupName::parse(&s).ok())
    }

    proptest! {
        #[test]
        fn written_rows_read_back(rows in proptest::collection::vec(
            (any::<u64>(), name_strategy(), 0usize..4, any::<Option<u64>>(), any::<Option<u64>>()), 0..20)
        ) {
            let mut out = super::super::CSV_HEADER.as_bytes().to_vec();
            out.push(b'\n');
            let mut want = Vec::new();
            for (t, name, k, usage, limit) in &rows {
                let kind = [CsvKind::Sample, CsvKind::Oom, CsvKind::OomKill, CsvKind::Limit][*k];
                let usage = match kind {
                    CsvKind::Sample => Some(usage.unwrap_or(0)),
                    CsvKind::Limit => None,
                    _ => *usage,
                };
                write_csv_row(&mut out, &CsvOutRow { time_ns: *t, cgroup: name, kind, usage, limit: *limit });
                want.push((*t, name.clone(), kind, usage, *limit));
            }
            let mut r = CsvRowReader::new(&out[..]).unwrap();
            let mut got = Vec::new();
            while let Some(row) = r.next_row().unwrap() {
                got.push((row.time_ns, r.name(row.cgroup).clone(), row.kind, row.usage, row.limit));
            }
            prop_assert_eq!(got, want);
        }
    }
}
