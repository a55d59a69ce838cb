//! Phase 1 statistics: exact min, max, median and percentiles of each
//! cgroup's samples over a time window, and the stats file that carries them.
//!
//! Definitions, as `cgrec stats` computes them:
//! * **Window**: the samples with `from_ns ≤ time_ns ≤ to_ns` (both ends
//!   inclusive). A cgroup without a sample in the window is absent from the
//!   result; `from_ns > to_ns` gives an empty result.
//! * **Metric**: the sample's usage, or its working set
//!   ([`Sample::working_set`](crate::trace::Sample::working_set)).
//! * **Median** of n values sorted ascending: the value at rank (n+1)/2 for
//!   odd n; for even n the mean of the values at ranks n/2 and n/2+1,
//!   rounded down to a whole byte ([`mean_floor`], overflow-free).
//! * **Percentile** p in (0, 100], fractional allowed (`99.9`): nearest rank,
//!   the value at rank ⌈p/100 · n⌉ (1-based). So p100 is the maximum and a
//!   tiny p the minimum; p50 is the lower middle value for even n, which may
//!   differ from the median.
//!
//! The [engine](compute) streams a [`SampleSource`] several times and keeps
//! memory bounded by the number of cgroups, never by the number of samples:
//! see [`engine`] for the passes and their bound.
//!
//! ```
//! use cgcal_core::stats::{compute, Metric, Percentile, StatsRequest};
//! use cgcal_core::trace::Sample;
//! let samples: Vec<Sample> = [10, 40, 20, 30]
//!     .iter()
//!     .enumerate()
//!     .map(|(i, &usage)| Sample {
//!         time_ns: i as u64,
//!         cgroup: 0,
//!         usage,
//!         limit: None,
//!         inactive_file: None,
//!         peak: None,
//!         failcnt: None,
//!     })
//!     .collect();
//! let req = StatsRequest {
//!     from_ns: 0,
//!     to_ns: u64::MAX,
//!     metric: Metric::Usage,
//!     percentiles: vec![Percentile::whole(90).unwrap()],
//! };
//! let stats = compute(&mut samples.as_slice(), &req).unwrap();
//! let s = &stats[&0];
//! assert_eq!((s.min, s.median, s.max, s.samples), (10, 25, 40, 4));
//! assert_eq!(s.percentiles, vec![(Percentile::whole(90).unwrap(), 40)]);
//! ```

mod cgroup_table;
pub mod engine;
mod json_load;
mod json_write;
mod metric;
mod percentile;
pub mod phase1;
mod probe;
mod source;
mod trace_source;

pub use engine::{
    compute, compute_with_budget, mean_floor, CgroupStats, ComputeError, Computed, MemoryBudget,
    StatsRequest, DEFAULT_MEMORY_BUDGET,
};
pub use json_load::{load_stats_json, StatsFileError, MAX_STATS_FILE_LEN};
pub use json_write::{stats_file_to_json, to_json};
pub use metric::{Metric, UnknownMetric};
pub use percentile::{Percentile, PercentileError, MAX_FRACTION_DIGITS};
pub use phase1::{Phase1, StatsFile};
pub use probe::{BUCKETS, COLLECT_MAX};
pub use source::SampleSource;
pub use trace_source::TraceSamples;
