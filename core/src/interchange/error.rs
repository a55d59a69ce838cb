//! Errors of the CSV interchange parser: what is wrong, and where (1-based
//! line and byte column of the offending field or byte).

use std::fmt;

/// The first problem found in a CSV input.
#[derive(Debug, thiserror::Error)]
#[error("{line}:{column}: {kind}")]
pub struct CsvError {
    /// 1-based line.
    pub line: u64,
    /// 1-based byte column within the line.
    pub column: u64,
    /// What is wrong.
    pub kind: CsvErrorKind,
}

/// What is wrong with a CSV input.
#[derive(Debug, thiserror::Error)]
pub enum CsvErrorKind {
    /// Reading the input failed.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// The input is empty.
    #[error("empty file: expected the header {expected:?}", expected = super::CSV_HEADER)]
    Empty,
    /// The first line is not the expected header.
    #[error("header field {index} is {found:?}, expected {expected:?} (the header must be {header:?})", header = super::CSV_HEADER)]
    BadHeader {
        /// 1-based field index.
        index: usize,
        /// What the field holds (lossy UTF-8), or `<missing>`.
        found: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A row has fewer or more fields than the header.
    #[error("{found} fields, expected 5 (timestamp_ns,cgroup,kind,usage_bytes,limit_bytes)")]
    FieldCount {
        /// Fields found (a count over 5 is reported as 6).
        found: usize,
    },
    /// A field is longer than [`super::MAX_FIELD_LEN`].
    #[error("field longer than {max} bytes", max = super::MAX_FIELD_LEN)]
    FieldTooLong,
    /// A `"` inside a field that does not start with one.
    #[error("'\"' inside an unquoted field (quote the whole field and double the quote)")]
    StrayQuote,
    /// Something other than `,` or a line end after a closing quote.
    #[error("{0:?} after a closing quote, expected ',' or the end of the line")]
    AfterQuote(char),
    /// The input ends inside a quoted field.
    #[error("quoted field is not closed before the end of the file")]
    UnclosedQuote,
    /// A carriage return not followed by a line feed.
    #[error("carriage return not followed by a line feed")]
    BareCarriageReturn,
    /// A field is not valid UTF-8.
    #[error("invalid UTF-8 in {field}")]
    InvalidUtf8 {
        /// Which column (`cgroup`, ...).
        field: &'static str,
    },
    /// A number field is not an unsigned decimal integer.
    #[error("{field} {found:?} is not {why}")]
    BadNumber {
        /// Which column.
        field: &'static str,
        /// The text (lossy UTF-8).
        found: String,
        /// Why (`a whole number of bytes`, `at most 18446744073709551615`).
        why: &'static str,
    },
    /// A required field is empty.
    #[error("{field} is empty, but {kind} rows need it")]
    Missing {
        /// Which column.
        field: &'static str,
        /// The row's kind.
        kind: &'static str,
    },
    /// A field that must be empty for this kind is not.
    #[error("{field} must be empty in a {kind} row")]
    NotEmpty {
        /// Which column.
        field: &'static str,
        /// The row's kind.
        kind: &'static str,
    },
    /// The kind column holds something else than the four kinds.
    #[error("unknown kind {0:?}: expected sample, oom, oom_kill or limit")]
    UnknownKind(String),
    /// The cgroup name is not valid.
    #[error("{0}")]
    BadName(#[from] crate::name::NameError),
}

impl CsvError {
    /// An error at `line`:`column`.
    pub fn at(line: u64, column: u64, kind: CsvErrorKind) -> CsvError {
        CsvError { line, column, kind }
    }
}

/// Lossy text of a field for a message, shortened to 64 characters.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out: String = s.chars().take(64).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

impl fmt::Display for super::CsvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
