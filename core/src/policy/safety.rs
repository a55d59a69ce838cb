//! The safety rules (SPEC §6), in one place used by every algorithm (through
//! [`PlanBuilder`](super::builder::PlanBuilder)), by `cgsim` (which asserts
//! [`check_plan`] on every plan) and by `cgact`'s applier (which re-checks
//! each write with [`check_change`] against values read just before it).
//!
//! * `guard(L) = max(guard_min, ⌈guard_ratio·L⌉)`.
//! * `floor(c) = phase1.min`, 0 without Phase 1 figures. No limit is ever
//!   written below it, whether the write lowers or raises the limit.
//! * `lowest_safe_limit(d) = ⌈max(floor(d), U_d + guard(L_d))⌉` (page-aligned up):
//!   no shrink goes below it.
//! * `spare(d) = ⌊L_d⌋ − lowest_safe_limit(d)` (saturating; `⌊L_d⌋` page-aligned down).
//! * `headroom(g) = ⌊threshold·L_g − U_g⌋` (saturating, page-aligned down), with
//!   `L_g` the global limit, else host memory, else unbounded ([`UNBOUNDED_HEADROOM`]).
//! * A plan: every change names a known, limited managed cgroup below the
//!   global cgroup, at most once, with the snapshot's limit as `old`; writes a
//!   whole number of pages; lists every shrink before every grow; never lowers
//!   the global cgroup; grants in total at most what its shrinks free plus the headroom.

use super::config::PolicyConfig;
use super::plan::{Change, Plan};
use super::snapshot::{CgroupView, GlobalView, Snapshot};

/// The headroom used when the global cgroup has neither a limit nor a known
/// host memory (2^62 bytes: large, and far from overflowing when added to a limit).
pub const UNBOUNDED_HEADROOM: u64 = 1 << 62;

/// A rule a plan or a single write breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyViolation {
    /// A change names an index outside the snapshot.
    #[error("change names cgroup index {index}, the snapshot has {len} cgroups")]
    UnknownCgroup {
        /// The index named.
        index: usize,
        /// The snapshot's number of cgroups.
        len: usize,
    },
    /// Two changes name the same cgroup.
    #[error("cgroup {cgroup} is changed twice")]
    DuplicateChange {
        /// The cgroup.
        cgroup: String,
    },
    /// The change's `old` is not the cgroup's current limit.
    #[error("cgroup {cgroup}: change assumes limit {planned:?}, the limit is {actual:?}")]
    StaleLimit {
        /// The cgroup.
        cgroup: String,
        /// The change's `old`.
        planned: Option<u64>,
        /// The limit in the snapshot (or as read again).
        actual: Option<u64>,
    },
    /// The cgroup has no limit; policies leave unlimited cgroups alone.
    #[error("cgroup {cgroup} is unlimited and may not be given a limit")]
    Unlimited {
        /// The cgroup.
        cgroup: String,
    },
    /// The change writes the limit it already has.
    #[error("cgroup {cgroup}: change leaves the limit at {limit}")]
    NoOp {
        /// The cgroup.
        cgroup: String,
        /// The unchanged limit.
        limit: u64,
    },
    /// The new limit is not a whole number of pages.
    #[error("cgroup {cgroup}: new limit {new} is not a multiple of the page size {page}")]
    Unaligned {
        /// The cgroup.
        cgroup: String,
        /// The new limit.
        new: u64,
        /// The page size.
        page: u64,
    },
    /// The new limit is below the cgroup's Phase 1 minimum.
    #[error("cgroup {cgroup}: new limit {new} is below its floor {floor}")]
    BelowFloor {
        /// The cgroup.
        cgroup: String,
        /// The new limit.
        new: u64,
        /// Its Phase 1 minimum.
        floor: u64,
    },
    /// A shrink goes below the cgroup's usage plus its guard.
    #[error("cgroup {cgroup}: new limit {new} is below usage {usage} plus guard {guard}")]
    BelowUsageGuard {
        /// The cgroup.
        cgroup: String,
        /// The new limit.
        new: u64,
        /// Its usage.
        usage: u64,
        /// Its guard.
        guard: u64,
    },
    /// A shrink comes after a grow.
    #[error("cgroup {cgroup} is lowered after a grow: shrinks must come first")]
    GrowBeforeShrink {
        /// The late shrink's cgroup.
        cgroup: String,
    },
    /// The plan lowers the global cgroup.
    #[error("the global cgroup {cgroup} is lowered")]
    GlobalLowered {
        /// The global cgroup.
        cgroup: String,
    },
    /// The change names a cgroup outside the global cgroup.
    #[error("cgroup {cgroup} is not below the global cgroup {global}")]
    OutsideRoot {
        /// The cgroup.
        cgroup: String,
        /// The global cgroup.
        global: String,
    },
    /// The grows add more than the shrinks free plus the global headroom.
    #[error(
        "plan grants {granted} bytes, more than the {freed} freed plus the {headroom} of headroom"
    )]
    OverBudget {
        /// Sum of the grows.
        granted: u64,
        /// Sum of the shrinks.
        freed: u64,
        /// The global headroom.
        headroom: u64,
    },
    /// `from_global`/`from_donors` do not add up with the changes.
    #[error("plan books {from_global} from global and {from_donors} from donors, its changes grant {granted} and free {freed} with {headroom} of headroom")]
    Bookkeeping {
        /// The plan's `from_global`.
        from_global: u64,
        /// The plan's `from_donors`.
        from_donors: u64,
        /// Sum of the grows.
        granted: u64,
        /// Sum of the shrinks.
        freed: u64,
        /// The global headroom.
        headroom: u64,
    },
}

/// `x` rounded down to a multiple of `page` (`page` 0 counts as 1).
pub fn align_down(x: u64, page: u64) -> u64 {
    let page = page.max(1);
    x - x % page
}

/// `x` rounded up to a multiple of `page`, saturating at the largest multiple.
pub fn align_up(x: u64, page: u64) -> u64 {
    let page = page.max(1);
    match x % page {
        0 => x,
        r => x
            .checked_add(page - r)
            .unwrap_or(align_down(u64::MAX, page)),
    }
}

/// `ratio × x`, rounded up, saturating (a NaN or negative ratio gives 0).
/// A product within floating-point noise of a whole number is that number
/// (`0.05 × 300 MiB` is 15 MiB, not 15 MiB + 1).
pub fn scale_up(x: u64, ratio: f64) -> u64 {
    let v = x as f64 * ratio;
    // `as` saturates: NaN and negatives go to 0, overflow to u64::MAX.
    (if near_whole(v) { v.round() } else { v.ceil() }) as u64
}

/// `ratio × x`, rounded down, saturating; like [`scale_up`] for noise.
pub fn scale_down(x: u64, ratio: f64) -> u64 {
    let v = x as f64 * ratio;
    (if near_whole(v) { v.round() } else { v.floor() }) as u64
}

fn near_whole(v: f64) -> bool {
    (v - v.round()).abs() <= v.abs() * 1e-12
}

/// The guard kept above a donor's usage: `max(guard_min, ⌈guard_ratio·limit⌉)`.
pub fn guard(limit: u64, cfg: &PolicyConfig) -> u64 {
    cfg.guard_min.max(scale_up(limit, cfg.guard_ratio))
}

/// The cgroup's floor: its Phase 1 minimum, 0 without Phase 1 figures.
pub fn floor(view: &CgroupView) -> u64 {
    view.floor()
}

/// The lowest limit a shrink may write:
/// `max(floor, usage + guard(limit))`, page-aligned up. For an unlimited
/// cgroup the guard is `guard_min`.
pub fn lowest_safe_limit(view: &CgroupView, cfg: &PolicyConfig) -> u64 {
    let g = guard(view.limit.unwrap_or(0), cfg);
    align_up(view.floor().max(view.usage.saturating_add(g)), cfg.page())
}

/// What a donor can give: `⌊limit⌋ − lowest_safe_limit`, saturating, a whole
/// number of pages; 0 for an unlimited cgroup.
pub fn spare(view: &CgroupView, cfg: &PolicyConfig) -> u64 {
    match view.limit {
        None => 0,
        Some(l) => align_down(l, cfg.page()).saturating_sub(lowest_safe_limit(view, cfg)),
    }
}

/// The global headroom: `threshold·L_g − U_g`, saturating, page-aligned
/// down, at most [`UNBOUNDED_HEADROOM`] (which it is when `L_g` is unknown).
pub fn headroom(global: &GlobalView, cfg: &PolicyConfig) -> u64 {
    let h = match global.effective_limit() {
        None => UNBOUNDED_HEADROOM,
        Some(l) => {
            let budget = scale_down(l, cfg.threshold);
            budget.saturating_sub(global.usage).min(UNBOUNDED_HEADROOM)
        }
    };
    align_down(h, cfg.page())
}

/// Checks one write against the cgroup as it is now (`cgact` calls this
/// with values read just before the write): the cgroup is limited, `old` is
/// its limit, the new limit is page-aligned, changes something, is not
/// below the floor, and a shrink is not below usage + guard. Does not check
/// the budget or ordering (see [`check_plan`]).
pub fn check_change(
    view: &CgroupView,
    change: &Change,
    cfg: &PolicyConfig,
) -> Result<(), SafetyViolation> {
    let cgroup = || view.name.to_string();
    let Some(old) = view.limit else {
        return Err(SafetyViolation::Unlimited { cgroup: cgroup() });
    };
    if change.old != view.limit {
        return Err(SafetyViolation::StaleLimit {
            cgroup: cgroup(),
            planned: change.old,
            actual: view.limit,
        });
    }
    if change.new == old {
        return Err(SafetyViolation::NoOp {
            cgroup: cgroup(),
            limit: old,
        });
    }
    let page = cfg.page();
    if align_down(change.new, page) != change.new {
        return Err(SafetyViolation::Unaligned {
            cgroup: cgroup(),
            new: change.new,
            page,
        });
    }
    let floor = view.floor();
    if change.new < floor {
        return Err(SafetyViolation::BelowFloor {
            cgroup: cgroup(),
            new: change.new,
            floor,
        });
    }
    if change.new < old {
        let g = guard(old, cfg);
        if change.new < view.usage.saturating_add(g) {
            return Err(SafetyViolation::BelowUsageGuard {
                cgroup: cgroup(),
                new: change.new,
                usage: view.usage,
                guard: g,
            });
        }
    }
    Ok(())
}

/// Checks a whole plan against the snapshot it was made from: every rule of
/// this module's overview. `Ok` for every plan a policy of this crate returns.
pub fn check_plan(snap: &Snapshot, plan: &Plan, cfg: &PolicyConfig) -> Result<(), SafetyViolation> {
    let mut seen = vec![false; snap.cgroups.len()];
    let mut grown = false;
    let (mut granted, mut freed) = (0u64, 0u64);
    for change in &plan.changes {
        let view = snap
            .cgroups
            .get(change.cgroup)
            .ok_or(SafetyViolation::UnknownCgroup {
                index: change.cgroup,
                len: snap.cgroups.len(),
            })?;
        let cgroup = || view.name.to_string();
        if std::mem::replace(&mut seen[change.cgroup], true) {
            return Err(SafetyViolation::DuplicateChange { cgroup: cgroup() });
        }
        if view.name == snap.global.name && change.is_shrink() {
            return Err(SafetyViolation::GlobalLowered { cgroup: cgroup() });
        }
        if !view.name.is_within(&snap.global.name) {
            return Err(SafetyViolation::OutsideRoot {
                cgroup: cgroup(),
                global: snap.global.name.to_string(),
            });
        }
        check_change(view, change, cfg)?;
        if change.is_shrink() {
            if grown {
                return Err(SafetyViolation::GrowBeforeShrink { cgroup: cgroup() });
            }
            freed = freed.saturating_add(change.reduced());
        } else {
            grown = true;
            granted = granted.saturating_add(change.added());
        }
    }
    let headroom = headroom(&snap.global, cfg);
    if granted > freed.saturating_add(headroom) {
        return Err(SafetyViolation::OverBudget {
            granted,
            freed,
            headroom,
        });
    }
    let booked = plan.from_global.checked_add(plan.from_donors);
    if booked != Some(granted) || plan.from_global > headroom || plan.from_donors > freed {
        return Err(SafetyViolation::Bookkeeping {
            from_global: plan.from_global,
            from_donors: plan.from_donors,
            granted,
            freed,
            headroom,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Outcome, Source};
    use crate::policy::plan::Reason;
    use crate::policy::test_snapshots::*;

    fn cfg() -> PolicyConfig {
        PolicyConfig::default()
    }

    #[test]
    fn guard_floor_spare_headroom_by_hand() {
        let c = cfg();
        assert_eq!(guard(0, &c), 4 * MIB);
        assert_eq!(guard(80 * MIB, &c), 4 * MIB);
        assert_eq!(guard(300 * MIB, &c), 15 * MIB);
        assert_eq!(guard(1000 * MIB, &c), 50 * MIB);
        let d = cg("/apps/d", Some(300 * MIB), 100 * MIB, p1(50 * MIB, 0, 0));
        assert_eq!(floor(&d), 50 * MIB);
        assert_eq!(lowest_safe_limit(&d, &c), 115 * MIB);
        assert_eq!(spare(&d, &c), 185 * MIB);
        let high_floor = cg("/apps/d", Some(300 * MIB), 100 * MIB, p1(200 * MIB, 0, 0));
        assert_eq!(spare(&high_floor, &c), 100 * MIB);
        let over = cg("/apps/d", Some(300 * MIB), 299 * MIB, None);
        assert_eq!(spare(&over, &c), 0);
        assert_eq!(spare(&cg("/apps/d", None, 0, None), &c), 0);
        // Unaligned: limit rounded down, lowest safe limit rounded up.
        let odd = cg("/apps/d", Some(300 * MIB + 1), 100 * MIB + 1, None);
        assert_eq!(spare(&odd, &c), 185 * MIB - PAGE);
        let g = |limit, usage, host| GlobalView {
            name: name("/"),
            limit,
            usage,
            host_memory: host,
        };
        assert_eq!(
            headroom(&g(Some(1000 * MIB), 800 * MIB, None), &c),
            100 * MIB
        );
        assert_eq!(headroom(&g(Some(1000 * MIB), 950 * MIB, None), &c), 0);
        assert_eq!(
            headroom(&g(None, 800 * MIB, Some(1000 * MIB)), &c),
            100 * MIB
        );
        assert_eq!(headroom(&g(Some(1000 * MIB), 0, Some(10)), &c), 900 * MIB);
        assert_eq!(headroom(&g(None, 800 * MIB, None), &c), UNBOUNDED_HEADROOM);
        assert_eq!(
            headroom(&g(Some(u64::MAX), 0, None), &c),
            UNBOUNDED_HEADROOM
        );
        // ⌊0.9 × 1 GiB⌋ = 966367641.6 → aligned down to a page.
        assert_eq!(headroom(&g(Some(1024 * MIB), 0, None), &c), 966_365_184);
    }

    #[test]
    fn alignment_and_scaling() {
        assert_eq!(align_down(8191, 4096), 4096);
        assert_eq!(align_up(4097, 4096), 8192);
        assert_eq!(align_up(u64::MAX, 4096), u64::MAX - 4095);
        assert_eq!(align_up(5, 0), 5);
        assert_eq!(scale_up(314_572_800, 0.05), 15_728_640);
        assert_eq!(scale_up(10, 0.25), 3);
        assert_eq!(scale_down(10, 0.25), 2);
        assert_eq!(scale_up(10, f64::NAN), 0);
        assert_eq!(scale_up(10, -1.0), 0);
        assert_eq!(scale_up(u64::MAX, 2.0), u64::MAX);
    }

    /// web (target) and batch (donor) under /apps, 100 MiB of headroom.
    fn case() -> (Snapshot, Plan) {
        let s = snap(
            Some(1000 * MIB),
            800 * MIB,
            vec![
                cg("/apps/web", Some(100 * MIB), 100 * MIB, p1(50 * MIB, 0, 0)),
                cg(
                    "/apps/batch",
                    Some(300 * MIB),
                    100 * MIB,
                    p1(50 * MIB, 0, 200 * MIB),
                ),
            ],
        );
        let plan = Plan {
            target: Some(0),
            needed: 150 * MIB,
            changes: vec![
                Change {
                    cgroup: 1,
                    old: Some(300 * MIB),
                    new: 250 * MIB,
                    reason: Reason::Donate,
                },
                Change {
                    cgroup: 0,
                    old: Some(100 * MIB),
                    new: 250 * MIB,
                    reason: Reason::Grant,
                },
            ],
            from_global: 100 * MIB,
            from_donors: 50 * MIB,
            source: Source::Mixed,
            outcome: Outcome::Resolved,
        };
        (s, plan)
    }

    fn violation(f: impl FnOnce(&mut Snapshot, &mut Plan)) -> SafetyViolation {
        let (mut s, mut plan) = case();
        f(&mut s, &mut plan);
        check_plan(&s, &plan, &cfg()).unwrap_err()
    }

    #[test]
    fn check_plan_accepts_a_safe_plan() {
        let (s, plan) = case();
        assert_eq!(check_plan(&s, &plan, &cfg()), Ok(()));
    }

    #[test]
    fn check_plan_names_every_broken_rule() {
        use SafetyViolation as V;
        assert!(matches!(
            violation(|_, p| p.changes[0].cgroup = 9),
            V::UnknownCgroup { index: 9, len: 2 }
        ));
        assert!(matches!(
            violation(|_, p| p.changes[1] = Change {
                cgroup: 1,
                ..p.changes[1]
            }),
            V::DuplicateChange { .. } | V::StaleLimit { .. }
        ));
        assert!(matches!(
            violation(|_, p| {
                let again = p.changes[0];
                p.changes.insert(1, again);
            }),
            V::DuplicateChange { .. }
        ));
        assert!(matches!(
            violation(|_, p| p.changes[0].old = Some(299 * MIB)),
            V::StaleLimit { .. }
        ));
        assert!(matches!(
            violation(|s, _| s.cgroups[1].limit = None),
            V::Unlimited { .. }
        ));
        assert!(matches!(
            violation(|_, p| p.changes[0].new = 300 * MIB),
            V::NoOp { .. }
        ));
        assert!(matches!(
            violation(|_, p| p.changes[0].new = 250 * MIB + 1),
            V::Unaligned { .. }
        ));
        assert!(matches!(
            violation(|s, _| s.cgroups[1].phase1 = p1(260 * MIB, 0, 0)),
            V::BelowFloor { floor, .. } if floor == 260 * MIB
        ));
        // A raise that stays below the floor is refused too.
        assert!(matches!(
            violation(|s, _| s.cgroups[0].phase1 = p1(260 * MIB, 0, 0)),
            V::BelowFloor { .. }
        ));
        // usage 240 MiB + guard 15 MiB > 250 MiB.
        assert!(matches!(
            violation(|s, _| s.cgroups[1].usage = 240 * MIB),
            V::BelowUsageGuard { guard, .. } if guard == 15 * MIB
        ));
        assert!(matches!(
            violation(|_, p| p.changes.swap(0, 1)),
            V::GrowBeforeShrink { .. }
        ));
        assert!(matches!(
            violation(|s, _| s.global.name = name("/apps/batch")),
            V::GlobalLowered { .. }
        ));
        assert!(matches!(
            violation(|s, _| s.global.name = name("/other")),
            V::OutsideRoot { .. }
        ));
        assert!(matches!(
            violation(|s, _| s.global.usage = 860 * MIB),
            V::OverBudget { .. }
        ));
        assert!(matches!(
            violation(|_, p| (p.from_global, p.from_donors) = (50 * MIB, 100 * MIB)),
            V::Bookkeeping { .. }
        ));
        assert!(matches!(
            violation(|_, p| p.from_global = 0),
            V::Bookkeeping { .. }
        ));
    }

    #[test]
    fn check_change_rechecks_a_write_against_fresh_values() {
        let (s, plan) = case();
        let mut donor = s.cgroups[1].clone();
        assert_eq!(check_change(&donor, &plan.changes[0], &cfg()), Ok(()));
        donor.usage = 236 * MIB; // grew since the snapshot
        assert!(matches!(
            check_change(&donor, &plan.changes[0], &cfg()),
            Err(SafetyViolation::BelowUsageGuard { .. })
        ));
        donor.limit = Some(280 * MIB); // changed by someone else
        assert!(matches!(
            check_change(&donor, &plan.changes[0], &cfg()),
            Err(SafetyViolation::StaleLimit { .. })
        ));
    }
}
