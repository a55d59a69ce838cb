//! RFC 4180 field splitting over a byte stream: quoted fields (with `""`
//! for a quote, and line ends inside), `\n` or `\r\n` line ends, and the
//! line and column of every field. Bounded: at most [`MAX_FIELDS`] fields of
//! at most [`MAX_FIELD_LEN`] bytes are kept per record.

use std::io::BufRead;

use super::error::{CsvError, CsvErrorKind};
use super::MAX_FIELD_LEN;

/// Fields kept per record; a record with more is an error.
pub(crate) const MAX_FIELDS: usize = 5;

/// Where a field of the current record lies in [`FieldReader::bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldPos {
    pub start: usize,
    pub end: usize,
    /// 1-based line of the field's first byte.
    pub line: u64,
    /// 1-based byte column of the field's first byte.
    pub column: u64,
}

/// Splits a byte stream into records of fields.
#[derive(Debug)]
pub(crate) struct FieldReader<R> {
    input: R,
    line: u64,
    column: u64,
    bytes: Vec<u8>,
    fields: Vec<FieldPos>,
}

impl<R: BufRead> FieldReader<R> {
    pub fn new(input: R) -> Self {
        FieldReader {
            input,
            line: 1,
            column: 1,
            bytes: Vec::with_capacity(256),
            fields: Vec::with_capacity(MAX_FIELDS),
        }
    }

    /// The bytes of the current record's fields.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Line of the next unread byte.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn error(&self, kind: CsvErrorKind) -> CsvError {
        CsvError::at(self.line, self.column, kind)
    }

    fn peek(&mut self) -> Result<Option<u8>, CsvError> {
        loop {
            match self.input.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.error(CsvErrorKind::Io(e))),
            }
        }
    }

    fn consume(&mut self, b: u8) {
        self.input.consume(1);
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
    }

    fn push(&mut self, b: u8) -> Result<(), CsvError> {
        let start = self.fields.last().map_or(0, |f| f.start);
        if self.bytes.len() - start >= MAX_FIELD_LEN {
            return Err(self.error(CsvErrorKind::FieldTooLong));
        }
        self.bytes.push(b);
        Ok(())
    }

    /// Consumes a line end at the current byte (`\n` or `\r\n`).
    fn line_end(&mut self, b: u8) -> Result<(), CsvError> {
        if b == b'\r' {
            self.consume(b);
            if self.peek()? != Some(b'\n') {
                return Err(self.error(CsvErrorKind::BareCarriageReturn));
            }
        }
        self.consume(b'\n');
        Ok(())
    }

    /// Reads the next record; `None` at the end of the input. The fields
    /// are returned by position into [`FieldReader::bytes`].
    pub fn next_record(&mut self) -> Result<Option<&[FieldPos]>, CsvError> {
        self.bytes.clear();
        self.fields.clear();
        if self.peek()?.is_none() {
            return Ok(None);
        }
        loop {
            if self.fields.len() == MAX_FIELDS {
                return Err(self.error(CsvErrorKind::FieldCount {
                    found: MAX_FIELDS + 1,
                }));
            }
            let (line, column) = (self.line, self.column);
            let start = self.bytes.len();
            self.fields.push(FieldPos {
                start,
                end: start,
                line,
                column,
            });
            let quoted = self.peek()? == Some(b'"');
            if quoted {
                self.consume(b'"');
                loop {
                    match self.peek()? {
                        None => {
                            return Err(CsvError::at(line, column, CsvErrorKind::UnclosedQuote))
                        }
                        Some(b'"') => {
                            self.consume(b'"');
                            if self.peek()? != Some(b'"') {
                                break;
                            }
                            self.consume(b'"');
                            self.push(b'"')?;
                        }
                        Some(b) => {
                            self.consume(b);
                            self.push(b)?;
                        }
                    }
                }
            }
            let last = self.fields.len() - 1;
            loop {
                match self.peek()? {
                    None => {
                        self.fields[last].end = self.bytes.len();
                        return Ok(Some(&self.fields));
                    }
                    Some(b @ (b'\n' | b'\r')) => {
                        self.fields[last].end = self.bytes.len();
                        self.line_end(b)?;
                        return Ok(Some(&self.fields));
                    }
                    Some(b',') => {
                        self.consume(b',');
                        self.fields[last].end = self.bytes.len();
                        break;
                    }
                    Some(b'"') if !quoted => return Err(self.error(CsvErrorKind::StrayQuote)),
                    Some(b) if quoted => {
                        let c = char::from(b);
                        return Err(self.error(CsvErrorKind::AfterQuote(c)));
                    }
                    Some(b) => {
                        self.consume(b);
                        self.push(b)?;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Result<Vec<Vec<String>>, CsvError> {
        let mut r = FieldReader::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(fields) = r.next_record()? {
            let fields = fields.to_vec();
            out.push(
                fields
                    .iter()
                    .map(|f| String::from_utf8(r.bytes()[f.start..f.end].to_vec()).unwrap())
                    .collect(),
            );
        }
        Ok(out)
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        let got = records("a,b\r\n\"x,\"\"y\"\"\nz\",\n,\n").unwrap();
        assert_eq!(got, [vec!["a", "b"], vec!["x,\"y\"\nz", ""], vec!["", ""]]);
        assert_eq!(records("a").unwrap(), [vec!["a"]]);
        assert_eq!(records("").unwrap(), Vec::<Vec<String>>::new());
    }

    #[test]
    fn reports_positions() {
        let e = records("a,b\nab\"c\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(matches!(e.kind, CsvErrorKind::StrayQuote));
        let e = records("a,\"b\nc").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
        assert!(matches!(e.kind, CsvErrorKind::UnclosedQuote));
        let e = records("\"a\"x").unwrap_err();
        assert_eq!((e.line, e.column), (1, 4));
        let e = records("a\rb").unwrap_err();
        assert!(matches!(e.kind, CsvErrorKind::BareCarriageReturn));
        let e = records("1,2,3,4,5,6\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 11));
        let long = "x".repeat(MAX_FIELD_LEN + 1);
        assert!(matches!(
            records(&long).unwrap_err().kind,
            CsvErrorKind::FieldTooLong
        ));
    }
}
