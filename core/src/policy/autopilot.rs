//! `autopilot`: a Google Autopilot-style moving-window recommender
//! (Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys
//! 2020, §3.2 moving-window recommenders): every 5 minutes, each cgroup's
//! limit ← 1.1 × the maximum of its 5-minute usage peaks over the past
//! 24 hours, applied with [`recommendation::apply`]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Source;
    use crate::policy::safety::check_plan;
    use crate::policy::snapshot::OomKind;
    use crate::policy::test_snapshots::*;

    const MINUTE: u64 = 60 * 1_000_000_000;

    fn at(t: u64, usage_a: u64, usage_b: u64) -> Snapshot {
        let mut s = snap(
            Some(1000 * MIB),
            1000 * MIB, // no headroom: raises are funded by lowerings
            vec![
                cg("/apps/a", Some(500 * MIB), usage_a, None),
                cg("/apps/b", Some(100 * MIB), usage_b, None),
            ],
        );
        s.time_ns = t;
        s
    }

    #[test]
    fn limit_is_1_1_times_the_24h_peak_within_the_budget() {
        let mut p = Autopilot::new();
        let cfg = PolicyConfig::default();
        // a peaks at 100 MiB, b at 200 MiB (b is over its limit: a demand in cgsim).
        for (i, (ua, ub)) in [(50, 150), (100, 200), (80, 90)].into_iter().enumerate() {
            p.observe(&at(i as u64 * MINUTE, ua * MIB, ub * MIB));
        }
        let s = at(5 * MINUTE, 80 * MIB, 90 * MIB);
        let plan = p.decide(&s, &Trigger::Tick, &cfg);
        assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
        let news: Vec<(usize, u64)> = plan.changes.iter().map(|c| (c.cgroup, c.new)).collect();
        assert_eq!(news, vec![(0, 110 * MIB), (1, 220 * MIB)]);
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Donors, Outcome::Resolved)
        );
        assert_eq!(p.tick_interval_ns(), Some(5 * MINUTE));
    }

    #[test]
    fn peaks_older_than_24h_are_forgotten() {
        let mut p = Autopilot::new();
        let cfg = PolicyConfig::default();
        p.observe(&at(0, 400 * MIB, 10 * MIB));
        for h in 1..=25u64 {
            p.observe(&at(h * 60 * MINUTE, 100 * MIB, 10 * MIB));
        }
        // 1.1 × 100 MiB (the 400 MiB peak is gone); usage 50 + guard 25 MiB is lower.
        let s = at(25 * 60 * MINUTE, 50 * MIB, 10 * MIB);
        let plan = p.decide(&s, &Trigger::Tick, &cfg);
        assert_eq!(plan.changes[0].new, 110 * MIB);
    }

    #[test]
    fn an_oom_is_remembered_for_the_next_tick() {
        let mut p = Autopilot::new();
        let cfg = PolicyConfig::default();
        p.observe(&at(0, 50 * MIB, 10 * MIB));
        let s = at(MINUTE, 50 * MIB, 100 * MIB);
        let plan = p.decide(&s, &oom(1, 150 * MIB, OomKind::OomKill), &cfg);
        assert!(plan.is_empty());
        assert_eq!(plan.outcome, Outcome::FallbackKill);
        let plan = p.decide(&at(5 * MINUTE, 50 * MIB, 100 * MIB), &Trigger::Tick, &cfg);
        assert_eq!(plan.changes.last().unwrap().new, 165 * MIB);
    }

    #[test]
    fn no_history_no_change() {
        let mut p = Autopilot::new();
        let plan = p.decide(&at(0, MIB, MIB), &Trigger::Tick, &PolicyConfig::default());
        assert!(plan.is_empty());
    }
}
