//! Rewriting a trace with full-size chunks.
//!
//! `cgrec record` writes a chunk at every `--flush` (5 s by default) so that
//! a crash loses little; with 1,000 cgroups at 1 s that makes chunks of
//! 5,000 samples, and each self-contained chunk repeats every name and first
//! value (2.76 bytes per cgroup-sample on the synthetic fleet trace against
//! 0.77 with full chunks). [`compact`] rewrites such a trace with the
//! writer's automatic chunking ([`FLUSH_RECORDS`](super::FLUSH_RECORDS)
//! records per chunk): same header, same cgroups, samples and events.
//!
//! Damaged chunks of the source are left out (and reported in
//! [`CompactStats::damage`]); the output is undamaged. Cgroup ids are
//! renumbered in order of first appearance, which keeps them unchanged
//! unless a damaged chunk held a cgroup's first appearance.
//!
//! ```
//! use cgcal_core::trace::synthetic_noise::{NoiseSpec, write_noise_trace};
//! use cgcal_core::trace::{compact_stream, TraceReader};
//! let spec = NoiseSpec { cgroups: 10, samples_per_cgroup: 20, ..NoiseSpec::fleet_hour(3) };
//! let src = write_noise_trace(&spec, Vec::new()).unwrap();
//! let (dst, stats) = compact_stream(TraceReader::new(&src[..]).unwrap(), Vec::new(), "<out>").unwrap();
//! assert_eq!((stats.samples, stats.bytes_out), (200, dst.len() as u64));
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use super::error::TraceError;
use super::files::open_trace;
use super::model::CgroupId;
use super::reader::{Damage, ReadItem, TraceReader};
use super::writer::TraceWriter;

/// What a compaction read and wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactStats {
    /// Data chunks read intact from the source.
    pub chunks_in: u64,
    /// Bytes of the source (file header included).
    pub bytes_in: u64,
    /// Bytes written (file header included).
    pub bytes_out: u64,
    /// Cgroups written.
    pub cgroups: u64,
    /// Samples copied.
    pub samples: u64,
    /// Events copied.
    pub events: u64,
    /// Damage met in the source; the damaged parts are not in the output.
    pub damage: Vec<Damage>,
}

/// Copies everything `reader` yields into a new trace written to `out`
/// (errors name it `out_name`), with the writer's default chunking.
/// Returns the output and what was copied.
pub fn compact_stream<R: Read, W: Write>(
    mut reader: TraceReader<R>,
    out: W,
    out_name: &str,
) -> Result<(W, CompactStats), TraceError> {
    let mut w = TraceWriter::with_file_name(out, reader.header(), out_name)?;
    let mut stats = CompactStats::default();
    let mut ids: HashMap<CgroupId, CgroupId> = HashMap::new();
    while let Some(item) = reader.next_item() {
        match item? {
            ReadItem::Damaged(d) => stats.damage.push(d),
            ReadItem::Chunk(c) => {
                stats.chunks_in += 1;
                for d in &c.defs {
                    ids.insert(d.id, w.cgroup_id(&d.name, d.first_seen_ns));
                }
                let id = |src: CgroupId| -> Result<CgroupId, TraceError> {
                    ids.get(&src).copied().ok_or(TraceError::UnknownCgroup {
                        file: out_name.to_string(),
                        id: src,
                        defined: ids.len() as u64,
                        offset: c.offset,
                    })
                };
                for s in &c.samples {
                    let cgroup = id(s.cgroup)?;
                    w.push_sample(super::Sample { cgroup, ..*s })?;
                }
                for e in &c.events {
                    let cgroup = id(e.cgroup)?;
                    w.push_event(super::Event { cgroup, ..*e })?;
                }
                stats.samples += c.samples.len() as u64;
                stats.events += c.events.len() as u64;
            }
        }
    }
    stats.cgroups = ids.len() as u64;
    stats.bytes_in = reader.offset();
    w.flush_chunk()?;
    stats.bytes_out = w.bytes_written();
    Ok((w.finish()?, stats))
}

/// Rewrites the trace at `src` into a new file `dst` (created or
/// truncated; it must not be `src`) with full-size chunks. On error `dst`
/// may hold a partial trace.
pub fn compact(src: &Path, dst: &Path) -> Result<CompactStats, TraceError> {
    let reader = open_trace(src)?;
    let name = dst.display().to_string();
    let io = |op, offset, source| TraceError::Io {
        op,
        file: name.clone(),
        offset,
        source,
    };
    let file = File::create(dst).map_err(|e| io("create", 0, e))?;
    let out = BufWriter::with_capacity(256 * 1024, file);
    let (out, stats) = compact_stream(reader, out, &name)?;
    let file = out
        .into_inner()
        .map_err(|e| io("flush", stats.bytes_out, e.into_error()))?;
    file.sync_all()
        .map_err(|e| io("sync", stats.bytes_out, e))?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::CgroupName;
    use crate::trace::synthetic_noise::NoiseSpec;
    use crate::trace::{read_all, Event, EventKind};

    /// The noise trace with a chunk every `sweeps` sweeps and a few events.
    fn small_chunks(spec: &NoiseSpec, sweeps: u64) -> Vec<u8> {
        let mut w = TraceWriter::new(Vec::new(), &spec.header()).unwrap();
        for i in 0..spec.cgroups {
            w.cgroup_id(&spec.name(i), spec.start_ns);
        }
        for (k, s) in spec.samples().enumerate() {
            w.push_sample(s).unwrap();
            if k % 97 == 0 {
                let kind = EventKind::OomKill {
                    usage: Some(s.usage),
                    limit: s.limit,
                };
                w.push_event(Event {
                    time_ns: s.time_ns,
                    cgroup: s.cgroup,
                    kind,
                })
                .unwrap();
            }
            if (k as u64 + 1).is_multiple_of(sweeps * spec.cgroups as u64) {
                w.flush_chunk().unwrap();
            }
        }
        w.finish().unwrap()
    }

    #[test]
    fn compaction_keeps_content_and_shrinks() {
        let spec = NoiseSpec {
            cgroups: 50,
            samples_per_cgroup: 400,
            ..NoiseSpec::fleet_hour(7)
        };
        let src = small_chunks(&spec, 5);
        let (dst, stats) =
            compact_stream(TraceReader::new(&src[..]).unwrap(), Vec::new(), "x").unwrap();
        let a = read_all(TraceReader::new(&src[..]).unwrap()).unwrap();
        let b = read_all(TraceReader::new(&dst[..]).unwrap()).unwrap();
        assert_eq!((a.0, a.1), (b.0, b.1));
        let sorted = |mut v: Vec<crate::trace::Sample>| {
            v.sort_by_key(|s| (s.time_ns, s.cgroup));
            v
        };
        assert_eq!(sorted(a.2), sorted(b.2));
        assert_eq!(a.3, b.3);
        assert!(b.4.is_empty());
        assert_eq!(
            (stats.samples, stats.cgroups, stats.bytes_in),
            (20_000, 50, src.len() as u64)
        );
        assert_eq!(stats.chunks_in, 80);
        assert_eq!(stats.bytes_out, dst.len() as u64);
        assert!(dst.len() * 2 < src.len(), "{} vs {}", dst.len(), src.len());
    }

    #[test]
    fn damaged_chunks_are_left_out_and_ids_stay_consistent() {
        let header = NoiseSpec::fleet_hour(1).header();
        let mut w = TraceWriter::new(Vec::new(), &header).unwrap();
        let mut offsets = vec![w.bytes_written()];
        for (i, name) in ["/a", "/b", "/c"].iter().enumerate() {
            let id = w.cgroup_id(&CgroupName::parse(name).unwrap(), i as u64);
            for t in 0..3u64 {
                let s = crate::trace::Sample {
                    time_ns: i as u64 * 10 + t,
                    cgroup: id,
                    usage: 4096 * (t + 1),
                    limit: None,
                    inactive_file: None,
                    peak: None,
                    failcnt: None,
                };
                w.push_sample(s).unwrap();
            }
            w.flush_chunk().unwrap();
            offsets.push(w.bytes_written());
        }
        let mut src = w.finish().unwrap();
        // Break the payload of the chunk holding /b's first appearance.
        src[offsets[1] as usize + 30] ^= 0xff;
        let (dst, stats) =
            compact_stream(TraceReader::new(&src[..]).unwrap(), Vec::new(), "x").unwrap();
        assert_eq!(stats.damage.len(), 1);
        let (_, defs, samples, _, damage) = read_all(TraceReader::new(&dst[..]).unwrap()).unwrap();
        assert!(damage.is_empty());
        let names: Vec<_> = defs
            .iter()
            .map(|d| (d.id, d.name.as_str().to_string()))
            .collect();
        assert_eq!(names, [(0, "/a".to_string()), (1, "/c".to_string())]);
        assert_eq!(samples.len(), 6);
        assert!(samples[3..]
            .iter()
            .all(|s| s.cgroup == 1 && s.time_ns >= 20));
    }
}
