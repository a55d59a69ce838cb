//! Applying a checked plan to the live tree (SPEC §6 "Safety", issue 5
//! point 3). The plan was made from a snapshot; by the time each write
//! happens the tree may have moved, so every write is re-decided against
//! values read just before it:
//!
//! 1. **Donors first**, in the plan's order. Each donor's limit and usage
//!    are re-read right before its write and the new limit is raised to
//!    `lowest_safe_limit` (`max(floor, usage + guard)`, page-aligned) if its
//!    usage grew; `check_change` from core re-checks the write. A v1 donor
//!    that answers EBUSY (the kernel could not reclaim down to the limit)
//!    keeps its old limit and is skipped, as is one that vanished.
//! 2. **Shortfall**: when the donors freed less than the plan booked from
//!    donors, the donors that did accept give more, each down to its
//!    (re-read) lowest safe limit, in plan order, until the shortfall is
//!    covered or none has more to give. Only the policy's own donors are
//!    asked, so its choice of donors (e.g. below the median) is kept.
//! 3. **Grows**, in the plan's order, by at most the budget: what the donors
//!    really freed (re-read), up to what the plan booked from donors, plus
//!    what the plan booked from the global headroom. Never more.
//! 4. **Ancestors**: before a grow, each limited ancestor strictly between
//!    the root and the grown cgroup (outermost first) whose free room
//!    (`limit − usage`) is smaller than the room the grow gives the cgroup
//!    (`new limit − usage`) is raised by the difference, but by no more than
//!    the part of the grant that comes from outside that ancestor (the
//!    grant minus what donors inside it freed): memory moved between
//!    siblings under one ancestor does not raise it. The root is never
//!    written.
//! 5. Every written value is **re-read**, and the re-read value is what the
//!    audit line's `limits_after` and the budget use.
//! 6. With `pair_high` (v2, `--mode rescue`) every write of a managed
//!    cgroup's `memory.max` is followed by `memory.high = max − margin`
//!    ([`high_for`]), so the cgroup is throttled (and the daemon told) just
//!    before the kernel would kill.
//!
//! A write error other than EBUSY or "gone" stops the plan and is returned:
//! the journal's `begin` record then has no `done`, and the engine finishes
//! or rolls the plan back (see [`super::journal`]).

use std::time::Instant;

use cgcal_core::cgroupfs::{CgroupFs, CgroupFsError};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::safety::{align_down, align_up, lowest_safe_limit, scale_up};
use cgcal_core::policy::{check_change, CgroupView, Change, Plan, PolicyConfig, Reason, Snapshot};

use super::handles::Handles;
use super::EngineError;

/// What a write was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A donor (or a Tick's recommended shrink) lowered.
    Shrink,
    /// The target (or a Tick's recommended raise) grown.
    Grow,
    /// An ancestor of a grown cgroup raised.
    Ancestor,
}

/// One limit written, with the value re-read after the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The cgroup.
    pub name: CgroupName,
    /// Its limit read just before the write.
    pub before: u64,
    /// Its limit re-read just after the write.
    pub after: u64,
    /// Why it was written.
    pub role: Role,
}

/// A planned write that was not made, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The cgroup.
    pub name: CgroupName,
    /// Why (`EBUSY`, `gone`, `usage grew`...).
    pub why: String,
}

/// The result of applying a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Every limit written, in order.
    pub written: Vec<Written>,
    /// Planned writes not made.
    pub skipped: Vec<Skipped>,
    /// Bytes the shrinks freed (re-read).
    pub freed: u64,
    /// Bytes the grows added (re-read; ancestors not counted).
    pub granted: u64,
    /// Bytes added to the plan's target (re-read).
    pub added_to_target: u64,
    /// When the last limit was written.
    pub last_write: Option<Instant>,
}

/// How to apply.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// The policy tunables (guard, page).
    pub cfg: &'a PolicyConfig,
    /// Pair `memory.high` with every `memory.max` written (v2 rescue).
    pub pair_high: bool,
}

/// `memory.high` kept under a `memory.max` of `max`: `max − margin`, the
/// margin `max(one page, 5% of max)` rounded up to a page; 0 for a max
/// within the margin. 5%: the kernel throttles a task above `memory.high`
/// harder the further it is over, and barely under ~1% (in a v2 VM a
/// hog crossed a 2% margin in tens of ms, as long as a decision takes under
/// emulation, and took ~0.6 s to cross 5%), so the daemon gets time to act.
pub fn high_for(max: u64, page: u64) -> u64 {
    let margin = align_up(page.max(scale_up(max, 0.05)), page);
    align_down(max.saturating_sub(margin), page)
}

/// Applies `plan` (checked against `snap`) to the tree. See the module
/// documentation for the rules.
pub fn apply(
    fs: &dyn CgroupFs,
    handles: &mut Handles,
    snap: &Snapshot,
    plan: &Plan,
    set: Settings<'_>,
) -> Result<Applied, EngineError> {
    let mut out = Applied::default();
    let mut w = Writer { fs, handles, set };
    let page = set.cfg.page();
    let mut donors = Vec::new();
    for c in plan.changes.iter().filter(|c| c.is_shrink()) {
        let view = &snap.cgroups[c.cgroup];
        let new = c.new;
        if w.shrink(view, |_| new, &mut out)? && c.reason == Reason::Donate {
            donors.push(view);
        }
    }
    let mut shortfall = plan.from_donors.saturating_sub(out.freed);
    for view in donors {
        if shortfall == 0 {
            break;
        }
        let before = out.freed;
        let take = align_up(shortfall, page);
        w.shrink(view, |limit| limit.saturating_sub(take), &mut out)?;
        shortfall = shortfall.saturating_sub(out.freed - before);
    }
    let mut budget = plan
        .from_global
        .saturating_add(out.freed.min(plan.from_donors));
    for c in plan.changes.iter().filter(|c| !c.is_shrink()) {
        let view = &snap.cgroups[c.cgroup];
        let give = align_down(c.added().min(budget), page);
        let got = w.grow(view, give, &mut out)?;
        budget -= got.min(budget);
        out.granted += got;
        if Some(c.cgroup) == plan.target {
            out.added_to_target += got;
        }
    }
    Ok(out)
}

struct Writer<'a, 'h> {
    fs: &'a dyn CgroupFs,
    handles: &'h mut Handles,
    set: Settings<'a>,
}

impl Writer<'_, '_> {
    fn skip(&self, out: &mut Applied, name: &CgroupName, why: impl Into<String>) {
        let why = why.into();
        tracing::warn!(cgroup = %name, why = %why, "write skipped");
        out.skipped.push(Skipped {
            name: name.clone(),
            why,
        });
    }

    /// Reads `(limit, usage)` of `name`; `Ok(None)` (after recording a skip)
    /// when it is gone or unreadable.
    fn read(
        &mut self,
        name: &CgroupName,
        out: &mut Applied,
    ) -> Result<Option<(Option<u64>, u64)>, EngineError> {
        match self
            .handles
            .with(self.fs, name, |cg| Ok((cg.limit()?, cg.usage()?)))
        {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                self.skip(out, name, format!("cannot read: {e}"));
                Ok(None)
            }
        }
    }

    /// Writes `limit` to `name` and re-reads it. `Ok(None)` (after a skip)
    /// for EBUSY or a vanished cgroup; other errors stop the plan.
    fn write(
        &mut self,
        name: &CgroupName,
        limit: u64,
        out: &mut Applied,
    ) -> Result<Option<u64>, EngineError> {
        let pair = self.set.pair_high;
        let page = self.set.cfg.page();
        let result = self.handles.with(self.fs, name, |cg| {
            cg.set_limit(Some(limit))?;
            let after = cg.limit()?.unwrap_or(limit);
            if pair {
                if let Err(e) = cg.set_high(Some(high_for(after, page))) {
                    tracing::warn!(cgroup = %name, error = %e, "cannot pair memory.high with memory.max");
                }
            }
            Ok(after)
        });
        match result {
            Ok(after) => {
                out.last_write = Some(Instant::now());
                Ok(Some(after))
            }
            Err(EngineError::Fs {
                source: CgroupFsError::Busy { .. },
                ..
            }) => {
                out.last_write = Some(Instant::now());
                self.skip(
                    out,
                    name,
                    "EBUSY: the kernel could not reclaim down to the new limit",
                );
                Ok(None)
            }
            Err(EngineError::Gone { .. }) => {
                self.skip(out, name, "gone");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Lowers `view`'s limit towards `planned(limit now)`, never below its
    /// lowest safe limit for the usage read now. True when written.
    fn shrink(
        &mut self,
        view: &CgroupView,
        planned: impl Fn(u64) -> u64,
        out: &mut Applied,
    ) -> Result<bool, EngineError> {
        let name = &view.name;
        let Some((limit, usage)) = self.read(name, out)? else {
            return Ok(false);
        };
        let Some(limit) = limit else {
            self.skip(out, name, "unlimited now");
            return Ok(false);
        };
        let now = CgroupView {
            limit: Some(limit),
            usage,
            ..view.clone()
        };
        // The guard is that of the larger of the limit now and the limit the
        // plan saw, so a donor shrunk twice in one plan keeps its first guard.
        let guarded = CgroupView {
            limit: now.limit.max(view.limit),
            ..now.clone()
        };
        let new = planned(limit).max(lowest_safe_limit(&guarded, self.set.cfg));
        if new >= limit {
            self.skip(
                out,
                name,
                format!("usage {usage} leaves nothing to give below limit {limit}"),
            );
            return Ok(false);
        }
        let change = Change {
            cgroup: 0,
            old: Some(limit),
            new,
            reason: Reason::Donate,
        };
        if let Err(v) = check_change(&now, &change, self.set.cfg) {
            self.skip(out, name, format!("unsafe: {v}"));
            return Ok(false);
        }
        let Some(after) = self.write(name, new, out)? else {
            return Ok(false);
        };
        out.freed += limit.saturating_sub(after);
        out.written.push(Written {
            name: name.clone(),
            before: limit,
            after,
            role: Role::Shrink,
        });
        Ok(true)
    }

    /// Raises `view`'s limit by `give` (its ancestors first, if they cap
    /// it). Returns the bytes really added.
    fn grow(
        &mut self,
        view: &CgroupView,
        give: u64,
        out: &mut Applied,
    ) -> Result<u64, EngineError> {
        let name = &view.name;
        if give == 0 {
            self.skip(out, name, "no budget left for this raise");
            return Ok(0);
        }
        let Some((limit, usage)) = self.read(name, out)? else {
            return Ok(0);
        };
        let Some(limit) = limit else {
            self.skip(out, name, "unlimited now");
            return Ok(0);
        };
        let new = align_down(limit, self.set.cfg.page()).saturating_add(give);
        if new < view.floor() {
            self.skip(
                out,
                name,
                format!("a raise to {new} stays below the floor {}", view.floor()),
            );
            return Ok(0);
        }
        self.raise_ancestors(name, new.saturating_sub(usage), give, out)?;
        let Some(after) = self.write(name, new, out)? else {
            return Ok(0);
        };
        out.written.push(Written {
            name: name.clone(),
            before: limit,
            after,
            role: Role::Grow,
        });
        Ok(after.saturating_sub(limit))
    }

    /// Raises the limited ancestors of `name` strictly inside the root,
    /// outermost first, whose free room is less than `room` (see the module
    /// documentation).
    fn raise_ancestors(
        &mut self,
        name: &CgroupName,
        room: u64,
        give: u64,
        out: &mut Applied,
    ) -> Result<(), EngineError> {
        let root = self.fs.root().clone();
        let page = self.set.cfg.page();
        let mut ancestors = Vec::new();
        let mut up = name.parent();
        while let Some(a) = up {
            if a == root || !a.is_within(&root) {
                break;
            }
            up = a.parent();
            ancestors.push(a);
        }
        for a in ancestors.into_iter().rev() {
            let Some((Some(limit), usage)) = self.read(&a, out)? else {
                continue;
            };
            let free = limit.saturating_sub(usage);
            let needed = align_up(room.saturating_sub(free), page);
            let freed_inside: u64 = out
                .written
                .iter()
                .filter(|w| w.role == Role::Shrink && w.name.is_within(&a))
                .map(|w| w.before.saturating_sub(w.after))
                .sum();
            let raise = needed.min(give.saturating_sub(freed_inside));
            if raise == 0 {
                continue;
            }
            let new = limit.saturating_add(raise);
            if let Some(after) = self.write(&a, new, out)? {
                tracing::info!(ancestor = %a, before = limit, after, "ancestor raised");
                out.written.push(Written {
                    name: a,
                    before: limit,
                    after,
                    role: Role::Ancestor,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_sits_a_margin_under_max() {
        let mib = 1 << 20;
        assert_eq!(
            high_for(100 * mib, 4096),
            100 * mib - align_up(5 * mib, 4096)
        );
        assert_eq!(high_for(4096 * 10, 4096), 4096 * 9);
        assert_eq!(high_for(4096, 4096), 0);
        assert_eq!(high_for(0, 4096), 0);
        for max in [mib, 64 * mib, 3 * mib + 4096] {
            let h = high_for(max, 4096);
            assert!(h < max && h.is_multiple_of(4096));
        }
    }
}
