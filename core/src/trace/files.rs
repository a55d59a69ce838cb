//! Opening and creating trace files by path.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use crate::trace::error::TraceError;
use crate::trace::model::Header;
use crate::trace::reader::TraceReader;
use crate::trace::writer::TraceWriter;

/// Opens the trace at `path` and reads its header; errors name the path.
pub fn open_trace(path: &Path) -> Result<TraceReader<BufReader<File>>, TraceError> {
    let file = path.display().to_string();
    let f = File::open(path).map_err(|source| TraceError::Io {
        op: "open",
        file: file.clone(),
        offset: 0,
        source,
    })?;
    TraceReader::with_file_name(BufReader::with_capacity(256 * 1024, f), &file)
}

/// Creates (or truncates) the trace at `path` and writes its header;
/// errors name the path.
pub fn create_trace(
    path: &Path,
    header: &Header,
) -> Result<TraceWriter<BufWriter<File>>, TraceError> {
    let file = path.display().to_string();
    let f = File::create(path).map_err(|source| TraceError::Io {
        op: "create",
        file: file.clone(),
        offset: 0,
        source,
    })?;
    TraceWriter::with_file_name(BufWriter::with_capacity(256 * 1024, f), header, &file)
}
