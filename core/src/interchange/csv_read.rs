//! [`CsvRowReader`]: validates the CSV interchange header, then yields one
//! checked row at a time; cgroup names are validated once and interned.

use std::collections::HashMap;
use std::io::BufRead;

use super::csv_fields::{FieldPos, FieldReader, MAX_FIELDS};
use super::error::{shown, CsvError, CsvErrorKind};
use super::{CsvKind, CSV_HEADER};
use crate::name::CgroupName;

/// Index of a cgroup name within one [`CsvRowReader`], in order of first appearance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameIndex(pub u32);

/// One validated CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvRow {
    /// `timestamp_ns`.
    pub time_ns: u64,
    /// The cgroup ([`CsvRowReader::name`]).
    pub cgroup: NameIndex,
    /// `kind`.
    pub kind: CsvKind,
    /// `usage_bytes`; `None` when empty.
    pub usage: Option<u64>,
    /// `limit_bytes`; `None` when empty (no limit, or unknown for events).
    pub limit: Option<u64>,
    /// 1-based line where the row starts.
    pub line: u64,
}

/// Reads CSV interchange rows; the first error ends the input.
#[derive(Debug)]
pub struct CsvRowReader<R> {
    fields: FieldReader<R>,
    names: Vec<CgroupName>,
    index: HashMap<String, u32>,
}

const COLUMNS: [&str; 5] = [
    "timestamp_ns",
    "cgroup",
    "kind",
    "usage_bytes",
    "limit_bytes",
];

impl<R: BufRead> CsvRowReader<R> {
    /// Reads and checks the header line (a UTF-8 byte order mark before it is allowed).
    pub fn new(input: R) -> Result<Self, CsvError> {
        let mut fields = FieldReader::new(input);
        let Some(header) = fields.next_record()? else {
            return Err(CsvError::at(1, 1, CsvErrorKind::Empty));
        };
        let header = header.to_vec();
        debug_assert!(CSV_HEADER.split(',').eq(COLUMNS));
        for (i, expected) in COLUMNS.iter().enumerate() {
            let (found, column) = match header.get(i) {
                Some(f) => {
                    let mut b = &fields.bytes()[f.start..f.end];
                    if i == 0 {
                        b = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
                    }
                    (Some(b), f.column)
                }
                None => (None, header.last().map_or(1, |f| f.column)),
            };
            if found != Some(expected.as_bytes()) {
                let kind = CsvErrorKind::BadHeader {
                    index: i + 1,
                    found: found.map_or_else(|| "<missing>".to_string(), shown),
                    expected,
                };
                return Err(CsvError::at(1, column, kind));
            }
        }
        Ok(CsvRowReader {
            fields,
            names: Vec::new(),
            index: HashMap::new(),
        })
    }

    /// The name of `cgroup`.
    pub fn name(&self, cgroup: NameIndex) -> &CgroupName {
        &self.names[cgroup.0 as usize]
    }

    /// Every name seen so far, by [`NameIndex`].
    pub fn names(&self) -> &[CgroupName] {
        &self.names
    }

    /// The next row; `None` at the end of the input.
    pub fn next_row(&mut self) -> Result<Option<CsvRow>, CsvError> {
        let end_line = self.fields.line();
        let Some(fields) = self.fields.next_record()? else {
            return Ok(None);
        };
        let f: Vec<FieldPos> = fields.to_vec();
        if f.len() < MAX_FIELDS {
            let last = f[f.len() - 1];
            let column = last.column + (last.end - last.start) as u64;
            let kind = CsvErrorKind::FieldCount { found: f.len() };
            return Err(CsvError::at(last.line.max(end_line), column, kind));
        }
        let bytes = self.fields.bytes();
        let field = |i: usize| &bytes[f[i].start..f[i].end];
        let err = |i: usize, kind| CsvError::at(f[i].line, f[i].column, kind);

        let time_ns = number(field(0), COLUMNS[0])
            .map_err(|k| err(0, k))?
            .ok_or_else(|| {
                err(
                    0,
                    CsvErrorKind::Missing {
                        field: COLUMNS[0],
                        kind: "all",
                    },
                )
            })?;
        let kind = CsvKind::parse(field(2))
            .ok_or_else(|| err(2, CsvErrorKind::UnknownKind(shown(field(2)))))?;
        let usage = number(field(3), COLUMNS[3]).map_err(|k| err(3, k))?;
        let limit = number(field(4), COLUMNS[4]).map_err(|k| err(4, k))?;
        match (kind, usage) {
            (CsvKind::Sample, None) => {
                let k = CsvErrorKind::Missing {
                    field: COLUMNS[3],
                    kind: kind.as_str(),
                };
                return Err(err(3, k));
            }
            (CsvKind::Limit, Some(_)) => {
                let k = CsvErrorKind::NotEmpty {
                    field: COLUMNS[3],
                    kind: kind.as_str(),
                };
                return Err(err(3, k));
            }
            _ => {}
        }
        let name = field(1);
        let cgroup = match std::str::from_utf8(name) {
            Err(_) => return Err(err(1, CsvErrorKind::InvalidUtf8 { field: COLUMNS[1] })),
            Ok(s) => match self.index.get(s) {
                Some(&i) => i,
                None => {
                    let parsed = CgroupName::parse(s).map_err(|e| err(1, e.into()))?;
                    let i = self.names.len() as u32;
                    self.index.insert(s.to_string(), i);
                    self.names.push(parsed);
                    i
                }
            },
        };
        Ok(Some(CsvRow {
            time_ns,
            cgroup: NameIndex(cgroup),
            kind,
            usage,
            limit,
            line: f[0].line,
        }))
    }
}

/// An unsigned decimal `u64`, or `None` for an empty field.
fn number(b: &[u8], field: &'static str) -> Result<Option<u64>, CsvErrorKind> {
    if b.is_empty() {
        return Ok(None);
    }
    let bad = |why| CsvErrorKind::BadNumber {
        field,
        found: shown(b),
        why,
    };
    if b[0] == b'-' {
        return Err(bad("allowed: negative values have no meaning here"));
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(bad("an unsigned decimal integer"));
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or_else(|| bad("at most 18446744073709551615"))?;
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "timestamp_ns,cgroup,kind,usage_bytes,limit_bytes\n";

    fn first_error(body: &str) -> String {
        let input = format!("{H}{body}");
        let mut r = CsvRowReader::new(input.as_bytes()).unwrap();
        loop {
            match r.next_row() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error in {body:?}"),
                Err(e) => return e.to_string(),
            }
        }
    }

    #[test]
    fn reads_every_kind() {
        let input = format!(
            "\u{feff}{H}1,/a,sample,10,20\r\n2,\"/a,b\",oom,,\n3,/a,oom_kill,5,6\n4,/a,limit,,7\n5,/,limit,,\n"
        );
        let mut r = CsvRowReader::new(input.as_bytes()).unwrap();
        let mut rows = Vec::new();
        while let Some(row) = r.next_row().unwrap() {
            rows.push((
                row.time_ns,
                r.name(row.cgroup).to_string(),
                row.kind,
                row.usage,
                row.limit,
                row.line,
            ));
        }
        assert_eq!(
            rows,
            [
                (1, "/a".into(), CsvKind::Sample, Some(10), Some(20), 2),
                (2, "/a,b".into(), CsvKind::Oom, None, None, 3),
                (3, "/a".into(), CsvKind::OomKill, Some(5), Some(6), 4),
                (4, "/a".into(), CsvKind::Limit, None, Some(7), 5),
                (5, "/".into(), CsvKind::Limit, None, None, 6),
            ]
        );
        assert_eq!(r.names().len(), 3);
    }

    proptest::proptest! {
        /// Any bytes after a valid header: rows or a positioned error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::prelude::Just(b','),
                proptest::prelude::Just(b'"'),
                proptest::prelude::Just(b'\n'),
                proptest::prelude::Just(b'/'),
                proptest::prelude::Just(b'1'),
            ],
            0..300,
        )) {
            let input = [H.as_bytes(), &body].concat();
            let mut r = CsvRowReader::new(&input[..]).unwrap();
            for _ in 0..400 {
                match r.next_row() {
                    Ok(Some(row)) => proptest::prop_assert!(row.line >= 2),
                    Ok(None) => break,
                    Err(e) => {
                        proptest::prop_assert!(e.line >= 2 && e.column >= 1);
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn header_is_checked() {
        let e =
            CsvRowReader::new(&b"timestamp_ns,cgroup,kind,usage,limit_bytes\n"[..]).unwrap_err();
        assert_eq!((e.line, e.column), (1, 26));
        assert!(e.to_string().contains("header field 4"), "{e}");
        let e = CsvRowReader::new(&b""[..]).unwrap_err();
        assert!(matches!(e.kind, CsvErrorKind::Empty));
        let e = CsvRowReader::new(&b"timestamp_ns,cgroup\n"[..]).unwrap_err();
        assert!(e.to_string().contains("<missing>"), "{e}");
    }

    #[test]
    fn rows_are_checked_with_positions() {
        let cases = [
            (
                "x,/a,sample,1,\n",
                "2:1: timestamp_ns \"x\" is not an unsigned",
            ),
            (
                "1,/a,sample,-1,\n",
                "2:13: usage_bytes \"-1\" is not allowed",
            ),
            (
                "1,/a,sample,18446744073709551616,\n",
                "2:13: usage_bytes \"18446744073709551616\" is not at most",
            ),
            (
                "1,/a,sample,18446744073709551615,\n2,/a,swap,1,\n",
                "3:6: unknown kind \"swap\"",
            ),
            ("1,a,sample,1,\n", "2:3: cgroup name \"a\" does not start"),
            (
                "1,/a/../b,sample,1,\n",
                "2:3: cgroup name \"/a/../b\" has a '.'",
            ),
            (
                "1,/a\0,sample,1,\n",
                "2:3: cgroup name \"/a\\0\" holds a control",
            ),
            ("1,/a\u{1}b,sample,1,\n", "2:3: cgroup name"),
            (
                "1,/a,sample,,\n",
                "2:13: usage_bytes is empty, but sample rows need it",
            ),
            (
                "1,/a,limit,5,\n",
                "2:12: usage_bytes must be empty in a limit row",
            ),
            ("1,/a,sample,1\n", "2:14: 4 fields, expected 5"),
            ("1,/a,sample,1,2,3\n", "2:17: 6 fields"),
            ("\n", "2:1: 1 fields"),
            ("1,/a,sample, 1,\n", "2:13: usage_bytes \" 1\""),
            ("1,/a,sample,+1,\n", "2:13: usage_bytes \"+1\""),
            (",/a,sample,1,\n", "2:1: timestamp_ns is empty"),
        ];
        for (body, want) in cases {
            let got = first_error(body);
            assert!(
                got.starts_with(want),
                "{body:?}: got {got:?}, want {want:?}"
            );
        }
        let bad_utf8 = [H.as_bytes(), b"1,/a\xff,sample,1,\n"].concat();
        let mut r = CsvRowReader::new(&bad_utf8[..]).unwrap();
        let e = r.next_row().unwrap_err();
        assert_eq!(e.to_string(), "2:3: invalid UTF-8 in cgroup");
    }
}
