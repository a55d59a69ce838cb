//! `vpa` (being implemented: currently returns empty plans).

use crate::audit::Outcome;

use super::config::PolicyConfig;
use super::plan::Plan;
use super::snapshot::{Snapshot, Trigger};
use super::Policy;

/// The `vpa` algorithm (stub: changes nothing yet).
#[derive(Debug, Clone, Default)]
pub struct Vpa;

impl Policy for Vpa {
    fn name(&self) -> &'static str {
        "vpa"
    }

    fn describe(&self) -> &'static str {
        "vpa (not yet implemented: changes nothing)"
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
