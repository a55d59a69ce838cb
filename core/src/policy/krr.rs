//! `krr`: Robusta KRR's `simple` strategy with OOM-kill data
//! (github.com/robusta-dev/krr, `robusta_krr/strategies/simple.py`,
//! `use_oomkill_data`): every hour, each cgroup's limit ← 1.15 ×
//! max(peak usage, usage at OOM kills) over KRR's default history of
//! 336 hours, applied with [`recommendation::apply`](super::recommendation::apply).
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
