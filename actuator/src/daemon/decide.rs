//! One decision through the engine, with what every mode does around it:
//! errors logged with the cgroup's name (never fatal), a cgroup that
//! vanished disarmed, thresholds re-armed after limits changed.

use std::time::Instant;

use cgcal_core::name::CgroupName;
use cgcal_core::policy::OomKind;

use super::Daemon;
use crate::engine::Decision;

impl Daemon {
    /// `engine.handle` for `name`; `None` when it failed (logged; the
    /// cgroup is disarmed when it is gone or no longer managed).
    pub(crate) fn decide(
        &mut self,
        name: &CgroupName,
        kind: OomKind,
        woke: Instant,
    ) -> Option<Decision> {
        match self.engine.handle(name, kind, woke) {
            Ok(d) => {
                tracing::debug!(
                    cgroup = %name,
                    ?kind,
                    added = d.added_to_target,
                    wrote = d.wrote,
                    latency_us = d.line.latency_us,
                    "decision"
                );
                if let Some(m) = &mut self.metrics {
                    m.decision(&d.line);
                }
                if d.wrote {
                    self.after_limits_changed(&d);
                }
                Some(d)
            }
            Err(e) => {
                if e.is_gone() {
                    tracing::info!(cgroup = %name, "dropped: {e}");
                    let gone = !self.engine.fs().exists(name);
                    self.disarm(name, gone);
                } else {
                    tracing::error!(cgroup = %name, ?kind, "decision failed: {e}");
                }
                None
            }
        }
    }

    /// Limits of the cgroups in the decision's `limits_after` changed:
    /// preempt mode re-arms their usage thresholds at the new limits.
    pub(crate) fn after_limits_changed(&mut self, d: &Decision) {
        let changed: Vec<CgroupName> = d
            .line
            .limits_after
            .keys()
            .filter_map(|n| CgroupName::parse(n).ok())
            .filter(|n| self.armed.contains(n))
            .collect();
        for name in changed {
            self.rearm_threshold_if_armed(&name);
        }
    }
}
