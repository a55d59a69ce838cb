//! The counters of one algorithm's replay (the fields of SPEC §5's report).

/// Counters of one algorithm over the replayed samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// Demands above the simulated limit.
    pub oom_events: u64,
    /// OOMs that ended in a kill.
    pub kills: u64,
    /// Kills at a demand the cgroup's original limit would have held.
    pub collateral_kills: u64,
    /// Limit writes applied.
    pub adjustments: u64,
    /// Bytes added by raises.
    pub bytes_added: u64,
    /// Bytes taken by lowerings.
    pub bytes_reclaimed: u64,
    /// Sum of the slack ratios of the replayed samples of limited cgroups.
    pub slack_sum: f64,
    /// Number of those samples.
    pub slack_samples: u64,
    /// Limits set below a cgroup's Phase 1 minimum.
    pub floor_violations: u64,
    /// Plans refused by the safety check and not applied (0 for the
    /// algorithms of this crate).
    pub unsafe_plans: u64,
}

impl Tally {
    /// Adds the slack ratio `max(0, limit − demand) / limit` of one sample
    /// (nothing for a zero limit).
    pub fn add_slack(&mut self, limit: u64, demand: u64) {
        if limit == 0 {
            return;
        }
        self.slack_sum += limit.saturating_sub(demand) as f64 / limit as f64;
        self.slack_samples += 1;
    }

    /// The mean slack ratio, 0 without samples.
    pub fn mean_slack_ratio(&self) -> f64 {
        if self.slack_samples == 0 {
            0.0
        } else {
            self.slack_sum / self.slack_samples as f64
        }
    }
}
