//! `krr`: Robusta KRR's `simple` strategy with OOM-kill data
//! (github.com/robusta-dev/krr, `robusta_krr/strategies/simple.py`,
//! `use_oomkill_data`): every hour, each cgroup's limit ← 1.15 ×
//! max(peak usage, usage at OOM kills) over KRR's default history of
//! 336 hours, applied with [`recommendation::apply`].
//!
//! Peaks come from [`Policy::observe`] in hourly buckets; the usage at
//! every [`OomKind::OomKill`] and [`OomKind::Oom`] trigger (the kill held
//! back in `rescue`) is remembered in a second window of the same shape.
//! OOMs are not acted on at once.

use crate::audit::Outcome;

use super::config::PolicyConfig;
use super::history::PeakHistory;
use super::plan::Plan;
use super::recommendation;
use super::safety::scale_up;
use super::snapshot::{OomKind, Snapshot, Trigger};
use super::Policy;

/// Width of a history bucket and period of the recommendation: 1 hour.
pub const BUCKET_NS: u64 = 3600 * 1_000_000_000;
/// Buckets in the window: KRR's default `history_duration`, 336 hours.
pub const WINDOW_BUCKETS: usize = 336;
/// KRR's default `memory_buffer_percentage` (15 %), as a factor.
pub const MARGIN: f64 = 1.15;

/// The `krr` baseline: hourly peaks and OOM-kill usages over 14 days.
#[derive(Debug, Clone)]
pub struct Krr {
    peaks: PeakHistory,
    oom_kills: PeakHistory,
}

impl Krr {
    /// A fresh instance with no history.
    pub fn new() -> Self {
        Krr {
            peaks: PeakHistory::new(BUCKET_NS, WINDOW_BUCKETS),
            oom_kills: PeakHistory::new(BUCKET_NS, WINDOW_BUCKETS),
        }
    }
}

impl Default for Krr {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy for Krr {
    fn name(&self) -> &'static str {
        "krr"
    }

    fn describe(&self) -> &'static str {
        "Robusta KRR simple-oom: every hour, limit = 1.15 x max(peak, OOM-killed usage) over 14 days, within the global budget"
    }

    fn observe(&mut self, snap: &Snapshot) {
        for c in &snap.cgroups {
            self.peaks.record(&c.name, snap.time_ns, c.usage);
        }
        self.peaks.expire(snap.time_ns);
        self.oom_kills.expire(snap.time_ns);
    }

    fn decide(&mut self, snap: &Snapshot, trigger: &Trigger, cfg: &PolicyConfig) -> Plan {
        match *trigger {
            Trigger::Oom {
                cgroup,
                usage_at_oom,
                kind,
            } => {
                if let (Some(c), OomKind::Oom | OomKind::OomKill) = (snap.cgroups.get(cgroup), kind)
                {
                    self.oom_kills.record(&c.name, snap.time_ns, usage_at_oom);
                }
                Plan::nothing(Some(cgroup), 0, Outcome::FallbackKill)
            }
            Trigger::Tick => {
                let recs: Vec<Option<u64>> = snap
                    .cgroups
                    .iter()
                    .map(|c| {
                        let peak = self.peaks.max(&c.name, snap.time_ns);
                        let oom = self.oom_kills.max(&c.name, snap.time_ns);
                        peak.max(oom).map(|p| scale_up(p, MARGIN))
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
    use crate::policy::safety::check_plan;
    use crate::policy::test_snapshots::*;

    const HOUR: u64 = 3600 * 1_000_000_000;

    fn at(t: u64, usage: u64) -> Snapshot {
        let mut s = snap(None, 0, vec![cg("/apps/a", Some(200 * MIB), usage, None)]);
        s.time_ns = t;
        s
    }

    #[test]
    fn limit_is_1_15_times_max_of_peak_and_oom_kills() {
        let mut p = Krr::new();
        let cfg = PolicyConfig::default();
        p.observe(&at(0, 100 * MIB));
        p.observe(&at(HOUR / 2, 40 * MIB));
        let s = at(HOUR, 40 * MIB);
        let plan = p.decide(&s, &Trigger::Tick, &cfg);
        assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
        assert_eq!(plan.changes[0].new, 115 * MIB);
        // An OOM kill at 300 MiB: nothing at once, 345 MiB at the next tick.
        let s = at(HOUR + 1, 200 * MIB);
        assert!(p
            .decide(&s, &oom(0, 300 * MIB, OomKind::OomKill), &cfg)
            .is_empty());
        // Pressure is no kill.
        assert!(p
            .decide(&s, &oom(0, 900 * MIB, OomKind::Pressure), &cfg)
            .is_empty());
        let plan = p.decide(&at(2 * HOUR, 40 * MIB), &Trigger::Tick, &cfg);
        assert_eq!(plan.changes[0].new, align_up_mib(1.15 * 300.0));
        assert_eq!(p.tick_interval_ns(), Some(HOUR));
    }

    fn align_up_mib(mib: f64) -> u64 {
        crate::policy::safety::align_up((mib * MIB as f64).ceil() as u64, PAGE)
    }

    #[test]
    fn history_spans_336_hours() {
        let mut p = Krr::new();
        let cfg = PolicyConfig::default();
        p.observe(&at(0, 150 * MIB));
        for h in 1..=335 {
            p.observe(&at(h * HOUR, 10 * MIB));
        }
        let plan = p.decide(&at(335 * HOUR, 10 * MIB), &Trigger::Tick, &cfg);
        assert_eq!(plan.changes[0].new, align_up_mib(1.15 * 150.0));
        p.observe(&at(336 * HOUR, 10 * MIB));
        let plan = p.decide(&at(336 * HOUR, 10 * MIB), &Trigger::Tick, &cfg);
        // Guard 10 MiB over usage 10 MiB wins over 1.15 × 10 MiB.
        assert_eq!(plan.changes[0].new, 20 * MIB);
    }
}
