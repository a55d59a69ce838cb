//! [`Shape`]: how a synthetic workload's anonymous (unreclaimable) memory
//! moves over time, and what a restart after an OOM kill does to it.

use std::f64::consts::TAU;

/// Sweeps a restarted process takes to warm up from its base back to the
/// level its shape asks for.
pub const WARMUP_SWEEPS: u64 = 60;

/// A burst of extra memory in a [`Shape::Bursts`] workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// First sweep of the burst.
    pub start: u64,
    /// Length in sweeps.
    pub len: u64,
    /// Extra anonymous bytes at the burst's height (reached in 3 sweeps).
    pub extra: u64,
}

/// The anonymous memory of a workload whose base level is `anon`.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `anon` all along.
    Flat,
    /// `anon + slope × sweeps since the (re)start`: a leak that a restart clears.
    Leak {
        /// Bytes leaked per sweep.
        slope: u64,
    },
    /// `anon` plus the bursts under way; a burst that began before the last
    /// restart is lost with the killed process.
    Bursts(Vec<Burst>),
    /// `anon × (1 + amplitude × sin(2π·sweep/period + phase))`: a daily curve.
    Diurnal {
        /// Relative amplitude, below 1.
        amplitude: f64,
        /// Length of one "day" in sweeps.
        period: u64,
        /// Phase in radians (0: the mean at the start, rising).
        phase: f64,
    },
    /// `anon + extra × clamp((sweep − from) / (to − from), 0, 1)`: demand
    /// that grows with the load between two sweeps and stays there.
    Growth {
        /// Sweep where the growth starts.
        from: u64,
        /// Sweep where it reaches `extra`.
        to: u64,
        /// Extra bytes at the end.
        extra: u64,
    },
    /// A batch job: from 10 % of `anon` at its start to `anon` over `ramp`
    /// sweeps, then `anon` until it exits.
    Job {
        /// Sweeps of the ramp.
        ramp: u64,
    },
}

impl Shape {
    /// Anonymous bytes at `sweep` of a workload with base `anon` that started
    /// at `born` and was last (re)started at `started` (`born ≤ started ≤ sweep`),
    /// before page noise. After a restart the level climbs back from `anon`
    /// over [`WARMUP_SWEEPS`].
    pub fn anon_at(&self, anon: u64, born: u64, started: u64, sweep: u64) -> u64 {
        let age = sweep.saturating_sub(started);
        let target = self.target(anon, born, started, sweep);
        if started == born || target <= anon || age >= WARMUP_SWEEPS {
            return target;
        }
        anon + ((target - anon) as f64 * age as f64 / WARMUP_SWEEPS as f64) as u64
    }

    /// The fraction of its full page cache the workload wants at `sweep`
    /// (jobs fill theirs as they ramp up; others want all of it).
    pub fn cache_fraction(&self, born: u64, sweep: u64) -> f64 {
        match self {
            Shape::Job { ramp } => ramp_fraction(*ramp, sweep.saturating_sub(born)),
            _ => 1.0,
        }
    }

    fn target(&self, anon: u64, born: u64, started: u64, sweep: u64) -> u64 {
        match self {
            Shape::Flat => anon,
            Shape::Leak { slope } => {
                anon.saturating_add(slope.saturating_mul(sweep.saturating_sub(started)))
            }
            Shape::Bursts(bursts) => {
                let extra: u64 = bursts
                    .iter()
                    .filter(|b| b.start >= started && b.start <= sweep && sweep - b.start < b.len)
                    .map(|b| {
                        let up = (sweep - b.start + 1).min(3);
                        b.extra / 3 * up
                    })
                    .sum();
                anon.saturating_add(extra)
            }
            Shape::Diurnal {
                amplitude,
                period,
                phase,
            } => {
                let angle = TAU * sweep as f64 / (*period).max(1) as f64 + phase;
                let factor = (1.0 + amplitude * angle.sin()).max(0.0);
                (anon as f64 * factor) as u64
            }
            Shape::Growth { from, to, extra } => {
                let done = match sweep {
                    s if s <= *from => 0.0,
                    s if s >= *to => 1.0,
                    s => (s - from) as f64 / (to - from) as f64,
                };
                anon.saturating_add((*extra as f64 * done) as u64)
            }
            Shape::Job { ramp } => {
                let age = sweep.saturating_sub(born) as u128;
                let start = anon / 10;
                match *ramp as u128 {
                    r if age >= r => anon,
                    r => start + ((anon - start) as u128 * age / r) as u64,
                }
            }
        }
    }
}

/// From 0.1 at age 0 to 1 at age `ramp`.
fn ramp_fraction(ramp: u64, age: u64) -> f64 {
    match ramp {
        0 => 1.0,
        r => (0.1 + 0.9 * age as f64 / r as f64).min(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 1 << 20;

    #[test]
    fn leak_grows_and_a_restart_clears_it() {
        let leak = Shape::Leak { slope: M };
        assert_eq!(leak.anon_at(100 * M, 0, 0, 50), 150 * M);
        // Restarted at 40: back to the base, then growing again.
        assert_eq!(leak.anon_at(100 * M, 0, 40, 40), 100 * M);
        assert!(leak.anon_at(100 * M, 0, 40, 50) < 110 * M);
    }

    #[test]
    fn bursts_ramp_and_end_and_die_with_the_process() {
        let s = Shape::Bursts(vec![Burst {
            start: 10,
            len: 5,
            extra: 30 * M,
        }]);
        assert_eq!(s.anon_at(M, 0, 0, 9), M);
        assert_eq!(s.anon_at(M, 0, 0, 10), 11 * M);
        assert_eq!(s.anon_at(M, 0, 0, 12), 31 * M);
        assert_eq!(s.anon_at(M, 0, 0, 15), M);
        // Killed at 11, restarted at 12: the rest of the burst is gone.
        assert_eq!(s.anon_at(M, 0, 12, 13), M);
    }

    #[test]
    fn diurnal_peaks_a_quarter_period_in() {
        let s = Shape::Diurnal {
            amplitude: 0.5,
            period: 400,
            phase: 0.0,
        };
        assert_eq!(s.anon_at(100 * M, 0, 0, 0), 100 * M);
        assert_eq!(s.anon_at(100 * M, 0, 0, 100), 150 * M);
        assert_eq!(s.anon_at(100 * M, 0, 0, 300), 50 * M);
    }

    #[test]
    fn growth_and_job_ramps() {
        let g = Shape::Growth {
            from: 10,
            to: 20,
            extra: 10 * M,
        };
        assert_eq!(g.anon_at(M, 0, 0, 5), M);
        assert_eq!(g.anon_at(M, 0, 0, 15), 6 * M);
        assert_eq!(g.anon_at(M, 0, 0, 99), 11 * M);
        // Restarted at 30: warms up from the base again.
        assert!(g.anon_at(M, 0, 30, 31) < 2 * M);
        assert_eq!(g.anon_at(M, 0, 30, 30 + WARMUP_SWEEPS), 11 * M);
        let j = Shape::Job { ramp: 9 };
        assert_eq!(j.anon_at(100 * M, 50, 50, 50), 10 * M);
        assert_eq!(j.anon_at(100 * M, 50, 50, 53), 40 * M);
        assert_eq!(j.anon_at(100 * M, 50, 50, 59), 100 * M);
        assert_eq!(j.cache_fraction(50, 80), 1.0);
    }
}
