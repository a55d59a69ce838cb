//! Versioning, unknown kinds and hostile lengths.

use super::support::{chunks, header, header_len, small_trace};
use crate::trace::body_encode::{BodyEncoder, TableEntry};
use crate::trace::layout::*;
use crate::trace::*;

/// Frames `payload` as a chunk of `kind` with valid CRCs.
fn frame(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        kind,
        seq,
        stored_len: payload.len() as u32,
        payload_crc: crc32c::crc32c(payload),
    };
    let mut v = h.encode().to_vec();
    v.extend_from_slice(payload);
    v
}

/// A data payload: declared body length, then a zstd frame of `body`.
fn data_payload(declared: u32, body: &[u8]) -> Vec<u8> {
    let mut p = declared.to_le_bytes().to_vec();
    p.extend(zstd::bulk::compress(body, 3).unwrap());
    p
}

fn with_chunk_after_header(extra: &[u8]) -> Vec<u8> {
    let bytes = small_trace(1);
    let h = header_len(&bytes);
    let mut b = bytes[..h].to_vec();
    b.extend_from_slice(extra);
    b.extend_from_slice(&bytes[h..]);
    b
}

#[test]
fn newer_major_version_is_refused_by_name() {
    let mut b = small_trace(1);
    b[8..10].copy_from_slice(&3u16.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[8..16]), &b[20..header_len(&b)]);
    b[16..20].copy_from_slice(&crc.to_le_bytes());
    let e = TraceReader::new(&b[..]).unwrap_err();
    assert!(matches!(
        e,
        TraceError::NewerVersion {
            found_major: 3,
            supported_major: 1,
            ..
        }
    ));
    assert!(e.to_string().contains("newer"), "{e}");
}

#[test]
fn newer_minor_version_is_read() {
    let mut b = small_trace(1);
    b[10..12].copy_from_slice(&9u16.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[8..16]), &b[20..header_len(&b)]);
    b[16..20].copy_from_slice(&crc.to_le_bytes());
    let r = TraceReader::new(&b[..]).unwrap();
    assert_eq!(r.minor_version(), 9);
    assert_eq!(read_all(r).unwrap().4, vec![]);
}

#[test]
fn unknown_chunk_kind_is_skipped() {
    let b = with_chunk_after_header(&frame(77, 0, b"something from the future"));
    let (got, damage) = chunks(&b);
    assert_eq!((got.len(), damage.len()), (1, 0));
    assert_eq!(got[0].samples, chunks(&small_trace(1)).0[0].samples);
}

#[test]
fn unknown_section_and_event_kind_are_skipped() {
    let name = crate::name::CgroupName::parse("/x").unwrap();
    let table = [TableEntry {
        id: 9,
        name: &name,
        first_seen_ns: 5,
    }];
    let mut body = Vec::new();
    BodyEncoder::default().encode(&mut body, &table, &[super::support::sample(5, 9, 1)], &[]);
    body.extend_from_slice(&[42, 3, 1, 2, 3]); // unknown section 42
                                               // An events section: count 2, then an unknown kind (tag 99 with 2
                                               // payload bytes) and a Created event (tag 6, empty payload), both at
                                               // the base time for cgroup 9.
    let events = [2u8, 0, 9, 99, 2, 0xaa, 0xbb, 0, 9, 6, 0];
    body.extend_from_slice(&[SECTION_EVENTS, events.len() as u8]);
    body.extend_from_slice(&events);
    let b = with_chunk_after_header(&frame(
        KIND_DATA,
        0,
        &data_payload(body.len() as u32, &body),
    ));
    let (got, damage) = chunks(&b);
    assert_eq!(damage, vec![]);
    assert_eq!(got[0].samples.len(), 1);
    assert_eq!(got[0].events.len(), 1);
    assert_eq!(got[0].events[0].kind, EventKind::Created);
}

#[test]
fn huge_stored_length_is_refused_unread() {
    let mut f = frame(KIND_DATA, 0, &[]);
    let h = FrameHeader {
        kind: KIND_DATA,
        seq: 0,
        stored_len: u32::MAX,
        payload_crc: 0,
    };
    f[..24].copy_from_slice(&h.encode());
    let b = with_chunk_after_header(&f);
    let (got, damage) = chunks(&b);
    assert!(got.is_empty());
    assert_eq!(damage.len(), 1);
    assert!(
        matches!(
            damage[0].kind,
            DamageKind::TooLarge {
                len: 0xffff_ffff,
                ..
            }
        ),
        "{}",
        damage[0]
    );
}

#[test]
fn zstd_bombs_are_refused() {
    // Declared body over the limit.
    let b = with_chunk_after_header(&frame(KIND_DATA, 0, &data_payload(MAX_BODY_LEN + 1, b"x")));
    let (_, damage) = chunks(&b);
    assert!(
        matches!(damage[0].kind, DamageKind::TooLarge { .. }),
        "{}",
        damage[0]
    );
    // A small frame that expands to 32 MiB while the chunk declares 100 bytes.
    let zeros = vec![0u8; 32 << 20];
    let b = with_chunk_after_header(&frame(KIND_DATA, 0, &data_payload(100, &zeros)));
    let (got, damage) = chunks(&b);
    assert_eq!(got.len(), 1);
    assert!(
        matches!(damage[0].kind, DamageKind::Decode(_)),
        "{}",
        damage[0]
    );
    // The same without a content size in the zstd frame: bounded by the capacity.
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    std::io::Write::write_all(&mut enc, &zeros[..8 << 20]).unwrap();
    let mut p = 100u32.to_le_bytes().to_vec();
    p.extend(enc.finish().unwrap());
    let b = with_chunk_after_header(&frame(KIND_DATA, 0, &p));
    let (_, damage) = chunks(&b);
    assert!(
        matches!(damage[0].kind, DamageKind::Decode(_)),
        "{}",
        damage[0]
    );
}

#[test]
fn hostile_counts_are_refused() {
    // A samples section claiming 2^40 groups, and a table claiming 2^40 entries.
    for body in [
        vec![0u8, SECTION_SAMPLES, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40],
        vec![0u8, SECTION_CGROUPS, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40],
    ] {
        let b = with_chunk_after_header(&frame(
            KIND_DATA,
            0,
            &data_payload(body.len() as u32, &body),
        ));
        let (got, damage) = chunks(&b);
        assert_eq!(got.len(), 1);
        assert!(
            matches!(damage[0].kind, DamageKind::Decode(_)),
            "{}",
            damage[0]
        );
    }
}

#[test]
fn writer_refuses_undefined_ids_and_huge_headers() {
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    let e = w.push_sample(super::support::sample(0, 3, 1)).unwrap_err();
    assert!(matches!(e, TraceError::UnknownCgroup { id: 3, .. }));
    let mut h = header();
    h.host = "h".repeat(2 << 20);
    assert!(matches!(
        TraceWriter::new(Vec::new(), &h),
        Err(TraceError::HeaderTooLarge { .. })
    ));
}

#[test]
fn files_name_their_path_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.bin");
    let e = open_trace(&missing).unwrap_err();
    assert!(e.to_string().contains("missing.bin"), "{e}");
    let path = dir.path().join("t.bin");
    let mut w = create_trace(&path, &header()).unwrap();
    let id = w.cgroup_id(&crate::name::CgroupName::parse("/a").unwrap(), 1);
    w.push_sample(super::support::sample(1, id, 1)).unwrap();
    w.finish().unwrap();
    let (h, defs, samples, _, damage) = read_all(open_trace(&path).unwrap()).unwrap();
    assert_eq!(
        (h, defs.len(), samples.len(), damage.len()),
        (header(), 1, 1, 0)
    );
    std::fs::write(&path, b"not a trace at all").unwrap();
    let e = open_trace(&path).unwrap_err();
    assert!(matches!(e, TraceError::BadMagic { .. }));
    assert!(e.to_string().contains("t.bin"), "{e}");
}
