//! `static`: the kernel alone. Never changes a limit.

use crate::audit::Outcome;

use super::config::PolicyConfig;
use super::plan::Plan;
use super::snapshot::{Snapshot, Trigger};
use super::Policy;

/// The `static` baseline: every plan is empty. At an OOM the plan's
/// outcome is `fallback_kill` (nothing given, the kernel proceeds) with
/// source `none` and `needed` 0; at a Tick (never asked for) `resolved`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StaticLimits;

impl Policy for StaticLimits {
    fn name(&self) -> &'static str {
        "static"
    }

    fn describe(&self) -> &'static str {
        "changes nothing: the kernel alone (baseline)"
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
