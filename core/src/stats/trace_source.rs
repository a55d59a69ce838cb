//! [`TraceSamples`]: a [`SampleSource`] that reads a trace afresh for every
//! pass of the engine, so memory stays bounded by one chunk and the cgroups.

use super::SampleSource;
use crate::name::CgroupName;
use crate::trace::{CgroupId, ChunkStream, Damage, ReadItem, Sample, TraceError};
use std::collections::BTreeMap;

/// Streams the samples of a trace; `open` gives a reader positioned after
/// the file header (a [`TraceReader`](crate::trace::TraceReader), or a
/// [`TraceSetReader`](crate::trace::TraceSetReader) for several files),
/// once per pass. Damaged chunks are skipped (the
/// statistics are of what is readable) and recorded in the first pass,
/// with the names of the cgroups.
pub struct TraceSamples<F> {
    open: F,
    passes: u32,
    damage: Vec<Damage>,
    damage_files: Vec<String>,
    names: BTreeMap<CgroupId, CgroupName>,
}

impl<F> std::fmt::Debug for TraceSamples<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceSamples")
            .field("passes", &self.passes)
            .field("damage", &self.damage)
            .finish_non_exhaustive()
    }
}

impl<F> TraceSamples<F> {
    /// A source that calls `open` for each pass.
    pub fn new(open: F) -> Self {
        TraceSamples {
            open,
            passes: 0,
            damage: Vec::new(),
            damage_files: Vec::new(),
            names: BTreeMap::new(),
        }
    }

    /// Damage met in the first pass, in file order.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Damage met in the first pass, each with the file it is in (the
    /// reader's [`ChunkStream::file_name`]: one of several files of a set).
    pub fn damage_with_files(&self) -> impl Iterator<Item = (&str, &Damage)> {
        self.damage_files
            .iter()
            .map(String::as_str)
            .zip(&self.damage)
    }

    /// The name of every cgroup declared by a chunk read in the first pass.
    pub fn names(&self) -> &BTreeMap<CgroupId, CgroupName> {
        &self.names
    }

    /// Passes made so far.
    pub fn passes(&self) -> u32 {
        self.passes
    }
}

impl<S: ChunkStream, F: FnMut() -> Result<S, TraceError>> SampleSource for TraceSamples<F> {
    type Error = TraceError;

    fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), TraceError> {
        self.passes += 1;
        let mut reader = (self.open)()?;
        while let Some(item) = reader.next_item() {
            match item? {
                ReadItem::Chunk(c) => {
                    if self.passes == 1 {
                        for d in c.defs {
                            self.names.insert(d.id, d.name);
                        }
                    }
                    c.samples.iter().for_each(&mut *f)
                }
                ReadItem::Damaged(d) if self.passes == 1 => {
                    self.damage_files.push(reader.file_name().to_string());
                    self.damage.push(d)
                }
                ReadItem::Damaged(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::name::CgroupName;
    use crate::stats::{compute, CgroupStats, Metric, Percentile, StatsRequest};
    use crate::trace::{CgroupId, CgroupVersion, Header, TraceReader, TraceWriter};

    fn header() -> Header {
        Header {
            host: "h".into(),
            kernel: String::new(),
            cgroup_version: CgroupVersion::Unknown,
            root: CgroupName::root(),
            interval_ns: 0,
            host_memory: None,
            start_ns: 0,
            tool: "test".into(),
        }
    }

    /// Writes `(time, cgroup, usage)` samples, a chunk every `flush_every` records.
    fn trace(samples: &[(u64, u32, u64)], flush_every: usize) -> Vec<u8> {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        for (k, &(time_ns, c, usage)) in samples.iter().enumerate() {
            let cgroup = w.cgroup_id(&CgroupName::parse(&format!("/c{c}")).unwrap(), time_ns);
            let s = Sample {
                time_ns,
                cgroup,
                usage,
                limit: None,
                inactive_file: None,
                peak: None,
                failcnt: None,
            };
            w.push_sample(s).unwrap();
            if (k + 1) % flush_every == 0 {
                w.flush_chunk().unwrap();
            }
        }
        w.finish().unwrap()
    }

    /// Sort and pick, by cgroup name: (min, max, median, [percentile values]).
    fn naive(
        samples: &[(u64, u32, u64)],
        from: u64,
        to: u64,
        ps: &[Percentile],
    ) -> BTreeMap<String, (u64, u64, u64, Vec<u64>)> {
        let mut by: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for &(t, c, u) in samples {
            if from <= t && t <= to {
                by.entry(format!("/c{c}")).or_default().push(u);
            }
        }
        by.into_iter()
            .map(|(name, mut v)| {
                v.sort_unstable();
                let n = v.len();
                let median = if n % 2 == 1 {
                    v[n / 2]
                } else {
                    ((v[n / 2 - 1] as u128 + v[n / 2] as u128) / 2) as u64
                };
                let pv = ps
                    .iter()
                    .map(|p| v[p.rank(n as u64) as usize - 1])
                    .collect();
                (name, (v[0], v[n - 1], median, pv))
            })
            .collect()
    }

    fn by_name(
        stats: BTreeMap<CgroupId, CgroupStats>,
        bytes: &[u8],
    ) -> BTreeMap<String, (u64, u64, u64, Vec<u64>)> {
        let (_, defs, ..) = crate::trace::read_all(TraceReader::new(bytes).unwrap()).unwrap();
        stats
            .into_iter()
            .map(|(id, s)| {
                let name = defs.iter().find(|d| d.id == id).unwrap().name.to_string();
                let pv = s.percentiles.iter().map(|&(_, v)| v).collect();
                (name, (s.min, s.max, s.median, pv))
            })
            .collect()
    }

    fn through_trace(bytes: &[u8], req: &StatsRequest) -> BTreeMap<CgroupId, CgroupStats> {
        let mut src = TraceSamples::new(|| TraceReader::new(bytes));
        let stats = compute(&mut src, req).unwrap();
        assert!(src.damage().is_empty());
        assert!(src.passes() >= 1);
        assert!(stats.keys().all(|id| src.names().contains_key(id)));
        stats
    }

    #[test]
    fn even_count_median_is_the_floor_of_the_middle_mean() {
        // /c0: 1, 2, 4, 7 -> (2 + 4) / 2 = 3; /c1: 5, 6 -> 5 (5.5 rounded down);
        // /c2: u64::MAX - 1, u64::MAX -> no overflow.
        let samples = [
            (0, 0, 7),
            (1, 0, 1),
            (2, 0, 4),
            (3, 0, 2),
            (0, 1, 6),
            (1, 1, 5),
            (0, 2, u64::MAX),
            (1, 2, u64::MAX - 1),
        ];
        let bytes = trace(&samples, 3);
        let got = by_name(through_trace(&bytes, &StatsRequest::all_usage()), &bytes);
        assert_eq!(got["/c0"].2, 3);
        assert_eq!(got["/c1"].2, 5);
        assert_eq!(got["/c2"].2, u64::MAX - 1);
        // A window of the last two samples of /c0: 4 and 2 -> 3; /c1 has none at 2..=3.
        let req = StatsRequest {
            from_ns: 2,
            to_ns: 3,
            ..StatsRequest::all_usage()
        };
        let got = by_name(through_trace(&bytes, &req), &bytes);
        assert_eq!(got.len(), 1);
        assert_eq!(got["/c0"], (2, 4, 3, vec![]));
    }

    fn sample_strategy() -> impl Strategy<Value = (u64, u32, u64)> {
        let usage = prop_oneof![0u64..4, 0u64..1 << 20, any::<u64>()];
        (0u64..1000, 0u32..5, usage)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Written with the trace writer in chunks, read back over a random
        /// window: the statistics equal sort-and-pick.
        #[test]
        fn trace_stats_equal_sort_and_pick(
            samples in proptest::collection::vec(sample_strategy(), 1..400),
            flush_every in 1usize..200,
            a in 0u64..1100,
            b in 0u64..1100,
            whole in proptest::collection::vec(1u8..=100, 0..4),
        ) {
            let (from, to) = (a.min(b), a.max(b));
            let percentiles: Vec<Percentile> = {
                let mut p: Vec<_> = whole.iter().map(|&w| Percentile::whole(w).unwrap()).collect();
                p.sort();
                p.dedup();
                p
            };
            let bytes = trace(&samples, flush_every);
            let req = StatsRequest { from_ns: from, to_ns: to, metric: Metric::Usage, percentiles: percentiles.clone() };
            let got = by_name(through_trace(&bytes, &req), &bytes);
            prop_assert_eq!(got, naive(&samples, from, to, &percentiles));
        }
    }
}
