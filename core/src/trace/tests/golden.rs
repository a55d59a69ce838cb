//! The tiny trace annotated in `docs/trace-format.md`: its file header and
//! decompressed chunk body are pinned byte for byte.

use crate::name::CgroupName;
use crate::trace::layout::{le32, FILE_PRELUDE_LEN, FRAME_HEADER_LEN};
use crate::trace::*;

fn tiny() -> (Header, Vec<u8>) {
    let header = Header {
        host: "h".into(),
        kernel: String::new(),
        cgroup_version: CgroupVersion::V2,
        root: CgroupName::root(),
        interval_ns: 1_000_000_000,
        host_memory: None,
        start_ns: 1_000_000_000,
        tool: "t".into(),
    };
    let mut w = TraceWriter::new(Vec::new(), &header).unwrap();
    let a = w.cgroup_id(&CgroupName::parse("/a").unwrap(), 1_000_000_000);
    for (i, usage) in [(0u64, 8192u64), (1, 12288)] {
        let t = 1_000_000_000 * (i + 1);
        w.push_sample(Sample {
            time_ns: t,
            cgroup: a,
            usage,
            limit: Some(1 << 20),
            inactive_file: (i == 1).then_some(4096),
            peak: None,
            failcnt: None,
        })
        .unwrap();
    }
    w.push_event(Event {
        time_ns: 2_000_000_000,
        cgroup: a,
        kind: EventKind::Oom {
            usage: Some(12288),
            limit: None,
        },
    })
    .unwrap();
    (header, w.finish().unwrap())
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn tiny_trace_bytes_are_as_documented() {
    let (header, bytes) = tiny();
    let hlen = FILE_PRELUDE_LEN + le32(&bytes[12..16]) as usize;
    let frame = &bytes[hlen..hlen + FRAME_HEADER_LEN];
    let payload = &bytes[hlen + FRAME_HEADER_LEN..];
    let body = zstd::bulk::decompress(&payload[4..], 1 << 16).unwrap();
    println!(
        "header: {}\nframe: {}\npayload: {}\nbody: {}",
        hex(&bytes[..hlen]),
        hex(frame),
        hex(payload),
        hex(&body)
    );
    assert_eq!(
        hex(&bytes[..hlen]),
        "43 47 43 41 4c 54 52 43 01 00 00 00 2d 00 00 00 71 61 52 94 \
         01 00 00 00 68 00 00 00 00 02 01 00 00 00 2f 00 ca 9a 3b 00 00 00 00 \
         00 00 00 00 00 00 00 00 00 00 ca 9a 3b 00 00 00 00 01 00 00 00 74"
    );
    assert_eq!(
        &frame[..16],
        &[
            0x43,
            0x47,
            0x63,
            0x6b,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            payload.len() as u8,
            0,
            0,
            0
        ]
    );
    assert_eq!(le32(&payload[..4]) as usize, body.len());
    assert_eq!(
        hex(&body),
        "80 94 eb dc 03 \
         01 06 01 00 00 02 2f 61 \
         02 24 01 0c 01 04 01 01 01 01 01 00 00 00 00 00 \
         00 02 00 09 0c 01 14 02 02 0c 00 00 \
         00 ca b5 ee 01 04 02 02 00 02 \
         03 0c 01 80 a8 d6 b9 07 00 01 03 01 80 60"
    );
    let (h, defs, samples, events, damage) =
        read_all(TraceReader::new(&bytes[..]).unwrap()).unwrap();
    assert_eq!(
        (h, defs.len(), samples.len(), events.len(), damage.len()),
        (header, 1, 2, 1, 0)
    );
}
