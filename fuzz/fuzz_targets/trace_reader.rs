//! Fuzz target: the trace reader over arbitrary bytes, every item iterated,
//! then the readable part compacted and read back.
//!
//! The first byte picks how the rest becomes a trace file:
//! * 0: the bytes are the file as they are (framing and CRC checks);
//! * 1: the bytes are a file whose header and chunk CRCs are recomputed, so
//!   mutations reach the payload decoder instead of stopping at a CRC;
//! * 2: the bytes are one decompressed chunk body, wrapped in a valid header,
//!   frame and zstd frame (the body decoder: sections, varints, columns).
//!
//! Invariants checked beyond "no panic, no hang, no huge allocation":
//! chunks lie inside the input in increasing order; a compacted copy of what
//! was read reads back without damage and holds the same samples and events.
#![no_main]

use cgcal_core::name::CgroupName;
use cgcal_core::trace::layout::{FrameHeader, FILE_PRELUDE_LEN, FRAME_HEADER_LEN, KIND_DATA};
use cgcal_core::trace::{
    compact_stream, CgroupVersion, Event, Header, ReadItem, Sample, TraceReader, TraceWriter,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = match mode % 3 {
        0 => rest.to_vec(),
        1 => with_fixed_crcs(rest),
        _ => wrapped_body(rest),
    };
    check(&file);
});

/// Reads `file` to the end, checks the chunk layout, then compacts and re-reads.
fn check(file: &[u8]) {
    let Ok(reader) = TraceReader::new(file) else {
        return;
    };
    let (mut records, _) = records_of(reader, file.len() as u64);
    let reader = TraceReader::new(file).expect("the header read once");
    let Ok((out, stats)) = compact_stream(reader, Vec::new(), "<compacted>") else {
        return; // e.g. a sample of an undeclared cgroup: refused, not copied
    };
    let again = TraceReader::new(&out[..]).expect("compacted header reads back");
    let (mut copied, damaged) = records_of(again, out.len() as u64);
    assert_eq!(damaged, 0, "the compacted trace is damaged");
    assert_eq!(copied.len() as u64, stats.samples + stats.events);
    records.sort();
    copied.sort();
    assert_eq!(records, copied, "compaction changed the samples or events");
}

/// Every sample and event of `reader` as text with its cgroup's name (ids
/// differ between a trace and its compacted copy), and the number of damage
/// reports; checks that chunks lie inside the `len` bytes, in order.
fn records_of(mut reader: TraceReader<&[u8]>, len: u64) -> (Vec<String>, usize) {
    let (mut records, mut damaged, mut next_offset) = (Vec::new(), 0, 0u64);
    while let Some(item) = reader.next_item() {
        match item.expect("reading from a slice cannot fail with an I/O error") {
            ReadItem::Chunk(c) => {
                assert!(c.offset >= next_offset, "chunks out of order");
                assert!(c.offset + c.len <= len, "chunk past the end");
                next_offset = c.offset + c.len;
                let name = |id| reader.cgroup_name(id).map(|n| n.to_string());
                for s in &c.samples {
                    records.push(format!(
                        "{:?} {:?}",
                        name(s.cgroup),
                        Sample { cgroup: 0, ..*s }
                    ));
                }
                for e in &c.events {
                    records.push(format!(
                        "{:?} {:?}",
                        name(e.cgroup),
                        Event { cgroup: 0, ..*e }
                    ));
                }
            }
            ReadItem::Damaged(d) => {
                assert!(d.offset <= len, "damage past the end");
                let _ = d.to_string();
                damaged += 1;
            }
        }
    }
    (records, damaged)
}

/// `bytes` with the header CRC and every chunk's frame and payload CRCs
/// recomputed (lengths clamped to what is there).
fn with_fixed_crcs(bytes: &[u8]) -> Vec<u8> {
    let mut f = bytes.to_vec();
    if f.len() < FILE_PRELUDE_LEN {
        return f;
    }
    let body_len = u32::from_le_bytes(f[12..16].try_into().unwrap()) as usize;
    let body_end = (FILE_PRELUDE_LEN + body_len).min(f.len());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&f[8..16]), &f[FILE_PRELUDE_LEN..body_end]);
    f[16..20].copy_from_slice(&crc.to_le_bytes());
    let mut at = body_end;
    while at + FRAME_HEADER_LEN <= f.len() && f[at..at + 4] == *b"CGck" {
        let stored = u32::from_le_bytes(f[at + 12..at + 16].try_into().unwrap()) as usize;
        let end = (at + FRAME_HEADER_LEN + stored).min(f.len());
        let frame = FrameHeader {
            kind: u16::from_le_bytes([f[at + 4], f[at + 5]]),
            seq: u32::from_le_bytes(f[at + 8..at + 12].try_into().unwrap()),
            stored_len: stored as u32,
            payload_crc: crc32c::crc32c(&f[at + FRAME_HEADER_LEN..end]),
        };
        f[at..at + FRAME_HEADER_LEN].copy_from_slice(&frame.encode());
        at = end;
    }
    f
}

/// A trace file holding one data chunk whose decompressed body is `body`.
fn wrapped_body(body: &[u8]) -> Vec<u8> {
    let header = Header {
        host: "fuzz".into(),
        kernel: String::new(),
        cgroup_version: CgroupVersion::V1,
        root: CgroupName::root(),
        interval_ns: 1_000_000_000,
        host_memory: None,
        start_ns: 0,
        tool: "fuzz".into(),
    };
    let mut file = TraceWriter::new(Vec::new(), &header)
        .and_then(|w| w.finish())
        .expect("header encodes");
    let mut stored = (body.len() as u32).to_le_bytes().to_vec();
    stored.extend_from_slice(&zstd::bulk::compress(body, 1).expect("zstd compresses"));
    let frame = FrameHeader {
        kind: KIND_DATA,
        seq: 0,
        stored_len: stored.len() as u32,
        payload_crc: crc32c::crc32c(&stored),
    };
    file.extend_from_slice(&frame.encode());
    file.extend_from_slice(&stored);
    file
}
