//! A probe narrows down, pass after pass, the values at some target ranks
//! of one cgroup's samples.
//!
//! A probe knows a value range `[lo, hi]` that holds the values at its
//! ranks, how many values lie below `lo` and how many inside the range.
//! During a pass it either counts the values of the range in a histogram of
//! at most [`BUCKETS`] power-of-two-wide buckets, or, once the range holds at
//! most [`COLLECT_MAX`] values, collects them. After the pass a histogram
//! gives narrower probes (one per bucket holding a target rank), collected
//! values give the exact answers.

/// Most buckets of a histogram (each a `u32`, `u64` beyond 2^32 - 1
/// values: 8 KiB per histogram in practice).
pub const BUCKETS: usize = 2048;

/// Largest number of values a probe collects instead of counting them.
pub const COLLECT_MAX: u64 = 2048;

/// The work of one probe during a pass.
#[derive(Debug)]
pub(crate) enum Fill {
    /// Not given memory yet (waits for a pass with budget left).
    Waiting,
    /// Counting: bucket `i` holds the values in `lo + (i << shift) ..` width `1 << shift`.
    Histogram {
        /// log2 of the bucket width.
        shift: u32,
        /// One count per bucket.
        counts: Counts,
    },
    /// Collecting every value of the range.
    Values(Vec<u64>),
}

/// Bucket counters: 32-bit while the probe's range holds fewer than 2^32
/// values (half the memory and cache footprint), else 64-bit.
#[derive(Debug)]
pub(crate) enum Counts {
    /// At most `u32::MAX` values in the range.
    Narrow(Vec<u32>),
    /// More.
    Wide(Vec<u64>),
}

impl Counts {
    fn zeroed(buckets: usize, values: u64) -> Counts {
        if values <= u64::from(u32::MAX) {
            Counts::Narrow(vec![0; buckets])
        } else {
            Counts::Wide(vec![0; buckets])
        }
    }

    fn bytes(buckets: usize, values: u64) -> usize {
        buckets
            * if values <= u64::from(u32::MAX) {
                std::mem::size_of::<u32>()
            } else {
                std::mem::size_of::<u64>()
            }
    }

    /// Counts one value in `bucket`. Saturates: a source yielding more values
    /// than the first pass counted is caught by the probe's hit count.
    #[inline]
    fn add(&mut self, bucket: usize) {
        match self {
            Counts::Narrow(c) => {
                if let Some(c) = c.get_mut(bucket) {
                    *c = c.saturating_add(1);
                }
            }
            Counts::Wide(c) => {
                if let Some(c) = c.get_mut(bucket) {
                    *c = c.saturating_add(1);
                }
            }
        }
    }

    fn to_u64(&self) -> Vec<u64> {
        match self {
            Counts::Narrow(c) => c.iter().map(|&n| u64::from(n)).collect(),
            Counts::Wide(c) => c.clone(),
        }
    }
}

/// What a finished pass of a probe gives.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The exact values: `(rank index, value)`.
    Resolved(Vec<(usize, u64)>),
    /// Narrower probes, still to run.
    Narrowed(Vec<Probe>),
}

/// The probe saw another number of values than it expected: the source
/// yielded other samples than in the first pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CountMismatch;

/// A value range holding the values at some target ranks of one cgroup.
#[derive(Debug)]
pub(crate) struct Probe {
    /// Lowest candidate value.
    pub(crate) lo: u64,
    /// Highest candidate value (inclusive).
    pub(crate) hi: u64,
    /// Number of the cgroup's values below `lo`.
    below: u64,
    /// Number of the cgroup's values in `lo..=hi`.
    count: u64,
    /// Values in range seen during the current pass.
    hits: u64,
    /// The target ranks, ascending: `(rank index, 1-based rank)`, each in
    /// `below + 1 ..= below + count`.
    ranks: Vec<(usize, u64)>,
    /// This pass's work.
    pub(crate) fill: Fill,
}

impl Probe {
    /// A probe over `lo..=hi` with `count` values in it and `below` under it.
    pub(crate) fn new(lo: u64, hi: u64, below: u64, count: u64, ranks: Vec<(usize, u64)>) -> Probe {
        Probe {
            lo,
            hi,
            below,
            count,
            hits: 0,
            ranks,
            fill: Fill::Waiting,
        }
    }

    /// The answers if the range holds a single value, without a pass.
    pub(crate) fn trivially_resolved(&self) -> Option<Vec<(usize, u64)>> {
        (self.lo == self.hi).then(|| self.ranks.iter().map(|&(i, _)| (i, self.lo)).collect())
    }

    /// Bytes the probe's next pass needs.
    pub(crate) fn bytes_needed(&self) -> usize {
        if self.count <= COLLECT_MAX {
            self.count as usize * std::mem::size_of::<u64>()
        } else {
            Counts::bytes(buckets(self.hi - self.lo, self.shift()), self.count)
        }
    }

    /// Gives the probe its memory for the next pass.
    pub(crate) fn allocate(&mut self) {
        self.hits = 0;
        self.fill = if self.count <= COLLECT_MAX {
            Fill::Values(Vec::with_capacity(self.count as usize))
        } else {
            let shift = self.shift();
            Fill::Histogram {
                shift,
                counts: Counts::zeroed(buckets(self.hi - self.lo, shift), self.count),
            }
        };
    }

    /// The smallest bucket width (as log2) that covers the range with at most [`BUCKETS`] buckets.
    fn shift(&self) -> u32 {
        let span = self.hi - self.lo;
        (0..64)
            .find(|&s| (span >> s) < BUCKETS as u64)
            .unwrap_or(63)
    }

    /// Takes one value of the cgroup into account.
    #[inline]
    pub(crate) fn observe(&mut self, value: u64) {
        if value < self.lo || value > self.hi {
            return;
        }
        self.hits += 1;
        match &mut self.fill {
            Fill::Histogram { shift, counts } => counts.add(((value - self.lo) >> *shift) as usize),
            Fill::Values(values) => {
                if (values.len() as u64) < self.count {
                    values.push(value);
                }
            }
            Fill::Waiting => {}
        }
    }

    /// Ends the pass: exact values or narrower probes.
    pub(crate) fn finish(self) -> Result<Outcome, CountMismatch> {
        if self.hits != self.count {
            return Err(CountMismatch);
        }
        match self.fill {
            Fill::Values(mut values) => {
                values.sort_unstable();
                let resolved = self
                    .ranks
                    .iter()
                    .map(|&(i, rank)| {
                        let at = (rank - self.below - 1) as usize;
                        values.get(at).map(|&v| (i, v)).ok_or(CountMismatch)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Outcome::Resolved(resolved))
            }
            Fill::Histogram { shift, counts } => {
                let mut children: Vec<Probe> = Vec::new();
                let mut ranks = self.ranks.iter().peekable();
                let mut below = self.below;
                for (bucket, n) in counts.to_u64().into_iter().enumerate() {
                    let mut here = Vec::new();
                    while let Some(&&(i, rank)) = ranks.peek() {
                        if rank > below + n {
                            break;
                        }
                        here.push((i, rank));
                        ranks.next();
                    }
                    if !here.is_empty() {
                        let lo = self.lo + ((bucket as u64) << shift);
                        let hi = lo.saturating_add((1u64 << shift) - 1).min(self.hi);
                        children.push(Probe::new(lo, hi, below, n, here));
                    }
                    below += n;
                }
                if ranks.peek().is_some() {
                    return Err(CountMismatch);
                }
                Ok(Outcome::Narrowed(children))
            }
            Fill::Waiting => Ok(Outcome::Narrowed(vec![Probe::new(
                self.lo, self.hi, self.below, self.count, self.ranks,
            )])),
        }
    }
}

/// Number of buckets of width `1 << shift` covering a range of `span + 1` values.
fn buckets(span: u64, shift: u32) -> usize {
    (span >> shift) as usize + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(probe: &mut Probe, values: &[u64]) {
        probe.allocate();
        for &v in values {
            probe.observe(v);
        }
    }

    #[test]
    fn small_ranges_are_collected_and_resolved() {
        let values = [5, 1, 9, 7, 3];
        let mut p = Probe::new(1, 9, 0, 5, vec![(0, 2), (1, 3)]);
        run(&mut p, &values);
        assert!(matches!(p.fill, Fill::Values(_)));
        match p.finish().unwrap() {
            Outcome::Resolved(r) => assert_eq!(r, vec![(0, 3), (1, 5)]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn large_ranges_are_narrowed_to_buckets() {
        let values: Vec<u64> = (0..10_000).map(|i| i * 1000).collect();
        let mut p = Probe::new(0, 9_999_000, 0, 10_000, vec![(0, 1), (1, 5000), (2, 5001)]);
        run(&mut p, &values);
        let Outcome::Narrowed(children) = p.finish().unwrap() else {
            panic!("not narrowed")
        };
        // Ranks 5000 and 5001 (values 4_999_000 and 5_000_000) may share a bucket.
        for child in &children {
            assert!(child.count <= COLLECT_MAX);
            for &(_, rank) in &child.ranks {
                let v = values[rank as usize - 1];
                assert!(
                    child.lo <= v && v <= child.hi,
                    "{v} in {}..={}",
                    child.lo,
                    child.hi
                );
            }
        }
        let served: usize = children.iter().map(|c| c.ranks.len()).sum();
        assert_eq!(served, 3);
    }

    #[test]
    fn full_u64_range_is_bucketed_without_overflow() {
        let values = [0, u64::MAX, u64::MAX, u64::MAX - 1, 1 << 63];
        let ranks = vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)];
        let mut p = Probe::new(0, u64::MAX, 0, 5, ranks.clone());
        p.count = COLLECT_MAX + 1; // force a histogram
        p.allocate();
        p.count = 5;
        for v in values {
            p.observe(v);
        }
        let Outcome::Narrowed(children) = p.finish().unwrap() else {
            panic!("not narrowed")
        };
        assert_eq!(children.last().unwrap().hi, u64::MAX);
        assert_eq!(children.len(), 3);
    }

    #[test]
    fn counters_widen_beyond_u32() {
        let wide = u64::from(u32::MAX) + 1;
        let mut c = Counts::zeroed(4, wide);
        assert!(matches!(c, Counts::Wide(_)));
        assert_eq!(Counts::bytes(4, wide), 32);
        c.add(3);
        c.add(9); // out of range: ignored
        assert_eq!(c.to_u64(), vec![0, 0, 0, 1]);
        let mut c = Counts::zeroed(2, u64::from(u32::MAX));
        assert!(matches!(c, Counts::Narrow(_)));
        assert_eq!(Counts::bytes(2, 5), 8);
        c.add(0);
        assert_eq!(c.to_u64(), vec![1, 0]);
    }

    #[test]
    fn count_mismatch_is_detected() {
        let mut p = Probe::new(0, 10, 0, 3, vec![(0, 2)]);
        run(&mut p, &[1, 2, 3, 4]);
        assert_eq!(p.finish().unwrap_err(), CountMismatch);
        let mut p = Probe::new(0, 10, 0, 3, vec![(0, 2)]);
        run(&mut p, &[1, 2]);
        assert_eq!(p.finish().unwrap_err(), CountMismatch);
    }
}
