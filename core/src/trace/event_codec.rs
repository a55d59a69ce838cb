//! Event kinds on disk: a tag byte, a payload length and a payload, so a
//! reader skips kinds added by later minor versions.

use crate::trace::model::EventKind;
use crate::trace::varint::{put_varint, Cursor, DecodeError};

/// Tag of [`EventKind::Oom`].
pub const TAG_OOM: u8 = 1;
/// Tag of [`EventKind::OomKill`].
pub const TAG_OOM_KILL: u8 = 2;
/// Tag of [`EventKind::UnderOomStart`].
pub const TAG_UNDER_OOM_START: u8 = 3;
/// Tag of [`EventKind::UnderOomEnd`].
pub const TAG_UNDER_OOM_END: u8 = 4;
/// Tag of [`EventKind::LimitChange`].
pub const TAG_LIMIT_CHANGE: u8 = 5;
/// Tag of [`EventKind::Created`].
pub const TAG_CREATED: u8 = 6;
/// Tag of [`EventKind::Removed`].
pub const TAG_REMOVED: u8 = 7;

/// Appends tag, payload length and payload of `kind`.
pub fn put_event_kind(out: &mut Vec<u8>, kind: &EventKind) {
    let (tag, pair) = match *kind {
        EventKind::Oom { usage, limit } => (TAG_OOM, Some((usage, limit))),
        EventKind::OomKill { usage, limit } => (TAG_OOM_KILL, Some((usage, limit))),
        EventKind::UnderOomStart => (TAG_UNDER_OOM_START, None),
        EventKind::UnderOomEnd => (TAG_UNDER_OOM_END, None),
        EventKind::LimitChange { old, new } => (TAG_LIMIT_CHANGE, Some((old, new))),
        EventKind::Created => (TAG_CREATED, None),
        EventKind::Removed => (TAG_REMOVED, None),
    };
    out.push(tag);
    match pair {
        None => out.push(0),
        Some((a, b)) => {
            // The payload is at most 21 bytes: its length is a 1-byte varint.
            let len_at = out.len();
            out.push(0);
            out.push(a.is_some() as u8 | (b.is_some() as u8) << 1);
            for v in [a, b].into_iter().flatten() {
                put_varint(out, v);
            }
            out[len_at] = (out.len() - len_at - 1) as u8;
        }
    }
}

/// Reads tag, length and payload; `Ok(None)` for an unknown tag (skipped).
pub fn read_event_kind(c: &mut Cursor<'_>) -> Result<Option<EventKind>, DecodeError> {
    let tag = c.u8()?;
    let len = c.bounded(c.remaining() as u64, "event payload length")? as usize;
    let mut p = Cursor::new(c.bytes(len)?);
    let pair = |p: &mut Cursor<'_>| -> Result<(Option<u64>, Option<u64>), DecodeError> {
        let bits = p.u8()?;
        if bits > 3 {
            return Err(p.error(format!("event presence byte {bits} has unknown bits")));
        }
        let a = if bits & 1 != 0 {
            Some(p.varint()?)
        } else {
            None
        };
        let b = if bits & 2 != 0 {
            Some(p.varint()?)
        } else {
            None
        };
        Ok((a, b))
    };
    // Payload bytes after the known fields belong to later minor versions.
    let kind = match tag {
        TAG_OOM => pair(&mut p).map(|(usage, limit)| EventKind::Oom { usage, limit }),
        TAG_OOM_KILL => pair(&mut p).map(|(usage, limit)| EventKind::OomKill { usage, limit }),
        TAG_UNDER_OOM_START => Ok(EventKind::UnderOomStart),
        TAG_UNDER_OOM_END => Ok(EventKind::UnderOomEnd),
        TAG_LIMIT_CHANGE => pair(&mut p).map(|(old, new)| EventKind::LimitChange { old, new }),
        TAG_CREATED => Ok(EventKind::Created),
        TAG_REMOVED => Ok(EventKind::Removed),
        _ => return Ok(None),
    };
    kind.map(Some)
        .map_err(|e| c.error(format!("event payload: {e}")))
}
