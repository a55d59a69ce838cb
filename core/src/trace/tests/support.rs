//! Helpers shared by the whole-format tests.

use crate::name::CgroupName;
use crate::trace::*;

/// A header with every field set.
pub fn header() -> Header {
    Header {
        host: "test-host".into(),
        kernel: "6.1.0-test".into(),
        cgroup_version: CgroupVersion::V2,
        root: CgroupName::parse("/apps").unwrap(),
        interval_ns: 1_000_000_000,
        host_memory: Some(8 << 30),
        start_ns: 1_700_000_000_000_000_000,
        tool: "cgcal tests".into(),
    }
}

/// A sample with every optional field set from `v`.
pub fn sample(time_ns: u64, cgroup: CgroupId, v: u64) -> Sample {
    Sample {
        time_ns,
        cgroup,
        usage: v * 4096,
        limit: Some(1 << 30),
        inactive_file: v.is_multiple_of(3).then_some(v * 100),
        peak: Some(v * 8192),
        failcnt: v.is_multiple_of(2).then_some(v),
    }
}

/// Every chunk of a readable trace, and the damage met.
pub fn chunks(bytes: &[u8]) -> (Vec<Chunk>, Vec<Damage>) {
    let mut r = TraceReader::new(bytes).unwrap();
    let (mut chunks, mut damage) = (Vec::new(), Vec::new());
    while let Some(item) = r.next_item() {
        match item.unwrap() {
            ReadItem::Chunk(c) => chunks.push(c),
            ReadItem::Damaged(d) => damage.push(d),
        }
    }
    (chunks, damage)
}

/// A small trace of `n` chunks: three cgroups, samples and events in each,
/// a fourth cgroup appearing in the second chunk. Returns the bytes.
pub fn small_trace(n: u64) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
    let names = ["/apps/web", "/apps/db", "/apps/batch/job-1", "/apps/late"];
    let t0 = header().start_ns;
    for c in 0..n {
        for k in 0..4u64 {
            let t = t0 + (c * 4 + k) * 1_000_000_000;
            for (i, name) in names.iter().enumerate() {
                if i == 3 && c == 0 {
                    continue;
                }
                let id = w.cgroup_id(&CgroupName::parse(name).unwrap(), t);
                w.push_sample(sample(t, id, c * 7 + k + i as u64)).unwrap();
            }
        }
        let t = t0 + (c * 4 + 3) * 1_000_000_000;
        w.push_event(Event {
            time_ns: t,
            cgroup: 1,
            kind: EventKind::LimitChange {
                old: Some(1 << 30),
                new: None,
            },
        })
        .unwrap();
        w.flush_chunk().unwrap();
    }
    w.finish().unwrap()
}

/// Offset just past the file header of `bytes`.
pub fn header_len(bytes: &[u8]) -> usize {
    crate::trace::layout::FILE_PRELUDE_LEN + crate::trace::layout::le32(&bytes[12..16]) as usize
}
