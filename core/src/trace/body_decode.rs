//! Parses the decompressed body of a data chunk into cgroup-table entries,
//! samples sorted by (time, cgroup) and events sorted by (time, cgroup).

use crate::name::{CgroupName, MAX_NAME_LEN};
use crate::trace::columns::{
    Streams, OPTIONAL_COLUMNS, STREAMS, STRUCTURE, TIMES_AS_PREVIOUS, TIMES_EXPLICIT,
};
use crate::trace::event_codec::read_event_kind;
use crate::trace::layout::{
    MAX_RECORDS_PER_CHUNK, SECTION_CGROUPS, SECTION_EVENTS, SECTION_SAMPLES,
};
use crate::trace::model::{CgroupDef, CgroupId, Event, Sample};
use crate::trace::varint::{Cursor, DecodeError};

/// The content of one data chunk.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Body {
    /// The chunk's cgroup table, sorted by id.
    pub table: Vec<CgroupDef>,
    /// Samples sorted by (time, cgroup).
    pub samples: Vec<Sample>,
    /// Events sorted by (time, cgroup).
    pub events: Vec<Event>,
}

/// Decodes a whole body, using `scratch` for intermediate buffers.
pub fn decode_body(buf: &[u8], scratch: &mut SampleScratch) -> Result<Body, DecodeError> {
    let mut c = Cursor::new(buf);
    let base = c.varint()?;
    let mut body = Body::default();
    let mut seen = [false; 4];
    let mut sample_ids = Vec::new();
    while !c.is_empty() {
        let tag = c.u8()?;
        let len = c.bounded(c.remaining() as u64, "section length")? as usize;
        let start = c.pos();
        let mut s = c.sub(len)?;
        let known = matches!(tag, SECTION_CGROUPS | SECTION_SAMPLES | SECTION_EVENTS);
        if known && std::mem::replace(&mut seen[tag as usize], true) {
            return Err(DecodeError {
                at: start - 1,
                what: format!("section {tag} appears twice"),
            });
        }
        match tag {
            SECTION_CGROUPS => decode_table(&mut s, base, &mut body.table)?,
            SECTION_SAMPLES => {
                decode_samples(&mut s, base, &mut body.samples, &mut sample_ids, scratch)?
            }
            SECTION_EVENTS => decode_events(&mut s, base, &mut body.events)?,
            _ => continue, // a section of a later minor version: skipped
        }
        if !s.is_empty() {
            return Err(s.error("trailing bytes in section"));
        }
    }
    check_references(&body, &sample_ids)?;
    Ok(body)
}

fn next_id(c: &Cursor<'_>, prev: Option<CgroupId>, gap: u64) -> Result<CgroupId, DecodeError> {
    let id = match prev {
        None => Some(gap),
        Some(p) => (p as u64).checked_add(gap).and_then(|v| v.checked_add(1)),
    };
    id.and_then(|v| CgroupId::try_from(v).ok())
        .ok_or_else(|| c.error("cgroup id exceeds u32"))
}

fn count(c: &mut Cursor<'_>, min_bytes_each: usize, what: &str) -> Result<usize, DecodeError> {
    let max = (c.remaining() / min_bytes_each) as u64;
    Ok(c.bounded(max.min(MAX_RECORDS_PER_CHUNK), what)? as usize)
}

fn decode_table(
    c: &mut Cursor<'_>,
    base: u64,
    out: &mut Vec<CgroupDef>,
) -> Result<(), DecodeError> {
    let n = count(c, 4, "cgroup table size")?;
    out.reserve_exact(n);
    let mut prev = None;
    for _ in 0..n {
        let gap = c.varint()?;
        let id = next_id(c, prev, gap)?;
        prev = Some(id);
        let first_seen_ns = base.wrapping_add(c.zigzag()? as u64);
        let len = c.bounded(MAX_NAME_LEN as u64, "cgroup name length")? as usize;
        let at = c.pos();
        let raw = c.bytes(len)?;
        let name = std::str::from_utf8(raw)
            .map_err(|e| e.to_string())
            .and_then(|s| CgroupName::parse(s).map_err(|e| e.to_string()))
            .map_err(|what| DecodeError {
                at,
                what: format!("cgroup {id}: {what}"),
            })?;
        out.push(CgroupDef {
            id,
            name,
            first_seen_ns,
        });
    }
    Ok(())
}

/// Reusable buffers of the samples decoder.
#[derive(Debug, Default)]
pub struct SampleScratch {
    /// Samples in file order (grouped by cgroup).
    grouped: Vec<Sample>,
    /// Start of each group in `grouped`, then its end.
    bounds: Vec<usize>,
    /// Merge cursors.
    heads: Vec<(usize, usize)>,
}

fn decode_samples(
    c: &mut Cursor<'_>,
    base: u64,
    out: &mut Vec<Sample>,
    ids: &mut Vec<CgroupId>,
    scratch: &mut SampleScratch,
) -> Result<(), DecodeError> {
    // A group takes at least 8 structure bytes: id, count, time form, usage
    // shift, 4 presence bytes.
    let groups = c.bounded(MAX_RECORDS_PER_CHUNK, "sample group count")? as usize;
    let mut lens = [0usize; STREAMS];
    for len in &mut lens {
        *len = c.bounded(c.remaining() as u64, "samples stream length")? as usize;
    }
    let mut st = Streams {
        c: [Cursor::new(&[]); STREAMS],
    };
    for (i, &len) in lens.iter().enumerate() {
        st.c[i] = c.sub(len)?;
    }
    if groups > st.c[STRUCTURE].remaining() / 8 {
        return Err(c.error(format!(
            "{groups} sample groups cannot fit in the structure stream"
        )));
    }
    let grouped = &mut scratch.grouped;
    grouped.clear();
    scratch.bounds.clear();
    let mut prev = None;
    let mut prev_start = 0;
    let mut groups_sorted = true;
    for _ in 0..groups {
        let s = &mut st.c[STRUCTURE];
        let gap = s.varint()?;
        let id = next_id(s, prev, gap)?;
        prev = Some(id);
        ids.push(id);
        let at = s.pos();
        let n = s.varint()?;
        let start = grouped.len();
        if n == 0 || start as u64 + n > MAX_RECORDS_PER_CHUNK {
            return Err(DecodeError {
                at,
                what: format!(
                    "group sample count {n} is 0 or makes more than {MAX_RECORDS_PER_CHUNK} samples"
                ),
            });
        }
        let n = n as usize;
        match s.u8()? {
            TIMES_EXPLICIT => {
                st.read_times(n, base, id, grouped)?;
                groups_sorted &= grouped[start..].is_sorted_by_key(|s| s.time_ns);
            }
            TIMES_AS_PREVIOUS if start > 0 && start - prev_start == n => {
                grouped.extend_from_within(prev_start..start);
                grouped[start..].iter_mut().for_each(|s| {
                    *s = Sample {
                        time_ns: s.time_ns,
                        cgroup: id,
                        usage: 0,
                        limit: None,
                        inactive_file: None,
                        peak: None,
                        failcnt: None,
                    }
                });
            }
            f => return Err(s.error(format!("time form {f} is invalid here"))),
        }
        scratch.bounds.push(start);
        prev_start = start;
        let group = &mut grouped[start..];
        st.read_usage(group)?;
        for col in OPTIONAL_COLUMNS {
            st.read_optional(group, col)?;
        }
    }
    if let Some(left) = st.c.iter().find(|c| !c.is_empty()) {
        return Err(left.error("trailing bytes in a samples stream"));
    }
    scratch.bounds.push(grouped.len());
    *out = Vec::with_capacity(grouped.len());
    if !groups_sorted || !sweep_merge(scratch, out) {
        out.clear();
        out.extend_from_slice(&scratch.grouped);
        out.sort_by_key(|s| (s.time_ns, s.cgroup));
    }
    Ok(())
}

/// Merges the time-sorted groups (ascending cgroup ids) into (time, cgroup)
/// order one distinct time at a time. Cheap when many groups share each
/// time (sweeps); gives up (returns false) when the groups' times are so
/// scattered that a sort is cheaper.
fn sweep_merge(scratch: &mut SampleScratch, out: &mut Vec<Sample>) -> bool {
    let SampleScratch {
        grouped,
        bounds,
        heads,
    } = scratch;
    heads.clear();
    heads.extend(bounds.windows(2).map(|w| (w[0], w[1])));
    let mut budget = 4 * grouped.len() + 64;
    while !heads.is_empty() {
        if heads.len() > budget {
            return false;
        }
        budget -= heads.len();
        let t = heads
            .iter()
            .map(|&(h, _)| grouped[h].time_ns)
            .min()
            .unwrap_or(0);
        for (h, end) in heads.iter_mut() {
            while *h < *end && grouped[*h].time_ns == t {
                out.push(grouped[*h]);
                *h += 1;
            }
        }
        heads.retain(|&(h, end)| h < end);
    }
    true
}

fn decode_events(c: &mut Cursor<'_>, base: u64, out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let n = count(c, 4, "event count")?;
    out.reserve_exact(n);
    let mut t = base;
    for _ in 0..n {
        t = t.wrapping_add(c.zigzag()? as u64);
        let cgroup = c.varint()?;
        let cgroup =
            CgroupId::try_from(cgroup).map_err(|_| c.error("event cgroup id exceeds u32"))?;
        if let Some(kind) = read_event_kind(c)? {
            out.push(Event {
                time_ns: t,
                cgroup,
                kind,
            });
        }
    }
    if !out.is_sorted_by_key(|e| (e.time_ns, e.cgroup)) {
        out.sort_by_key(|e| (e.time_ns, e.cgroup));
    }
    Ok(())
}

/// Every sample and event must name a cgroup of the chunk's own table.
/// `sample_ids` are the ids of the sample groups, strictly ascending.
fn check_references(body: &Body, sample_ids: &[CgroupId]) -> Result<(), DecodeError> {
    let missing = |what: &str, id: CgroupId| DecodeError {
        at: 0,
        what: format!("{what} names cgroup {id}, missing from the chunk's cgroup table"),
    };
    let mut table = body.table.iter().map(|d| d.id).peekable();
    for &id in sample_ids {
        while table.next_if(|&t| t < id).is_some() {}
        if table.peek() != Some(&id) {
            return Err(missing("a sample", id));
        }
    }
    let known = |id: CgroupId| body.table.binary_search_by_key(&id, |d| d.id).is_ok();
    match body.events.iter().find(|e| !known(e.cgroup)) {
        Some(e) => Err(missing("an event", e.cgroup)),
        None => Ok(()),
    }
}
