//! `autopilot`: a Google Autopilot-style moving-window recommender
//! (Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys
//! 2020, §3.2 moving-window recommenders): every 5 minutes, each cgroup's
//! limit ← 1.1 × the maximum of its 5-minute usage peaks over the past
//! 24 hours, applied with [`recommendation::apply`](super::recommendation::apply)
//! (never below usage + guard nor the floor; raises within what lowerings
//! free plus the global headroom).
//!
//! Peaks come from [`Policy::observe`] and from the usage at each OOM
//! trigger, which is recorded but not acted on at once: the next tick
//! raises the limit over it.

use crate::audit::Outcome;

use super::config::PolicyConfig;
use super::history::PeakHistory;
use super::plan::Plan;
use super::recommendation;
use super::safety::scale_up;
use super::snapshot::{Snapshot, Trigger};
use super::Policy;

/// Width of a peak bucket and period of the recommendation: 5 minutes.
pub const BUCKET_NS: u64 = 5 * 60 * 1_000_000_000;
/// Buckets in the window: 24 hours of 5-minute buckets.
pub const WINDOW_BUCKETS: usize = 288;
/// Safety margin over the peak.
pub const MARGIN: f64 = 1.1;

/// The `autopilot` baseline: a 24 h window of 5-minute peaks per cgroup.
#[derive(Debug, Clone)]
pub struct Autopilot {
    peaks: PeakHistory,
}

impl Autopilot {
    /// A fresh instance with no history.
    pub fn new() -> Self {
        Autopilot {
            peaks: PeakHistory::new(BUCKET_NS, WINDOW_BUCKETS),
        }
    }
}

impl Default for Autopilot {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy for Autopilot {
    fn name(&self) -> &'static str {
        "autopilot"
    }

    fn describe(&self) -> &'static str {
        "Google Autopilot moving window: every 5 min, limit = 1.1 x max of 5-min peaks over 24 h, within the global budget"
    }

    fn observe(&mut self, snap: &Snapshot) {
        for c in &snap.cgroups {
            self.peaks.record(&c.name, snap.time_ns, c.usage);
        }
        self.peaks.expire(snap.time_ns);
    }

    fn decide(&mut self, snap: &Snapshot, trigger: &Trigger, cfg: &PolicyConfig) -> Plan {
        match *trigger {
            Trigger::Oom {
                cgroup,
                usage_at_oom,
                ..
            } => {
                if let Some(c) = snap.cgroups.get(cgroup) {
                    self.peaks.record(&c.name, snap.time_ns, usage_at_oom);
                }
                Plan::nothing(Some(cgroup), 0, Outcome::FallbackKill)
            }
            Trigger::Tick => {
                let recs: Vec<Option<u64>> = snap
                    .cgroups
                    .iter()
                    .map(|c| {
                        self.peaks
                            .max(&c.name, snap.time_ns)
                            .map(|p| scale_up(p, MARGIN))
                    })
                    .collect();
                recommendation::apply(snap, cfg, &recs)
            }
        }
    }

    fn tick_interval_ns(&self) -> Option<u64> {
        Some(BUCKET_NS)
    }
}
