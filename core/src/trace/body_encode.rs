//! Builds the decompressed body of a data chunk: base time, then the
//! cgroup-table, samples and events sections.

use crate::name::CgroupName;
use crate::trace::columns::{
    delta_residuals, dod_residuals, put_optional, put_residuals, Column, FirstPrediction,
    OptionalColumn, OPTIONAL_COLUMNS, STREAMS, STRUCTURE, TIMES_AS_PREVIOUS, TIMES_EXPLICIT,
};
use crate::trace::event_codec::put_event_kind;
use crate::trace::layout::{SECTION_CGROUPS, SECTION_EVENTS, SECTION_SAMPLES};
use crate::trace::model::{CgroupId, Event, Sample};
use crate::trace::varint::{put_varint, zigzag};

/// One entry of a chunk's cgroup table.
#[derive(Debug, Clone, Copy)]
pub struct TableEntry<'a> {
    /// The id.
    pub id: CgroupId,
    /// Its name.
    pub name: &'a CgroupName,
    /// First appearance.
    pub first_seen_ns: u64,
}

/// Reusable buffers for encoding bodies.
#[derive(Debug, Default)]
pub struct BodyEncoder {
    section: Vec<u8>,
    streams: [Vec<u8>; STREAMS],
    residuals: Vec<u64>,
    optional: Vec<Option<u64>>,
}

impl BodyEncoder {
    /// Appends the body to `out`. `table` must be sorted by id without
    /// duplicates; `samples` sorted by (cgroup, time); `events` by
    /// (time, cgroup).
    pub fn encode(
        &mut self,
        out: &mut Vec<u8>,
        table: &[TableEntry<'_>],
        samples: &[Sample],
        events: &[Event],
    ) {
        let base = samples
            .iter()
            .map(|s| s.time_ns)
            .chain(events.iter().map(|e| e.time_ns))
            .min()
            .or_else(|| table.iter().map(|t| t.first_seen_ns).min())
            .unwrap_or(0);
        put_varint(out, base);
        if !table.is_empty() {
            self.section.clear();
            encode_table(&mut self.section, table, base);
            put_section(out, SECTION_CGROUPS, &self.section);
        }
        if !samples.is_empty() {
            self.section.clear();
            self.encode_samples(samples, base);
            put_section(out, SECTION_SAMPLES, &self.section);
        }
        if !events.is_empty() {
            self.section.clear();
            encode_events(&mut self.section, events, base);
            put_section(out, SECTION_EVENTS, &self.section);
        }
    }

    fn encode_samples(&mut self, samples: &[Sample], base: u64) {
        let groups = samples.chunk_by(|a, b| a.cgroup == b.cgroup);
        put_varint(&mut self.section, groups.clone().count() as u64);
        let st = &mut self.streams;
        st.iter_mut().for_each(Vec::clear);
        let mut prev: Option<CgroupId> = None;
        let mut prev_group: &[Sample] = &[];
        for g in groups {
            let id = g[0].cgroup;
            let structure = &mut st[STRUCTURE];
            put_varint(structure, id_gap(prev, id));
            prev = Some(id);
            put_varint(structure, g.len() as u64);
            let same_times = g.len() == prev_group.len()
                && g.iter()
                    .zip(prev_group)
                    .all(|(a, b)| a.time_ns == b.time_ns);
            if same_times {
                structure.push(TIMES_AS_PREVIOUS);
            } else {
                structure.push(TIMES_EXPLICIT);
                dod_residuals(g.iter().map(|s| s.time_ns), base, &mut self.residuals);
                put_residuals(st, Column::Time, &self.residuals);
            }
            prev_group = g;
            delta_residuals(g.iter().map(|s| s.usage), 0, &mut self.residuals);
            put_residuals(st, Column::Usage, &self.residuals);
            for OptionalColumn {
                column,
                field,
                first,
            } in OPTIONAL_COLUMNS
            {
                self.optional.clear();
                self.optional
                    .extend(g.iter().map(|s| *field(&mut s.clone())));
                let first_prev = match first {
                    FirstPrediction::Usage => g
                        .iter()
                        .zip(&self.optional)
                        .find(|(_, v)| v.is_some())
                        .map_or(0, |(s, _)| s.usage),
                    FirstPrediction::Zero => 0,
                };
                put_optional(st, column, &self.optional, first_prev, &mut self.residuals);
            }
        }
        for s in st.iter() {
            put_varint(&mut self.section, s.len() as u64);
        }
        for s in st.iter() {
            self.section.extend_from_slice(s);
        }
    }
}

/// Gap coding of strictly ascending ids: the first id itself, then
/// `id - previous - 1`.
fn id_gap(prev: Option<CgroupId>, id: CgroupId) -> u64 {
    match prev {
        None => id as u64,
        Some(p) => (id - p - 1) as u64,
    }
}

fn put_section(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn encode_table(out: &mut Vec<u8>, table: &[TableEntry<'_>], base: u64) {
    put_varint(out, table.len() as u64);
    let mut prev = None;
    for t in table {
        put_varint(out, id_gap(prev, t.id));
        prev = Some(t.id);
        put_varint(out, zigzag(t.first_seen_ns.wrapping_sub(base) as i64));
        let name = t.name.as_str().as_bytes();
        put_varint(out, name.len() as u64);
        out.extend_from_slice(name);
    }
}

fn encode_events(out: &mut Vec<u8>, events: &[Event], base: u64) {
    put_varint(out, events.len() as u64);
    let mut prev = base;
    for e in events {
        put_varint(out, zigzag(e.time_ns.wrapping_sub(prev) as i64));
        prev = e.time_ns;
        put_varint(out, e.cgroup as u64);
        put_event_kind(out, &e.kind);
    }
}
