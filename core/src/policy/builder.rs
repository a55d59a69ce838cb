//! [`PlanBuilder`]: the only way the algorithms of this crate make a plan.
//! Every operation is checked against the safety rules before it is
//! recorded, and a refused operation leaves the builder unchanged, so a
//! finished plan always passes [`check_plan`](super::safety::check_plan).

use crate::audit::{Outcome, Source};

use super::config::PolicyConfig;
use super::plan::{Change, Plan, Reason};
use super::safety::{self, SafetyViolation};
use super::snapshot::Snapshot;

/// Accumulates safe changes against one snapshot.
#[derive(Debug)]
pub struct PlanBuilder<'a> {
    snap: &'a Snapshot,
    cfg: &'a PolicyConfig,
    headroom: u64,
    touched: Vec<bool>,
    shrinks: Vec<Change>,
    grows: Vec<Change>,
    freed: u64,
    granted: u64,
}

impl<'a> PlanBuilder<'a> {
    /// A builder with no change yet; the headroom is computed once, here.
    pub fn new(snap: &'a Snapshot, cfg: &'a PolicyConfig) -> Self {
        PlanBuilder {
            snap,
            cfg,
            headroom: safety::headroom(&snap.global, cfg),
            touched: vec![false; snap.cgroups.len()],
            shrinks: Vec::new(),
            grows: Vec::new(),
            freed: 0,
            granted: 0,
        }
    }

    /// The global headroom at the snapshot.
    pub fn headroom(&self) -> u64 {
        self.headroom
    }

    /// Headroom not yet granted (grants spend freed memory first).
    pub fn headroom_left(&self) -> u64 {
        self.available().min(self.headroom)
    }

    /// Bytes the next grows may still add: freed + headroom − granted.
    pub fn available(&self) -> u64 {
        self.freed
            .saturating_add(self.headroom)
            .saturating_sub(self.granted)
    }

    /// True when the cgroup already has a change in this plan.
    pub fn is_touched(&self, cgroup: usize) -> bool {
        self.touched.get(cgroup).copied().unwrap_or(false)
    }

    /// Lowers `cgroup` to `new`. Refused (and nothing recorded) if a grow
    /// was already recorded, the cgroup is unknown, unlimited or already
    /// changed, or `new` breaks a rule of [`safety::check_change`] or is not
    /// below the current limit. Returns the bytes freed.
    pub fn shrink_to(
        &mut self,
        cgroup: usize,
        new: u64,
        reason: Reason,
    ) -> Result<u64, SafetyViolation> {
        let change = self.prepare(cgroup, new, reason)?;
        if !change.is_shrink() {
            return Err(SafetyViolation::NoOp {
                cgroup: self.snap.cgroups[cgroup].name.to_string(),
                limit: new,
            });
        }
        if let Some(g) = self.grows.first() {
            return Err(SafetyViolation::GrowBeforeShrink {
                cgroup: self.snap.cgroups[g.cgroup].name.to_string(),
            });
        }
        let freed = change.reduced();
        self.freed = self.freed.saturating_add(freed);
        self.touched[cgroup] = true;
        self.shrinks.push(change);
        Ok(freed)
    }

    /// Lowers `cgroup` by `bytes` rounded up to a page, from its limit
    /// rounded down to a page. Returns the bytes freed (at least `bytes`).
    pub fn shrink_by(
        &mut self,
        cgroup: usize,
        bytes: u64,
        reason: Reason,
    ) -> Result<u64, SafetyViolation> {
        let old = self.limit_of(cgroup)?;
        let page = self.cfg.page();
        let new = safety::align_down(old, page).saturating_sub(safety::align_up(bytes, page));
        self.shrink_to(cgroup, new, reason)
    }

    /// Raises `cgroup` to `new`. Refused (and nothing recorded) if the
    /// cgroup is unknown, unlimited or already changed, `new` breaks a rule
    /// of [`safety::check_change`] or is not above the current limit, or the
    /// raise exceeds [`PlanBuilder::available`]. Returns the bytes added.
    pub fn grow_to(
        &mut self,
        cgroup: usize,
        new: u64,
        reason: Reason,
    ) -> Result<u64, SafetyViolation> {
        let change = self.prepare(cgroup, new, reason)?;
        if change.is_shrink() {
            return Err(SafetyViolation::GrowBeforeShrink {
                cgroup: self.snap.cgroups[cgroup].name.to_string(),
            });
        }
        let added = change.added();
        if added > self.available() {
            return Err(SafetyViolation::OverBudget {
                granted: self.granted.saturating_add(added),
                freed: self.freed,
                headroom: self.headroom,
            });
        }
        self.granted += added;
        self.touched[cgroup] = true;
        self.grows.push(change);
        Ok(added)
    }

    /// Raises `cgroup` by `bytes` rounded down to a page, from its limit
    /// rounded down to a page. Returns the bytes added (at most `bytes`).
    pub fn grow_by(
        &mut self,
        cgroup: usize,
        bytes: u64,
        reason: Reason,
    ) -> Result<u64, SafetyViolation> {
        let old = self.limit_of(cgroup)?;
        let page = self.cfg.page();
        let new = safety::align_down(old, page).saturating_add(safety::align_down(bytes, page));
        self.grow_to(cgroup, safety::align_down(new, page), reason)
    }

    /// The finished plan. Source: `global` / `donors` / `mixed` / `none` from
    /// what the grants spent (freed memory is spent first). Outcome, with a
    /// target: `resolved` when it got at least `needed > 0` (counted from its
    /// limit rounded down to a page), `partial` when
    /// it got something less, `fallback_kill` when it got nothing; without
    /// a target (Tick): `resolved` when the grants reach `needed`, else `partial`.
    pub fn finish(self, target: Option<usize>, needed: u64) -> Plan {
        let from_donors = self.granted.min(self.freed);
        let from_global = self.granted - from_donors;
        let source = match (from_global > 0, from_donors > 0) {
            (true, true) => Source::Mixed,
            (true, false) => Source::Global,
            (false, true) => Source::Donors,
            (false, false) => Source::None,
        };
        let mut changes = self.shrinks;
        changes.extend(self.grows);
        // Counted in whole pages: from the old limit rounded down to a page.
        let page = self.cfg.page();
        let to_target: u64 = changes
            .iter()
            .filter(|c| Some(c.cgroup) == target)
            .filter_map(|c| {
                c.old
                    .map(|old| c.new.saturating_sub(safety::align_down(old, page)))
            })
            .sum();
        let outcome = match target {
            Some(_) if needed > 0 && to_target >= needed => Outcome::Resolved,
            Some(_) if to_target > 0 => Outcome::Partial,
            Some(_) => Outcome::FallbackKill,
            None if self.granted >= needed => Outcome::Resolved,
            None => Outcome::Partial,
        };
        Plan {
            target,
            needed,
            changes,
            from_global,
            from_donors,
            source,
            outcome,
        }
    }

    fn limit_of(&self, cgroup: usize) -> Result<u64, SafetyViolation> {
        let view = self
            .snap
            .cgroups
            .get(cgroup)
            .ok_or(SafetyViolation::UnknownCgroup {
                index: cgroup,
                len: self.snap.cgroups.len(),
            })?;
        view.limit.ok_or_else(|| SafetyViolation::Unlimited {
            cgroup: view.name.to_string(),
        })
    }

    fn prepare(&self, cgroup: usize, new: u64, reason: Reason) -> Result<Change, SafetyViolation> {
        let old = self.limit_of(cgroup)?;
        let view = &self.snap.cgroups[cgroup];
        if self.touched[cgroup] {
            return Err(SafetyViolation::DuplicateChange {
                cgroup: view.name.to_string(),
            });
        }
        if !view.name.is_within(&self.snap.global.name) {
            return Err(SafetyViolation::OutsideRoot {
                cgroup: view.name.to_string(),
                global: self.snap.global.name.to_string(),
            });
        }
        let change = Change {
            cgroup,
            old: Some(old),
            new,
            reason,
        };
        if view.name == self.snap.global.name && change.is_shrink() {
            return Err(SafetyViolation::GlobalLowered {
                cgroup: view.name.to_string(),
            });
        }
        safety::check_change(view, &change, self.cfg)?;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::safety::check_plan;
    use crate::policy::test_snapshots::*;

    fn case() -> Snapshot {
        snap(
            Some(1000 * MIB),
            880 * MIB, // headroom 20 MiB
            vec![
                cg("/apps/web", Some(100 * MIB), 100 * MIB, p1(50 * MIB, 0, 0)),
                cg(
                    "/apps/batch",
                    Some(300 * MIB),
                    100 * MIB,
                    p1(50 * MIB, 0, 200 * MIB),
                ),
                cg("/apps/free", None, 100 * MIB, None),
            ],
        )
    }

    #[test]
    fn refused_operations_change_nothing() {
        let s = case();
        let cfg = PolicyConfig::default();
        let mut b = PlanBuilder::new(&s, &cfg);
        assert_eq!(b.headroom(), 20 * MIB);
        // Over budget, below usage + guard, unlimited, unknown, not a shrink.
        assert!(matches!(
            b.grow_by(0, 21 * MIB, Reason::Grant),
            Err(SafetyViolation::OverBudget { .. })
        ));
        assert!(matches!(
            b.shrink_to(1, 114 * MIB, Reason::Donate),
            Err(SafetyViolation::BelowUsageGuard { .. })
        ));
        assert!(matches!(
            b.grow_by(2, MIB, Reason::Grant),
            Err(SafetyViolation::Unlimited { .. })
        ));
        assert!(matches!(
            b.grow_by(5, MIB, Reason::Grant),
            Err(SafetyViolation::UnknownCgroup { .. })
        ));
        assert!(matches!(
            b.shrink_to(1, 301 * MIB, Reason::Donate),
            Err(SafetyViolation::NoOp { .. })
        ));
        assert_eq!(b.available(), 20 * MIB);
        assert!(!b.is_touched(0) && !b.is_touched(1));
        // Shrinks free budget; a grow then spends freed memory first.
        assert_eq!(b.shrink_by(1, 30 * MIB, Reason::Donate), Ok(30 * MIB));
        assert_eq!(b.available(), 50 * MIB);
        assert!(matches!(
            b.shrink_by(1, MIB, Reason::Donate),
            Err(SafetyViolation::DuplicateChange { .. })
        ));
        assert_eq!(b.grow_by(0, 40 * MIB + 5, Reason::Grant), Ok(40 * MIB));
        assert_eq!(b.headroom_left(), 10 * MIB);
        assert!(matches!(
            b.shrink_by(1, MIB, Reason::Donate),
            Err(SafetyViolation::DuplicateChange { .. })
        ));
        let plan = b.finish(Some(0), 40 * MIB);
        assert_eq!(check_plan(&s, &plan, &cfg), Ok(()));
        assert_eq!((plan.from_donors, plan.from_global), (30 * MIB, 10 * MIB));
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Mixed, Outcome::Resolved)
        );
    }

    #[test]
    fn no_shrink_after_a_grow() {
        let s = case();
        let cfg = PolicyConfig::default();
        let mut b = PlanBuilder::new(&s, &cfg);
        b.grow_by(0, MIB, Reason::Grant).unwrap();
        assert!(matches!(
            b.shrink_by(1, MIB, Reason::Donate),
            Err(SafetyViolation::GrowBeforeShrink { .. })
        ));
        let plan = b.finish(Some(0), 2 * MIB);
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::Global, Outcome::Partial)
        );
    }

    #[test]
    fn tick_plans_resolve_when_every_raise_is_granted() {
        let s = case();
        let cfg = PolicyConfig::default();
        let b = PlanBuilder::new(&s, &cfg);
        let plan = b.finish(None, 0);
        assert_eq!(
            (plan.source, plan.outcome),
            (Source::None, Outcome::Resolved)
        );
        let mut b = PlanBuilder::new(&s, &cfg);
        b.grow_by(0, MIB, Reason::Recommend).unwrap();
        assert_eq!(b.finish(None, 2 * MIB).outcome, Outcome::Partial);
    }
}
