//! [`TraceWriter`]: buffers samples and events and appends them as
//! self-checking data chunks.

use std::collections::HashMap;
use std::io::Write;

use crate::name::CgroupName;
use crate::trace::body_encode::TableEntry;
use crate::trace::error::TraceError;
use crate::trace::file_header::encode_file_header;
use crate::trace::layout::{FrameHeader, KIND_DATA, MAX_HEADER_BODY, MAX_STORED_LEN};
use crate::trace::model::{CgroupId, Event, Header, Sample};
use crate::trace::payload::PayloadEncoder;

/// Records buffered before a chunk is written automatically.
pub const FLUSH_RECORDS: usize = 1 << 16;
/// Name bytes of a chunk's cgroup table above which a chunk is written
/// automatically (keeps bodies far below the format's 256 MiB limit).
const TABLE_NAME_BUDGET: usize = 16 << 20;
/// Most entries in one chunk's cgroup table.
const TABLE_ENTRIES_MAX: usize = 1 << 16;

/// Writes a trace: the file header at once, then one data chunk per
/// [`TraceWriter::flush_chunk`] (or automatically every [`FLUSH_RECORDS`]
/// records). Records still buffered when the writer is dropped without
/// [`TraceWriter::finish`] are lost; everything flushed before stays readable.
pub struct TraceWriter<W: Write> {
    out: W,
    file: String,
    bytes_written: u64,
    chunks_written: u64,
    ids: HashMap<CgroupName, CgroupId>,
    /// Name and first-seen time of every defined cgroup, by id.
    defs: Vec<(CgroupName, u64)>,
    /// Ids of the pending chunk's cgroup table (unsorted, no duplicates).
    table: Vec<CgroupId>,
    /// `epoch` at which each id last entered `table`.
    in_table: Vec<u64>,
    epoch: u64,
    table_name_bytes: usize,
    /// Ids below this were written in an earlier chunk.
    written_defs: usize,
    samples: Vec<Sample>,
    events: Vec<Event>,
    /// Scratch: `samples` grouped by cgroup, and each id's group index.
    grouped: Vec<Sample>,
    slot: Vec<u32>,
    encoder: PayloadEncoder,
}

impl<W: Write> std::fmt::Debug for TraceWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceWriter")
            .field("file", &self.file)
            .field("bytes_written", &self.bytes_written)
            .field("chunks_written", &self.chunks_written)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl<W: Write> TraceWriter<W> {
    /// Writes the file header to `out` and returns a writer; errors name the
    /// output as `<stream>`.
    pub fn new(out: W, header: &Header) -> Result<Self, TraceError> {
        Self::with_file_name(out, header, "<stream>")
    }

    /// As [`TraceWriter::new`], with `file` naming the output in errors.
    pub fn with_file_name(mut out: W, header: &Header, file: &str) -> Result<Self, TraceError> {
        let bytes = encode_file_header(header).map_err(|len| TraceError::HeaderTooLarge {
            file: file.to_string(),
            len,
            max: MAX_HEADER_BODY as u64,
        })?;
        let io = |op, source| TraceError::Io {
            op,
            file: file.to_string(),
            offset: 0,
            source,
        };
        out.write_all(&bytes).map_err(|e| io("write", e))?;
        out.flush().map_err(|e| io("flush", e))?;
        let encoder = PayloadEncoder::new().map_err(|e| io("set up zstd for", e))?;
        Ok(TraceWriter {
            out,
            file: file.to_string(),
            bytes_written: bytes.len() as u64,
            chunks_written: 0,
            ids: HashMap::new(),
            defs: Vec::new(),
            table: Vec::new(),
            in_table: Vec::new(),
            epoch: 1,
            table_name_bytes: 0,
            written_defs: 0,
            samples: Vec::new(),
            events: Vec::new(),
            grouped: Vec::new(),
            slot: Vec::new(),
            encoder,
        })
    }

    /// The id of `name`, defining it (first seen at `time_ns`) if new.
    pub fn cgroup_id(&mut self, name: &CgroupName, time_ns: u64) -> CgroupId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = CgroupId::try_from(self.defs.len()).unwrap_or(CgroupId::MAX);
        self.ids.insert(name.clone(), id);
        self.defs.push((name.clone(), time_ns));
        self.in_table.push(0);
        self.add_to_table(id);
        id
    }

    /// Buffers a sample; writes a chunk first when the buffer is full.
    pub fn push_sample(&mut self, s: Sample) -> Result<(), TraceError> {
        self.make_room(s.cgroup)?;
        self.samples.push(s);
        Ok(())
    }

    /// Buffers an event; writes a chunk first when the buffer is full.
    pub fn push_event(&mut self, e: Event) -> Result<(), TraceError> {
        self.make_room(e.cgroup)?;
        self.events.push(e);
        Ok(())
    }

    /// Encodes the buffered records and new cgroup definitions (if any) as
    /// one chunk, writes it and flushes the output.
    pub fn flush_chunk(&mut self) -> Result<(), TraceError> {
        if self.pending() > 0 {
            self.write_pending()?;
        }
        let offset = self.bytes_written;
        self.out.flush().map_err(|e| self.io("flush", offset, e))
    }

    /// Flushes the last chunk and returns the output.
    pub fn finish(mut self) -> Result<W, TraceError> {
        self.flush_chunk()?;
        Ok(self.out)
    }

    /// Bytes written so far, file header included.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Buffered samples and events plus cgroup definitions not written yet.
    pub fn pending(&self) -> usize {
        self.samples.len() + self.events.len() + (self.defs.len() - self.written_defs)
    }

    fn io(&self, op: &'static str, offset: u64, source: std::io::Error) -> TraceError {
        TraceError::Io {
            op,
            file: self.file.clone(),
            offset,
            source,
        }
    }

    fn add_to_table(&mut self, id: CgroupId) {
        let slot = &mut self.in_table[id as usize];
        if *slot != self.epoch {
            *slot = self.epoch;
            self.table.push(id);
            self.table_name_bytes += self.defs[id as usize].0.as_str().len();
        }
    }

    /// Checks `id` and writes a chunk first if adding a record of `id`
    /// would overfill the buffer.
    fn make_room(&mut self, id: CgroupId) -> Result<(), TraceError> {
        let Some((name, _)) = self.defs.get(id as usize) else {
            return Err(TraceError::UnknownCgroup {
                file: self.file.clone(),
                id,
                defined: self.defs.len() as u64,
                offset: self.bytes_written,
            });
        };
        let new_name = match self.in_table[id as usize] == self.epoch {
            true => 0,
            false => name.as_str().len(),
        };
        if self.samples.len() + self.events.len() >= FLUSH_RECORDS
            || self.table.len() >= TABLE_ENTRIES_MAX
            || self.table_name_bytes + new_name > TABLE_NAME_BUDGET
        {
            self.flush_chunk()?;
        }
        self.add_to_table(id);
        Ok(())
    }

    fn write_pending(&mut self) -> Result<(), TraceError> {
        let mut table = std::mem::take(&mut self.table);
        table.sort_unstable();
        // Only `cgroup_id` calls without records can overfill the table:
        // write the definitions no record refers to in chunks of their own.
        if table.len() > TABLE_ENTRIES_MAX || self.table_name_bytes > TABLE_NAME_BUDGET {
            let mut used: Vec<CgroupId> = self.samples.iter().map(|s| s.cgroup).collect();
            used.extend(self.events.iter().map(|e| e.cgroup));
            used.sort_unstable();
            used.dedup();
            let unused: Vec<CgroupId> = table
                .iter()
                .copied()
                .filter(|id| used.binary_search(id).is_err())
                .collect();
            let mut start = 0;
            while start < unused.len() {
                let (mut end, mut bytes) = (start, 0);
                while end < unused.len()
                    && end - start < TABLE_ENTRIES_MAX
                    && bytes < TABLE_NAME_BUDGET
                {
                    bytes += self.defs[unused[end] as usize].0.as_str().len();
                    end += 1;
                }
                if let Err(e) = self.write_chunk(&unused[start..end], &[], &[]) {
                    self.table = table;
                    return Err(e);
                }
                start = end;
            }
            table = used;
        }
        let mut samples = std::mem::take(&mut self.samples);
        let mut events = std::mem::take(&mut self.events);
        let mut grouped = std::mem::take(&mut self.grouped);
        group_by_cgroup(&samples, &table, &mut self.slot, &mut grouped);
        events.sort_by_key(|e| (e.time_ns, e.cgroup));
        let r = self.write_chunk(&table, &grouped, &events);
        self.grouped = grouped;
        if r.is_ok() {
            samples.clear();
            events.clear();
            table.clear();
            self.epoch += 1;
            self.table_name_bytes = 0;
            self.written_defs = self.defs.len();
        }
        self.samples = samples;
        self.events = events;
        self.table = table;
        r
    }

    fn write_chunk(
        &mut self,
        ids: &[CgroupId],
        samples: &[Sample],
        events: &[Event],
    ) -> Result<(), TraceError> {
        let offset = self.bytes_written;
        let entries: Vec<TableEntry<'_>> = ids
            .iter()
            .map(|&id| {
                let (name, first_seen_ns) = &self.defs[id as usize];
                TableEntry {
                    id,
                    name,
                    first_seen_ns: *first_seen_ns,
                }
            })
            .collect();
        let encode_error = |what: String| TraceError::Encode {
            file: self.file.clone(),
            chunk_index: self.chunks_written,
            offset,
            what,
        };
        self.encoder
            .encode(&entries, samples, events)
            .map_err(encode_error)?;
        let stored = &self.encoder.stored;
        if stored.len() > MAX_STORED_LEN as usize {
            return Err(encode_error(format!(
                "compressed payload of {} bytes exceeds the limit {MAX_STORED_LEN}",
                stored.len()
            )));
        }
        let frame = FrameHeader {
            kind: KIND_DATA,
            seq: self.chunks_written as u32,
            stored_len: stored.len() as u32,
            payload_crc: crc32c::crc32c(stored),
        };
        let r = self
            .out
            .write_all(&frame.encode())
            .and_then(|()| self.out.write_all(stored));
        let len = (frame.encode().len() + stored.len()) as u64;
        r.map_err(|e| self.io("write", offset, e))?;
        self.bytes_written += len;
        self.chunks_written += 1;
        Ok(())
    }
}

/// Stable counting sort of `samples` by cgroup (ids in `table`, sorted),
/// then each group sorted by time if it is not already: the order the
/// samples section stores.
fn group_by_cgroup(
    samples: &[Sample],
    table: &[CgroupId],
    slot: &mut Vec<u32>,
    out: &mut Vec<Sample>,
) {
    out.clear();
    let Some(&max) = table.last() else {
        return;
    };
    slot.resize(slot.len().max(max as usize + 1), 0);
    for (i, &id) in table.iter().enumerate() {
        slot[id as usize] = i as u32;
    }
    let mut next = vec![0usize; table.len() + 1];
    for s in samples {
        next[slot[s.cgroup as usize] as usize + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    out.extend_from_slice(samples);
    for s in samples {
        let pos = &mut next[slot[s.cgroup as usize] as usize];
        out[*pos] = *s;
        *pos += 1;
    }
    for g in out.chunk_by_mut(|a, b| a.cgroup == b.cgroup) {
        if !g.is_sorted_by_key(|s| s.time_ns) {
            g.sort_by_key(|s| s.time_ns);
        }
    }
}
