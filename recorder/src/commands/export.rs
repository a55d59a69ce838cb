//! `cgrec export`: a trace's (or a directory of rotated traces') samples
//! and events as CSV, JSON lines or Parquet ([`crate::parquet_export`])
//! ([`cgcal_core::interchange`]), streamed chunk by chunk in a buffered
//! writer: memory is bounded by one chunk and the cgroup names.
//!
//! Rows come in file order; within a chunk by time, a sample before the
//! events of the same time. Damaged chunks are reported on stderr with their
//! byte offset and left out. CSV has no form for the under-OOM, created and
//! removed events nor for inactive_file, peak and failcnt: their count is
//! reported on stderr (`--format jsonl` carries everything).

use cgcal_core::interchange::{
    csv_row_of_event, csv_row_of_sample, write_csv_row, write_jsonl_event, write_jsonl_sample,
    CSV_HEADER,
};
use cgcal_core::name::CgroupName;
use cgcal_core::trace::{open_trace_set, CgroupId, Chunk, Event, ReadItem, Sample, TraceSetReader};

use crate::parquet_export::ParquetExport;

use crate::cli::{ExportConfig, ExportFormat};
use crate::output_sink::OutputSink;

/// Bytes gathered before they are handed to the output.
const BATCH: usize = 256 * 1024;

/// Writes a trace's samples and events as CSV, JSON lines or Parquet.
pub fn run(cfg: ExportConfig) -> anyhow::Result<()> {
    let mut reader = open_trace_set(&cfg.trace)?;
    if cfg.format == ExportFormat::Parquet {
        return export_parquet(&cfg, &mut reader);
    }
    let mut out = OutputSink::open(cfg.output.as_deref())?;
    let mut buf = Vec::with_capacity(BATCH + 8192);
    if cfg.format == ExportFormat::Csv {
        buf.extend_from_slice(CSV_HEADER.as_bytes());
        buf.push(b'\n');
    }
    let mut left_out = 0u64;
    let format = cfg.format;
    for_each_named_row(&mut reader, |name, row| {
        match (row, format) {
            (Row::Sample(s), ExportFormat::Jsonl) => write_jsonl_sample(&mut buf, name, s),
            (Row::Sample(s), _) => write_csv_row(&mut buf, &csv_row_of_sample(name, s)),
            (Row::Event(e), ExportFormat::Jsonl) => write_jsonl_event(&mut buf, name, e),
            (Row::Event(e), _) => match csv_row_of_event(name, e) {
                Some(row) => write_csv_row(&mut buf, &row),
                None => left_out += 1,
            },
        }
        if buf.len() >= BATCH {
            out.write_all(&buf)?;
            buf.clear();
        }
        Ok(())
    })?;
    out.write_all(&buf)?;
    out.finish()?;
    warn_left_out(left_out);
    Ok(())
}

/// Writes the CSV's rows as Parquet ([`crate::parquet_export`]) to `-o`.
fn export_parquet(cfg: &ExportConfig, reader: &mut TraceSetReader) -> anyhow::Result<()> {
    let Some(path) = cfg.output.as_deref() else {
        anyhow::bail!("--format parquet needs -o FILE");
    };
    let mut out = ParquetExport::create(path)?;
    let mut left_out = 0u64;
    for_each_named_row(reader, |name, row| match row {
        Row::Sample(s) => out.push(&csv_row_of_sample(name, s)),
        Row::Event(e) => match csv_row_of_event(name, e) {
            Some(row) => out.push(&row),
            None => {
                left_out += 1;
                Ok(())
            }
        },
    })?;
    let rows = out.finish()?;
    tracing::info!("{}: {rows} rows", path.display());
    warn_left_out(left_out);
    Ok(())
}

/// Says how many events the CSV columns could not carry, if any.
fn warn_left_out(left_out: u64) {
    if left_out > 0 {
        tracing::warn!(
            "{left_out} events of kinds CSV cannot carry (under_oom_start, under_oom_end, created, removed) were left out; --format jsonl exports them"
        );
    }
}

/// A sample or an event of a chunk.
#[derive(Clone, Copy)]
enum Row<'a> {
    Sample(&'a Sample),
    Event(&'a Event),
}

/// Calls `f` with every row of the trace and its cgroup's name, chunk by
/// chunk; damaged chunks are reported on stderr (with their file) and left out.
fn for_each_named_row(
    reader: &mut TraceSetReader,
    mut f: impl FnMut(&CgroupName, Row<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let unknown = CgroupName::root();
    while let Some(item) = reader.next_item() {
        match item? {
            ReadItem::Damaged(d) => {
                tracing::warn!("{}: {d}; its records are not exported", reader.file_name())
            }
            ReadItem::Chunk(c) => {
                let name = |id: CgroupId| reader.cgroup_name(id).unwrap_or(&unknown);
                for_each_row(&c, |row| match row {
                    Row::Sample(s) => f(name(s.cgroup), row),
                    Row::Event(e) => f(name(e.cgroup), row),
                })?;
            }
        }
    }
    Ok(())
}

/// Calls `f` with a chunk's samples and events in time order, a sample
/// before the events of the same time (the order of every export format).
fn for_each_row<'a>(
    c: &'a Chunk,
    mut f: impl FnMut(Row<'a>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (mut si, mut ei) = (0, 0);
    while si < c.samples.len() || ei < c.events.len() {
        let sample_next = match (c.samples.get(si), c.events.get(ei)) {
            (Some(s), Some(e)) => s.time_ns <= e.time_ns,
            (Some(_), None) => true,
            _ => false,
        };
        if sample_next {
            si += 1;
            f(Row::Sample(&c.samples[si - 1]))?;
        } else {
            ei += 1;
            f(Row::Event(&c.events[ei - 1]))?;
        }
    }
    Ok(())
}
