//! The multi-pass engine: exact order statistics per cgroup in memory
//! bounded by the number of cgroups.
//!
//! Pass 1 counts each cgroup's samples in the window and their minimum and
//! maximum. Every later pass runs the waiting [probes](super::probe): each
//! narrows the value range of some target ranks by a factor of at least
//! [`BUCKETS`]` / 2`, or collects the at most [`COLLECT_MAX`] values left and
//! selects the answers exactly. A 64-bit range needs at most six narrowing
//! passes, so a computation takes at most 7 passes when the memory budget
//! lets every probe of a pass run at once; typical data (a few thousand
//! samples per cgroup) takes 2 or 3. Probes that do not fit in the budget
//! wait for a later pass, so memory stays bounded whatever the number of
//! cgroups, at the cost of more passes.

use std::collections::BTreeMap;

use super::cgroup_table::CgroupTable;
use super::probe::{CountMismatch, Outcome, Probe};
use super::{Metric, Percentile, SampleSource};
use crate::trace::{CgroupId, Sample};

#[cfg(doc)]
use super::probe::{BUCKETS, COLLECT_MAX};

/// Default memory budget for the probes of one pass: 64 MiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 64 << 20;

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRequest {
    /// Start of the window, nanoseconds since the epoch (inclusive).
    pub from_ns: u64,
    /// End of the window, nanoseconds since the epoch (inclusive).
    pub to_ns: u64,
    /// The value of each sample taken.
    pub metric: Metric,
    /// Extra percentiles; sorted and deduplicated in the result.
    pub percentiles: Vec<Percentile>,
}

impl StatsRequest {
    /// Whole trace, usage, no extra percentile.
    pub fn all_usage() -> StatsRequest {
        StatsRequest {
            from_ns: 0,
            to_ns: u64::MAX,
            metric: Metric::Usage,
            percentiles: Vec::new(),
        }
    }

    fn contains(&self, sample: &Sample) -> bool {
        self.from_ns <= sample.time_ns && sample.time_ns <= self.to_ns
    }
}

/// One cgroup's statistics over the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupStats {
    /// Smallest value.
    pub min: u64,
    /// Largest value.
    pub max: u64,
    /// Median (mean of the two middle values, rounded down, for an even count).
    pub median: u64,
    /// Number of samples in the window.
    pub samples: u64,
    /// The requested percentiles (nearest rank), ascending, without duplicates.
    pub percentiles: Vec<(Percentile, u64)>,
}

/// Memory the probes of one pass may use, in bytes. One probe runs per pass
/// even when it alone exceeds the budget (at most 16 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget(pub usize);

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget(DEFAULT_MEMORY_BUDGET)
    }
}

/// The statistics and what it took to compute them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    /// Statistics of every cgroup with at least one sample in the window.
    pub stats: BTreeMap<CgroupId, CgroupStats>,
    /// Passes made over the source (at least 1).
    pub passes: u32,
}

/// Why the statistics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError<E> {
    /// A pass over the source failed.
    #[error(transparent)]
    Source(E),
    /// A pass yielded other samples than the first (the trace grew or
    /// changed while being read).
    #[error(
        "the samples of cgroup id {cgroup} in pass {pass} differ from those of pass 1 \
         (is the trace still being written?)"
    )]
    SourceChanged {
        /// The cgroup whose samples differed.
        cgroup: CgroupId,
        /// The pass that saw the difference (2 or more).
        pass: u32,
    },
}

/// Computes min, max, median and the requested percentiles of every cgroup
/// with samples in the window, with the default memory budget.
pub fn compute<S: SampleSource>(
    src: &mut S,
    req: &StatsRequest,
) -> Result<BTreeMap<CgroupId, CgroupStats>, ComputeError<S::Error>> {
    compute_with_budget(src, req, MemoryBudget::default()).map(|c| c.stats)
}

/// Like [`compute`], with an explicit memory budget, also reporting the number of passes.
pub fn compute_with_budget<S: SampleSource>(
    src: &mut S,
    req: &StatsRequest,
    budget: MemoryBudget,
) -> Result<Computed, ComputeError<S::Error>> {
    let mut percentiles = req.percentiles.clone();
    percentiles.sort_unstable();
    percentiles.dedup();

    let mut table = CgroupTable::default();
    let mut cgroups: Vec<CgroupState> = Vec::new();
    src.for_each_sample(&mut |s: &Sample| {
        if !req.contains(s) {
            return;
        }
        let slot = table.slot_or_insert(s.cgroup);
        let value = req.metric.of(s);
        match cgroups.get_mut(slot) {
            Some(c) => c.add_first_pass(value),
            None => cgroups.push(CgroupState::first(value)),
        }
    })
    .map_err(ComputeError::Source)?;
    let mut passes = 1;
    for c in &mut cgroups {
        c.plan(&percentiles);
    }

    while cgroups.iter().any(|c| !c.waiting.is_empty()) {
        activate_within(&mut cgroups, budget);
        passes += 1;
        let mut unknown: Option<CgroupId> = None;
        src.for_each_sample(&mut |s: &Sample| {
            if !req.contains(s) {
                return;
            }
            let Some(slot) = table.slot(s.cgroup) else {
                unknown.get_or_insert(s.cgroup);
                return;
            };
            let c = &mut cgroups[slot];
            c.seen += 1;
            if c.active.is_empty() {
                return;
            }
            let value = req.metric.of(s);
            for probe in &mut c.active {
                probe.observe(value);
            }
        })
        .map_err(ComputeError::Source)?;
        if let Some(cgroup) = unknown {
            return Err(ComputeError::SourceChanged {
                cgroup,
                pass: passes,
            });
        }
        for (slot, c) in cgroups.iter_mut().enumerate() {
            c.end_pass()
                .map_err(|CountMismatch| ComputeError::SourceChanged {
                    cgroup: table.id(slot),
                    pass: passes,
                })?;
        }
    }

    let stats = cgroups
        .iter()
        .enumerate()
        .map(|(slot, c)| (table.id(slot), c.result(&percentiles)))
        .collect();
    Ok(Computed { stats, passes })
}

/// Moves waiting probes to active, in cgroup order, while the budget lasts
/// (at least one probe).
fn activate_within(cgroups: &mut [CgroupState], budget: MemoryBudget) {
    let mut used = 0usize;
    for c in cgroups.iter_mut() {
        while let Some(probe) = c.waiting.last() {
            let need = probe.bytes_needed();
            if used > 0 && used.saturating_add(need) > budget.0 {
                return;
            }
            used = used.saturating_add(need);
            let mut probe = c.waiting.pop().expect("peeked above");
            probe.allocate();
            c.active.push(probe);
        }
    }
}

/// The mean of two values rounded down, without overflow.
pub fn mean_floor(a: u64, b: u64) -> u64 {
    a / 2 + b / 2 + (a % 2 + b % 2) / 2
}

/// Everything the engine keeps about one cgroup.
#[derive(Debug)]
struct CgroupState {
    /// Samples in the window (pass 1).
    n: u64,
    min: u64,
    max: u64,
    /// Samples in the window seen in the current pass.
    seen: u64,
    /// Distinct target ranks, ascending.
    ranks: Vec<u64>,
    /// The value at each rank, once known.
    values: Vec<Option<u64>>,
    /// Probes for a later pass.
    waiting: Vec<Probe>,
    /// Probes of the current pass.
    active: Vec<Probe>,
}

impl CgroupState {
    fn first(value: u64) -> CgroupState {
        CgroupState {
            n: 1,
            min: value,
            max: value,
            seen: 0,
            ranks: Vec::new(),
            values: Vec::new(),
            waiting: Vec::new(),
            active: Vec::new(),
        }
    }

    #[inline]
    fn add_first_pass(&mut self, value: u64) {
        self.n += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Sets the target ranks and the first probe, after pass 1.
    fn plan(&mut self, percentiles: &[Percentile]) {
        let n = self.n;
        let mut ranks = median_ranks(n);
        ranks.extend(percentiles.iter().map(|p| p.rank(n)));
        ranks.sort_unstable();
        ranks.dedup();
        self.values = ranks
            .iter()
            .map(|&r| match r {
                _ if self.min == self.max => Some(self.min),
                1 => Some(self.min),
                r if r == n => Some(self.max),
                _ => None,
            })
            .collect();
        let open: Vec<(usize, u64)> = ranks
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.values[i].is_none())
            .map(|(i, &r)| (i, r))
            .collect();
        self.ranks = ranks;
        if !open.is_empty() {
            self.waiting
                .push(Probe::new(self.min, self.max, 0, n, open));
        }
    }

    /// Checks this pass's count and turns the active probes into answers or waiting probes.
    fn end_pass(&mut self) -> Result<(), CountMismatch> {
        if std::mem::take(&mut self.seen) != self.n {
            return Err(CountMismatch);
        }
        for probe in std::mem::take(&mut self.active) {
            match probe.finish()? {
                Outcome::Resolved(found) => self.store(found),
                Outcome::Narrowed(children) => {
                    for child in children {
                        match child.trivially_resolved() {
                            Some(found) => self.store(found),
                            None => self.waiting.push(child),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn store(&mut self, found: Vec<(usize, u64)>) {
        for (i, v) in found {
            self.values[i] = Some(v);
        }
    }

    /// The value at 1-based rank `rank` (a planned target rank).
    fn at(&self, rank: u64) -> u64 {
        let i = self
            .ranks
            .binary_search(&rank)
            .expect("every rank asked for was planned");
        self.values[i].expect("the engine runs until every rank is resolved")
    }

    fn result(&self, percentiles: &[Percentile]) -> CgroupStats {
        let median = match median_ranks(self.n).as_slice() {
            [r] => self.at(*r),
            [a, b] => mean_floor(self.at(*a), self.at(*b)),
            _ => unreachable!("median_ranks gives one or two ranks"),
        };
        CgroupStats {
            min: self.min,
            max: self.max,
            median,
            samples: self.n,
            percentiles: percentiles
                .iter()
                .map(|&p| (p, self.at(p.rank(self.n))))
                .collect(),
        }
    }
}

/// The 1-based rank(s) whose value(s) give the median of `n ≥ 1` values.
fn median_ranks(n: u64) -> Vec<u64> {
    if n % 2 == 1 {
        vec![n / 2 + 1]
    } else {
        vec![n / 2, n / 2 + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(time_ns: u64, cgroup: CgroupId, usage: u64, inactive_file: Option<u64>) -> Sample {
        Sample {
            time_ns,
            cgroup,
            usage,
            limit: None,
            inactive_file,
            peak: None,
            failcnt: None,
        }
    }

    /// The obvious computation: collect, sort, pick.
    fn naive(samples: &[Sample], req: &StatsRequest) -> BTreeMap<CgroupId, CgroupStats> {
        let mut by_cgroup: BTreeMap<CgroupId, Vec<u64>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| req.from_ns <= s.time_ns && s.time_ns <= req.to_ns)
        {
            let v = match req.metric {
                Metric::Usage => s.usage,
                Metric::WorkingSet => s.usage.saturating_sub(s.inactive_file.unwrap_or(0)),
            };
            by_cgroup.entry(s.cgroup).or_default().push(v);
        }
        let mut ps = req.percentiles.clone();
        ps.sort();
        ps.dedup();
        by_cgroup
            .into_iter()
            .map(|(id, mut v)| {
                v.sort();
                let n = v.len();
                let median = if n % 2 == 1 {
                    v[n / 2]
                } else {
                    ((u128::from(v[n / 2 - 1]) + u128::from(v[n / 2])) / 2) as u64
                };
                let percentiles = ps
                    .iter()
                    .map(|&p| {
                        // Exact ceil(p/100·n) with p = billionths / 1e9 via its decimal string.
                        let billionths: u128 = {
                            let s = p.to_string();
                            let (i, f) = s.split_once('.').unwrap_or((&s, ""));
                            let f = format!("{f:0<9}");
                            i.parse::<u128>().unwrap() * 1_000_000_000 + f.parse::<u128>().unwrap()
                        };
                        let rank = (billionths * n as u128).div_ceil(100_000_000_000) as usize;
                        (p, v[rank - 1])
                    })
                    .collect();
                let stats = CgroupStats {
                    min: v[0],
                    max: v[n - 1],
                    median,
                    samples: n as u64,
                    percentiles,
                };
                (id, stats)
            })
            .collect()
    }

    fn value_strategy() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..10,
            0u64..100_000,
            any::<u64>(),
            (u64::MAX - 10)..=u64::MAX,
            (0u64..1000).prop_map(|x| x << 50),
        ]
    }

    fn one_sample() -> impl Strategy<Value = Sample> {
        (
            0u64..100,
            0u32..6,
            value_strategy(),
            proptest::option::of(value_strategy()),
        )
            .prop_map(|(t, c, u, i)| sample(t, c, u, i))
    }

    /// Over 2048 values per cgroup packed in a narrow cluster among far
    /// outliers: the histogram passes run before the values are collected.
    fn clustered_samples() -> impl Strategy<Value = Vec<Sample>> {
        (any::<u64>(), 1u64..1 << 20).prop_flat_map(|(base, width)| {
            let value = prop_oneof![
                8 => (0..width).prop_map(move |d| base.saturating_add(d)),
                1 => any::<u64>(),
            ];
            proptest::collection::vec(
                (0u64..100, 0u32..2, value).prop_map(|(t, c, u)| sample(t, c, u, None)),
                4200..6000,
            )
        })
    }

    fn samples_strategy() -> impl Strategy<Value = Vec<Sample>> {
        prop_oneof![
            proptest::collection::vec(one_sample(), 0..40),
            proptest::collection::vec(one_sample(), 0..6000),
            clustered_samples(),
        ]
    }

    fn request_strategy() -> impl Strategy<Value = StatsRequest> {
        let percentile = prop_oneof![
            (1u8..=100).prop_map(|p| Percentile::whole(p).unwrap()),
            (1u64..=100_000).prop_map(|m| Percentile::parse(&format!(
                "{}.{:03}",
                m / 1000,
                m % 1000
            ))
            .unwrap_or(Percentile::P50)),
        ];
        (
            0u64..100,
            0u64..100,
            prop_oneof![Just(Metric::Usage), Just(Metric::WorkingSet)],
            proptest::collection::vec(percentile, 0..5),
        )
            .prop_map(|(a, b, metric, percentiles)| StatsRequest {
                from_ns: a.min(b),
                to_ns: a.max(b),
                metric,
                percentiles,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn equals_sort_and_pick(samples in samples_strategy(), req in request_strategy()) {
            let expected = naive(&samples, &req);
            let got = compute(&mut samples.as_slice(), &req).unwrap();
            prop_assert_eq!(&got, &expected);
            // A budget of one byte runs a single probe per pass: same answer.
            let tiny = compute_with_budget(&mut samples.as_slice(), &req, MemoryBudget(1)).unwrap();
            prop_assert_eq!(tiny.stats, expected);
        }
    }

    fn usage_samples(cgroup: CgroupId, values: &[u64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &u)| sample(i as u64, cgroup, u, None))
            .collect()
    }

    #[test]
    fn median_of_even_count_rounds_down_without_overflow() {
        let samples = usage_samples(0, &[u64::MAX, u64::MAX - 2]);
        let got = compute(&mut samples.as_slice(), &StatsRequest::all_usage()).unwrap();
        assert_eq!(got[&0].median, u64::MAX - 1);
        let samples = usage_samples(0, &[u64::MAX, u64::MAX - 1]);
        let got = compute(&mut samples.as_slice(), &StatsRequest::all_usage()).unwrap();
        assert_eq!(got[&0].median, u64::MAX - 1);
        assert_eq!(mean_floor(3, 4), 3);
        assert_eq!(mean_floor(3, 5), 4);
        assert_eq!(mean_floor(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn single_sample_and_empty_window() {
        let samples = usage_samples(7, &[42]);
        let got = compute(&mut samples.as_slice(), &StatsRequest::all_usage()).unwrap();
        let s = &got[&7];
        assert_eq!((s.min, s.median, s.max, s.samples), (42, 42, 42, 1));
        let req = StatsRequest {
            from_ns: 1,
            to_ns: 10,
            ..StatsRequest::all_usage()
        };
        assert!(compute(&mut samples.as_slice(), &req).unwrap().is_empty());
        let reversed = StatsRequest {
            from_ns: 10,
            to_ns: 0,
            ..StatsRequest::all_usage()
        };
        assert!(compute(&mut samples.as_slice(), &reversed)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn window_ends_are_inclusive() {
        let samples = usage_samples(0, &[1, 2, 3, 4, 5]);
        let req = StatsRequest {
            from_ns: 1,
            to_ns: 3,
            ..StatsRequest::all_usage()
        };
        let got = compute(&mut samples.as_slice(), &req).unwrap();
        assert_eq!((got[&0].min, got[&0].max, got[&0].samples), (2, 4, 3));
    }

    #[test]
    fn pass_count_is_bounded_on_adversarial_values() {
        // Many values spread over the whole 64-bit range, the median rank in
        // a dense cluster: every narrowing pass is needed.
        let mut values: Vec<u64> = (0..3000u64).map(|i| u64::MAX / 3000 * i).collect();
        values.extend((0..5000u64).map(|i| (1 << 40) + i % 7));
        let samples = usage_samples(0, &values);
        let req = StatsRequest {
            percentiles: vec![Percentile::whole(99).unwrap()],
            ..StatsRequest::all_usage()
        };
        let got =
            compute_with_budget(&mut samples.as_slice(), &req, MemoryBudget::default()).unwrap();
        assert!(got.passes <= 7, "{} passes", got.passes);
        assert_eq!(got.stats, naive(&samples, &req));
        // Few values per cgroup: count, then collect.
        let samples = usage_samples(0, &[5, 1, 9, 3]);
        let got =
            compute_with_budget(&mut samples.as_slice(), &req, MemoryBudget::default()).unwrap();
        assert_eq!(got.passes, 2);
        // All values equal: one pass.
        let samples = usage_samples(0, &[5, 5, 5]);
        let got =
            compute_with_budget(&mut samples.as_slice(), &req, MemoryBudget::default()).unwrap();
        assert_eq!(got.passes, 1);
    }

    /// A source whose later passes yield other samples.
    struct Growing {
        samples: Vec<Sample>,
        passes: u32,
    }

    impl SampleSource for Growing {
        type Error = std::convert::Infallible;
        fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), Self::Error> {
            self.passes += 1;
            if self.passes == 2 {
                self.samples
                    .push(sample(1, self.samples[0].cgroup, 3, None));
            }
            self.samples.iter().for_each(f);
            Ok(())
        }
    }

    #[test]
    fn a_source_that_changes_between_passes_is_an_error() {
        let mut src = Growing {
            samples: usage_samples(4, &[1, 2, 5]),
            passes: 0,
        };
        let err = compute(&mut src, &StatsRequest::all_usage()).unwrap_err();
        assert!(
            matches!(err, ComputeError::SourceChanged { cgroup: 4, pass: 2 }),
            "{err}"
        );
        assert!(err.to_string().contains("still being written"), "{err}");
    }

    #[test]
    fn a_cgroup_appearing_in_a_later_pass_is_an_error() {
        struct NewCgroup(u32);
        impl SampleSource for NewCgroup {
            type Error = std::convert::Infallible;
            fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), Self::Error> {
                self.0 += 1;
                for u in [1, 2, 3] {
                    f(&sample(0, 0, u, None));
                }
                if self.0 > 1 {
                    f(&sample(0, 8, 1, None));
                }
                Ok(())
            }
        }
        let err = compute(&mut NewCgroup(0), &StatsRequest::all_usage()).unwrap_err();
        assert!(
            matches!(err, ComputeError::SourceChanged { cgroup: 8, pass: 2 }),
            "{err}"
        );
    }

    /// A source that fails.
    struct Failing;

    impl SampleSource for Failing {
        type Error = &'static str;
        fn for_each_sample(&mut self, _: &mut dyn FnMut(&Sample)) -> Result<(), Self::Error> {
            Err("broken chunk")
        }
    }

    #[test]
    fn source_errors_are_passed_on() {
        assert!(matches!(
            compute(&mut Failing, &StatsRequest::all_usage()),
            Err(ComputeError::Source("broken chunk"))
        ));
    }
}
