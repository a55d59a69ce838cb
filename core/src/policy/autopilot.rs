//! `autopilot` (being implemented: currently returns empty plans).

use crate::audit::Outcome;

use super::config::PolicyConfig;
use super::plan::Plan;
use super::snapshot::{Snapshot, Trigger};
use super::Policy;

/// The `autopilot` algorithm (stub: changes nothing yet).
#[derive(Debug, Clone, Default)]
pub struct Autopilot {
    _history: (),
}

impl Autopilot {
    /// A fresh instance with no history.
    pub fn new() -> Self {
        Autopilot { _history: () }
    }
}

impl Policy for Autopilot {
    fn name(&self) -> &'static str {
        "autopilot"
    }

    fn describe(&self) -> &'static str {
        "autopilot (not yet implemented: changes nothing)"
    }

    fn observe(&mut self, _snap: &Snapshot) {}

    fn decide(&mut self, _snap: &Snapshot, trigger: &Trigger, _cfg: &PolicyConfig) -> Plan {
        match *trigger {
            Trigger::Oom { cgroup, .. } => Plan::nothing(Some(cgroup), 0, Outcome::FallbackKill),
            Trigger::Tick => Plan::nothing(None, 0, Outcome::Resolved),
        }
    }

    fn tick_interval_ns(&self) -> Option<u64> {
        None
    }
}
