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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::audit::Source;
    use crate::policy::test_snapshots::arb_case;

    proptest! {
        #[test]
        fn never_changes_anything((s, trigger, cfg) in arb_case(false)) {
            let mut p = StaticLimits;
            p.observe(&s);
            for t in [trigger, Trigger::Tick] {
                let plan = p.decide(&s, &t, &cfg);
                prop_assert!(plan.is_empty());
                prop_assert_eq!(plan.source, Source::None);
                prop_assert_eq!(plan.granted(), 0);
            }
            prop_assert_eq!(p.decide(&s, &trigger, &cfg).outcome, Outcome::FallbackKill);
        }
    }
}
