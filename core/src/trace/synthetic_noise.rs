//! A deterministic synthetic fleet trace for tests and benchmarks: `n`
//! cgroups sampled together every interval, usage a slow random walk in
//! whole 4 KiB pages, a constant limit, inactive file bytes every 10th
//! sample, peak as the running maximum and failcnt 0. Sweep times carry up
//! to 1 ms of jitter (shared by the cgroups of one sweep).
//!
//! ```
//! use cgcal_core::trace::synthetic_noise::NoiseSpec;
//! let spec = NoiseSpec { cgroups: 3, samples_per_cgroup: 2, ..NoiseSpec::fleet_hour(1) };
//! assert_eq!(spec.samples().count(), 6);
//! ```

use std::io::Write;

use crate::name::CgroupName;
use crate::trace::error::TraceError;
use crate::trace::model::{CgroupVersion, Header, Sample};
use crate::trace::writer::TraceWriter;

const PAGE: u64 = 4096;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseSpec {
    /// Number of cgroups (ids 0..cgroups, in definition order).
    pub cgroups: u32,
    /// Samples per cgroup (sweeps).
    pub samples_per_cgroup: u64,
    /// Interval between sweeps, nanoseconds.
    pub interval_ns: u64,
    /// Time of the first sweep, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// Seed of the generator: same seed, same trace.
    pub seed: u64,
}

impl NoiseSpec {
    /// 1,000 cgroups for one hour at 1-second samples (3.6 M samples).
    pub fn fleet_hour(seed: u64) -> Self {
        NoiseSpec {
            cgroups: 1000,
            samples_per_cgroup: 3600,
            interval_ns: 1_000_000_000,
            start_ns: 1_767_225_600_000_000_000,
            seed,
        }
    }

    /// Total number of samples.
    pub fn total_samples(&self) -> u64 {
        self.cgroups as u64 * self.samples_per_cgroup
    }

    /// The trace header.
    pub fn header(&self) -> Header {
        Header {
            host: format!("synthetic-noise-{}", self.seed),
            kernel: "6.1.0-synthetic".into(),
            cgroup_version: CgroupVersion::V1,
            root: CgroupName::root(),
            interval_ns: self.interval_ns,
            host_memory: Some(256 << 30),
            start_ns: self.start_ns,
            tool: "cgcal synthetic_noise".into(),
        }
    }

    /// Name of cgroup `i`: `/fleet/svc-NN/pod-NNNN`.
    pub fn name(&self, i: u32) -> CgroupName {
        CgroupName::parse(&format!("/fleet/svc-{:02}/pod-{i:04}", i / 50))
            .expect("synthetic names are valid")
    }

    /// The samples in sweep order (all cgroups at one time, then the next
    /// time); cgroup ids are the indices 0..cgroups.
    pub fn samples(&self) -> NoiseSamples {
        let mut rng = SplitMix64(self.seed);
        let cgroups = (0..self.cgroups)
            .map(|_| {
                let limit = (64 + rng.next() % 4032) * (1 << 20);
                let usage = (limit / 2 / PAGE) * PAGE;
                Walk {
                    usage,
                    limit,
                    inactive: usage / 4 / PAGE * PAGE,
                    peak: usage,
                }
            })
            .collect();
        NoiseSamples {
            spec: *self,
            rng,
            walks: cgroups,
            sweep: 0,
            next: 0,
            time_ns: 0,
        }
    }
}

/// Writes the whole synthetic trace to `out` with a [`TraceWriter`] (all
/// cgroups defined at the start) and returns `out`.
pub fn write_noise_trace<W: Write>(spec: &NoiseSpec, out: W) -> Result<W, TraceError> {
    let mut w = TraceWriter::new(out, &spec.header())?;
    for i in 0..spec.cgroups {
        w.cgroup_id(&spec.name(i), spec.start_ns);
    }
    for s in spec.samples() {
        w.push_sample(s)?;
    }
    w.finish()
}

#[derive(Debug, Clone)]
struct Walk {
    usage: u64,
    limit: u64,
    inactive: u64,
    peak: u64,
}

/// Iterator over the samples of a [`NoiseSpec`].
#[derive(Debug, Clone)]
pub struct NoiseSamples {
    spec: NoiseSpec,
    rng: SplitMix64,
    walks: Vec<Walk>,
    sweep: u64,
    next: u32,
    time_ns: u64,
}

impl Iterator for NoiseSamples {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        if self.sweep >= self.spec.samples_per_cgroup || self.spec.cgroups == 0 {
            return None;
        }
        if self.next == 0 {
            let jitter = self.rng.next() % 1_000_000;
            self.time_ns = self.spec.start_ns + self.sweep * self.spec.interval_ns + jitter;
        }
        let i = self.next;
        let r = self.rng.next();
        let w = &mut self.walks[i as usize];
        let pages = match r % 100 {
            0..=49 => 0,
            50..=94 => 1 + (r >> 8) % 4,
            _ => 1 + (r >> 8) % 256,
        };
        w.usage = match (r >> 20) & 1 {
            0 => w.usage.saturating_sub(pages * PAGE).max(1 << 20),
            _ => (w.usage + pages * PAGE).min(w.limit),
        };
        w.peak = w.peak.max(w.usage);
        let with_inactive = (self.sweep + i as u64).is_multiple_of(10);
        if with_inactive {
            let step = ((r >> 32) % 9) * PAGE;
            w.inactive = (w.inactive + step).saturating_sub(4 * PAGE).min(w.usage);
        }
        let s = Sample {
            time_ns: self.time_ns,
            cgroup: i,
            usage: w.usage,
            limit: Some(w.limit),
            inactive_file: with_inactive.then_some(w.inactive),
            peak: Some(w.peak),
            failcnt: Some(0),
        };
        self.next += 1;
        if self.next == self.spec.cgroups {
            self.next = 0;
            self.sweep += 1;
        }
        Some(s)
    }
}

/// The splitmix64 generator: tiny, fast, deterministic.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
