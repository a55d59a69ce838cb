//! `cgrec export --format parquet`: the CSV interchange rows
//! ([`cgcal_core::interchange`]) as an Apache Parquet file, for fleet-wide
//! analysis in DuckDB, Spark, DataFusion or pandas.
//!
//! Schema (one row per CSV row, same order, same values):
//!
//! ```text
//! message cgrec_export {
//!   REQUIRED INT64 timestamp_ns (TIMESTAMP(NANOS,true));  -- UTC instant
//!   REQUIRED BYTE_ARRAY cgroup (STRING);                  -- dictionary-encoded
//!   REQUIRED BYTE_ARRAY kind (STRING);                    -- sample|oom|oom_kill|limit
//!   OPTIONAL INT64 usage_bytes (INTEGER(64,false));       -- null where CSV is empty
//!   OPTIONAL INT64 limit_bytes (INTEGER(64,false));       -- null: no limit / unknown
//! }
//! ```
//!
//! `timestamp_ns` is a nanosecond UTC timestamp (readers show a time; its
//! integer is the CSV's `timestamp_ns`); a time after 2262-04-11 (beyond a
//! signed 64-bit nanosecond count) is refused. Byte counts are unsigned
//! 64-bit, as in the trace (pyarrow `uint64`, DuckDB `UBIGINT`). Columns are
//! Snappy-compressed, dictionary-encoded where that pays (the writer's
//! default). Rows are buffered [`ROW_GROUP_ROWS`] at a time and written as
//! one row group: memory is bounded by one row group, not the trace.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use cgcal_core::interchange::CsvOutRow;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// The Parquet schema of the export.
pub const SCHEMA: &str = "message cgrec_export {
  REQUIRED INT64 timestamp_ns (TIMESTAMP(NANOS,true));
  REQUIRED BYTE_ARRAY cgroup (STRING);
  REQUIRED BYTE_ARRAY kind (STRING);
  OPTIONAL INT64 usage_bytes (INTEGER(64,false));
  OPTIONAL INT64 limit_bytes (INTEGER(64,false));
}";

/// Rows per row group (about 10 MiB of buffered columns at most).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// One nullable column being buffered: the present values and a
/// definition level per row (1 present, 0 null).
#[derive(Default)]
struct Nullable {
    values: Vec<i64>,
    levels: Vec<i16>,
}

impl Nullable {
    fn push(&mut self, v: Option<u64>) {
        match v {
            // The unsigned annotation makes readers take the bits back as u64.
            Some(v) => {
                self.values.push(v as i64);
                self.levels.push(1);
            }
            None => self.levels.push(0),
        }
    }

    fn clear(&mut self) {
        self.values.clear();
        self.levels.clear();
    }
}

/// A Parquet export being written.
pub struct ParquetExport {
    path: PathBuf,
    writer: SerializedFileWriter<File>,
    times: Vec<i64>,
    cgroups: Vec<ByteArray>,
    kinds: Vec<ByteArray>,
    usage: Nullable,
    limit: Nullable,
    rows: u64,
}

impl std::fmt::Debug for ParquetExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetExport")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ParquetExport {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> anyhow::Result<ParquetExport> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let schema = Arc::new(parse_message_type(SCHEMA).context("the export schema")?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("cgrec {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(file, schema, Arc::new(props))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(ParquetExport {
            path: path.to_path_buf(),
            writer,
            times: Vec::new(),
            cgroups: Vec::new(),
            kinds: Vec::new(),
            usage: Nullable::default(),
            limit: Nullable::default(),
            rows: 0,
        })
    }

    /// Adds a row; writes a row group every [`ROW_GROUP_ROWS`] rows.
    pub fn push(&mut self, row: &CsvOutRow<'_>) -> anyhow::Result<()> {
        let time = i64::try_from(row.time_ns).map_err(|_| {
            anyhow::anyhow!(
                "{}: timestamp_ns {} of {} is after 2262-04-11, beyond a Parquet nanosecond timestamp: export it with --format csv",
                self.path.display(),
                row.time_ns,
                row.cgroup
            )
        })?;
        self.times.push(time);
        self.cgroups
            .push(ByteArray::from(row.cgroup.as_str().as_bytes().to_vec()));
        self.kinds.push(ByteArray::from(row.kind.as_str()));
        self.usage.push(row.usage);
        self.limit.push(row.limit);
        if self.times.len() >= ROW_GROUP_ROWS {
            self.write_row_group()?;
        }
        Ok(())
    }

    /// Writes the last row group and the footer; returns the rows written.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        if !self.times.is_empty() {
            self.write_row_group()?;
        }
        let path = self.path.display().to_string();
        self.writer
            .close()
            .with_context(|| format!("cannot write {path}"))?;
        Ok(self.rows)
    }

    fn write_row_group(&mut self) -> anyhow::Result<()> {
        let path = self.path.display().to_string();
        let err = || format!("cannot write a row group of {path}");
        let mut rg = self.writer.next_row_group().with_context(err)?;
        let mut index = 0;
        while let Some(mut col) = rg.next_column().with_context(err)? {
            match index {
                0 => col
                    .typed::<Int64Type>()
                    .write_batch(&self.times, None, None),
                1 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&self.cgroups, None, None),
                2 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&self.kinds, None, None),
                3 => col.typed::<Int64Type>().write_batch(
                    &self.usage.values,
                    Some(&self.usage.levels),
                    None,
                ),
                _ => col.typed::<Int64Type>().write_batch(
                    &self.limit.values,
                    Some(&self.limit.levels),
                    None,
                ),
            }
            .with_context(err)?;
            col.close().with_context(err)?;
            index += 1;
        }
        rg.close().with_context(err)?;
        self.rows += self.times.len() as u64;
        self.times.clear();
        self.cgroups.clear();
        self.kinds.clear();
        self.usage.clear();
        self.limit.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cgcal_core::interchange::CsvKind;
    use cgcal_core::name::CgroupName;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    /// (time, cgroup, kind, usage, limit).
    type RowTuple = (u64, String, String, Option<u64>, Option<u64>);

    /// Reads every row back.
    fn read_back(path: &Path) -> Vec<RowTuple> {
        let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        let opt = |f: &Field| match f {
            Field::Null => None,
            Field::ULong(v) => Some(*v),
            other => panic!("{other:?}"),
        };
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| {
                let row = row.unwrap();
                let cols: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
                // TIMESTAMP(NANOS) has no converted type: its integer comes back.
                let time = match cols[0] {
                    Field::Long(v) => *v as u64,
                    other => panic!("timestamp {other:?}"),
                };
                let s = |f: &Field| match f {
                    Field::Str(s) => s.clone(),
                    other => panic!("{other:?}"),
                };
                (time, s(cols[1]), s(cols[2]), opt(cols[3]), opt(cols[4]))
            })
            .collect()
    }

    #[test]
    fn rows_read_back_with_nulls_across_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let names = [
            CgroupName::parse("/a").unwrap(),
            CgroupName::parse("/b/c").unwrap(),
        ];
        let mut want = Vec::new();
        let mut out = ParquetExport::create(&path).unwrap();
        let n = ROW_GROUP_ROWS + 10;
        for i in 0..n as u64 {
            let (kind, usage, limit) = match i % 4 {
                0 => (CsvKind::Sample, Some(i * 4096), None),
                1 => (CsvKind::Sample, Some(u64::MAX - i), Some(1 << 30)),
                2 => (CsvKind::OomKill, None, Some(7)),
                _ => (CsvKind::Limit, None, None),
            };
            let cgroup = &names[(i % 2) as usize];
            out.push(&CsvOutRow {
                time_ns: 1_795_867_200_000_000_000 + i,
                cgroup,
                kind,
                usage,
                limit,
            })
            .unwrap();
            want.push((
                1_795_867_200_000_000_000 + i,
                cgroup.to_string(),
                kind.as_str().to_string(),
                usage,
                limit,
            ));
        }
        assert_eq!(out.finish().unwrap(), n as u64);
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 2);
        let got = read_back(&path);
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn a_time_beyond_2262_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut out = ParquetExport::create(&path).unwrap();
        let err = out
            .push(&CsvOutRow {
                time_ns: u64::MAX,
                cgroup: &CgroupName::root(),
                kind: CsvKind::Sample,
                usage: Some(1),
                limit: None,
            })
            .unwrap_err();
        assert!(
            err.to_string().contains("t.parquet") && err.to_string().contains("csv"),
            "{err}"
        );
    }
}
