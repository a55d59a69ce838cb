//! Parses the decompressed body of a data chunk into cgroup-table entries,
//! samples sorted by (time, cgroup) and events sorted by (time, cgroup).

use crate::name::{CgroupName, MAX_NAME_LEN};
use crate::trace::columns::{read_optional, read_times, read_usage};
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

/// Decodes a whole body.
pub fn decode_body(buf: &[u8]) -> Result<Body, DecodeError> {
    let mut c = Cursor::new(buf);
    let base = c.varint()?;
    let mut body = Body::default();
    let mut seen = [false; 4];
    let mut sample_ids = Vec::new();
    while !c.is_empty() {
        let tag = c.u8()?;
        let len = c.bounded(c.remaining() as u64, "section length")? as usize;
        let start = c.pos();
        let section = c.bytes(len)?;
        let known = matches!(tag, SECTION_CGROUPS | SECTION_SAMPLES | SECTION_EVENTS);
        if known && std::mem::replace(&mut seen[tag as usize], true) {
            return Err(DecodeError {
                at: start - 1,
                what: format!("section {tag} appears twice"),
            });
        }
        let mut s = Cursor::new(section);
        let r = match tag {
            SECTION_CGROUPS => decode_table(&mut s, base, &mut body.table),
            SECTION_SAMPLES => decode_samples(&mut s, base, &mut body.samples, &mut sample_ids),
            SECTION_EVENTS => decode_events(&mut s, base, &mut body.events),
            _ => Ok(()), // a section of a later minor version: skipped
        };
        let r = r.and_then(|()| match s.is_empty() || !known {
            true => Ok(()),
            false => Err(s.error("trailing bytes in section")),
        });
        r.map_err(|e| DecodeError {
            at: start + e.at,
            what: e.what,
        })?;
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

fn decode_samples(
    c: &mut Cursor<'_>,
    base: u64,
    out: &mut Vec<Sample>,
    ids: &mut Vec<CgroupId>,
) -> Result<(), DecodeError> {
    // A group takes at least 8 bytes: id, count, 2 shift bytes, 1 residual
    // each, 4 presence bytes … 9, so 8 is a safe lower bound.
    let groups = count(c, 8, "sample group count")?;
    let mut prev = None;
    let mut total: u64 = 0;
    // (number of samples per group, if equal so far; times equal so far)
    let mut uniform = true;
    let mut first_len = 0usize;
    for g in 0..groups {
        let gap = c.varint()?;
        let id = next_id(c, prev, gap)?;
        prev = Some(id);
        ids.push(id);
        let at = c.pos();
        let n = c.bounded(c.remaining() as u64, "group sample count")? as usize;
        total += n as u64;
        if n == 0 || total > MAX_RECORDS_PER_CHUNK {
            return Err(DecodeError {
                at,
                what: format!("group sample count {n} is 0 or makes more than {MAX_RECORDS_PER_CHUNK} samples"),
            });
        }
        let start = out.len();
        read_times(c, n, base, id, out)?;
        let group = &mut out[start..];
        read_usage(c, group)?;
        read_optional(c, group, |s| &mut s.limit)?;
        read_optional(c, group, |s| &mut s.inactive_file)?;
        read_optional(c, group, |s| &mut s.peak)?;
        read_optional(c, group, |s| &mut s.failcnt)?;
        if g == 0 {
            first_len = n;
            uniform = out.windows(2).all(|w| w[0].time_ns < w[1].time_ns);
        } else if uniform {
            uniform = n == first_len
                && out[..n]
                    .iter()
                    .zip(&out[start..])
                    .all(|(a, b)| a.time_ns == b.time_ns);
        }
    }
    if uniform && groups > 1 {
        // Every group sampled at the same strictly increasing times (one
        // sweep per time): interleave without comparisons.
        let mut sorted = Vec::with_capacity(out.len());
        for i in 0..first_len {
            sorted.extend((0..groups).map(|g| out[g * first_len + i]));
        }
        *out = sorted;
    } else if !uniform {
        out.sort_by_key(|s| (s.time_ns, s.cgroup));
    }
    Ok(())
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
