//! Torn tails and flipped bytes: every complete chunk is read back, the
//! damaged one is reported with its offset and index, nothing panics and no
//! data comes back altered.

use super::support::{chunks, header_len, small_trace};
use crate::trace::*;

#[test]
fn cut_at_every_offset_keeps_every_complete_chunk() {
    let bytes = small_trace(4);
    let (full, damage) = chunks(&bytes);
    assert_eq!((full.len(), damage.len()), (4, 0));
    let hlen = header_len(&bytes);
    for cut in 0..=bytes.len() {
        let part = &bytes[..cut];
        if cut < hlen {
            let e = TraceReader::new(part).unwrap_err();
            assert!(
                matches!(
                    e,
                    TraceError::TornHeader { .. } | TraceError::BadMagic { .. }
                ),
                "cut {cut}: {e}"
            );
            continue;
        }
        let (got, damage) = chunks(part);
        let complete: Vec<&Chunk> = full
            .iter()
            .filter(|c| c.offset + c.len <= cut as u64)
            .collect();
        assert_eq!(got.len(), complete.len(), "cut {cut}");
        for (a, b) in got.iter().zip(&complete) {
            assert_eq!(a, *b, "cut {cut}");
        }
        match full
            .iter()
            .find(|c| c.offset < cut as u64 && cut as u64 - c.offset < c.len)
        {
            None => assert!(damage.is_empty(), "cut {cut}: {damage:?}"),
            Some(torn) => {
                assert_eq!(damage.len(), 1, "cut {cut}");
                let d = &damage[0];
                assert_eq!(d.offset, torn.offset);
                assert_eq!(d.chunk_index, got.len() as u64);
                assert_eq!(
                    d.kind,
                    DamageKind::TornTail {
                        have: cut as u64 - torn.offset,
                        need: match cut as u64 - torn.offset < 24 {
                            true => 24,
                            false => torn.len,
                        },
                    },
                    "cut {cut}"
                );
                let msg = d.to_string();
                assert!(
                    msg.contains(&format!("byte offset {}", torn.offset)),
                    "{msg}"
                );
            }
        }
    }
}

#[test]
fn any_flipped_byte_is_reported_and_other_chunks_survive() {
    let bytes = small_trace(4);
    let (full, _) = chunks(&bytes);
    let hlen = header_len(&bytes);
    for at in 0..bytes.len() {
        for x in [0x01u8, 0xff] {
            let mut b = bytes.clone();
            b[at] ^= x;
            if at < hlen {
                assert!(
                    TraceReader::new(&b[..]).is_err(),
                    "flip {x:#x} at {at} in the header"
                );
                continue;
            }
            let (got, damage) = chunks(&b);
            let (k, hit) = full
                .iter()
                .enumerate()
                .find(|(_, c)| (at as u64) >= c.offset && (at as u64) < c.offset + c.len)
                .unwrap();
            assert_eq!(damage.len(), 1, "flip {x:#x} at {at}: {damage:?}");
            assert_eq!(damage[0].offset, hit.offset, "flip {x:#x} at {at}");
            assert_eq!(damage[0].chunk_index, k as u64, "flip {x:#x} at {at}");
            let expected: Vec<&Chunk> = full.iter().filter(|c| c.offset != hit.offset).collect();
            assert_eq!(got.len(), expected.len(), "flip {x:#x} at {at}");
            for (a, e) in got.iter().zip(&expected) {
                assert_eq!(
                    (a.offset, a.len, &a.samples, &a.events),
                    (e.offset, e.len, &e.samples, &e.events)
                );
                // Definitions lost with the damaged chunk come with the next one.
                assert!(a
                    .defs
                    .iter()
                    .all(|d| full.iter().any(|c| c.defs.contains(d))));
            }
        }
    }
}

#[test]
fn names_of_a_damaged_chunk_are_redeclared_by_the_next() {
    let bytes = small_trace(3);
    let (full, _) = chunks(&bytes);
    let mut b = bytes.clone();
    let first = &full[0];
    b[(first.offset + first.len - 1) as usize] ^= 0x55;
    let r = TraceReader::new(&b[..]).unwrap();
    let (_, defs, samples, _, damage) = read_all(r).unwrap();
    assert_eq!(damage.len(), 1);
    assert!(matches!(damage[0].kind, DamageKind::CrcMismatch { .. }));
    assert_eq!(defs.len(), 4);
    let mut all = full.iter().flat_map(|c| c.defs.clone()).collect::<Vec<_>>();
    all.sort_by_key(|d| d.id);
    let mut defs = defs;
    defs.sort_by_key(|d| d.id);
    assert_eq!(defs, all);
    assert_eq!(samples.len(), full[1].samples.len() + full[2].samples.len());
}

#[test]
fn garbage_between_chunks_is_skipped_by_resync() {
    let bytes = small_trace(2);
    let (full, _) = chunks(&bytes);
    let split = full[1].offset as usize;
    let mut b = bytes[..split].to_vec();
    b.extend(std::iter::repeat_n(0xa5u8, 100_000));
    b.extend_from_slice(&bytes[split..]);
    let (got, damage) = chunks(&b);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].samples, full[1].samples);
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0].offset, split as u64);
    assert!(matches!(
        damage[0].kind,
        DamageKind::BadFraming {
            skipped: 100_000,
            to_end: false,
            ..
        }
    ));
}
