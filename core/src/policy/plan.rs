//! What a policy returns: a plan of limit changes, shrinks first.

use std::collections::BTreeMap;

use crate::audit::{self, Adjusted, AuditLine, Outcome, Source};

use super::snapshot::Snapshot;

/// Why a limit changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The trigger's cgroup is raised to survive its OOM.
    Grant,
    /// A donor is lowered to fund a grant.
    Donate,
    /// A periodic recommendation (Tick) raises or lowers the limit.
    Recommend,
}

/// One limit write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Index of the cgroup in [`Snapshot::cgroups`].
    pub cgroup: usize,
    /// Its limit in the snapshot (never `None`: unlimited cgroups are not changed).
    pub old: Option<u64>,
    /// The limit to write, in bytes, a whole number of pages.
    pub new: u64,
    /// Why.
    pub reason: Reason,
}

impl Change {
    /// True when the change lowers the limit.
    pub fn is_shrink(&self) -> bool {
        self.old.is_some_and(|old| self.new < old)
    }

    /// Bytes added to the limit (0 for a shrink).
    pub fn added(&self) -> u64 {
        self.old.map_or(0, |old| self.new.saturating_sub(old))
    }

    /// Bytes taken from the limit (0 for a grow).
    pub fn reduced(&self) -> u64 {
        self.old.map_or(0, |old| old.saturating_sub(self.new))
    }
}

/// A policy's decision. Built through
/// [`PlanBuilder`](super::builder::PlanBuilder), it satisfies
/// [`check_plan`](super::safety::check_plan) against the snapshot it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The cgroup the trigger named (`None` for a Tick).
    pub target: Option<usize>,
    /// Bytes the target needed (for a Tick: the sum of the raises wanted).
    pub needed: u64,
    /// The limit writes, every shrink before every grow, at most one per cgroup.
    pub changes: Vec<Change>,
    /// Bytes granted out of the global headroom.
    pub from_global: u64,
    /// Bytes granted out of what donors freed.
    pub from_donors: u64,
    /// Where the granted memory came from.
    pub source: Source,
    /// How the decision ended (`DryRun` is never produced by a policy).
    pub outcome: Outcome,
}

impl Plan {
    /// A plan that changes nothing.
    pub fn nothing(target: Option<usize>, needed: u64, outcome: Outcome) -> Plan {
        Plan {
            target,
            needed,
            changes: Vec::new(),
            from_global: 0,
            from_donors: 0,
            source: Source::None,
            outcome,
        }
    }

    /// True when the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Total bytes added over all grows.
    pub fn granted(&self) -> u64 {
        self.changes.iter().map(Change::added).sum()
    }

    /// Total bytes taken over all shrinks.
    pub fn reclaimed(&self) -> u64 {
        self.changes.iter().map(Change::reduced).sum()
    }

    /// Bytes added to the target's limit (the audit's `added_memory`).
    pub fn added_to_target(&self) -> u64 {
        self.changes
            .iter()
            .filter(|c| Some(c.cgroup) == self.target)
            .map(Change::added)
            .sum()
    }

    /// The audit line of this plan (SPEC §6), timed at the snapshot's
    /// instant. `oom_cgroup` is the target's name, or the global cgroup's
    /// name for a Tick plan; `added_memory` what the target got (for a Tick:
    /// the sum of all raises); `adjusted_cgroups` lists every lowered cgroup.
    /// The caller sets `outcome` to `DryRun` when nothing was written.
    pub fn audit_line(
        &self,
        snap: &Snapshot,
        algo: &str,
        mode: &str,
        latency_us: u64,
    ) -> AuditLine {
        let name = |i: usize| {
            snap.cgroups
                .get(i)
                .map_or_else(String::new, |c| c.name.to_string())
        };
        let oom_cgroup = match self.target {
            Some(t) => name(t),
            None => snap.global.name.to_string(),
        };
        let mut limits_before = BTreeMap::new();
        let mut limits_after = BTreeMap::new();
        for c in &self.changes {
            if let Some(old) = c.old {
                limits_before.insert(name(c.cgroup), old);
            }
            limits_after.insert(name(c.cgroup), c.new);
        }
        AuditLine {
            time: audit::format_time_us(snap.time_ns),
            oom_cgroup,
            added_memory: match self.target {
                Some(_) => self.added_to_target(),
                None => self.granted(),
            },
            adjusted_cgroups: self
                .changes
                .iter()
                .filter(|c| c.is_shrink())
                .map(|c| Adjusted {
                    name: name(c.cgroup),
                    reduced_memory: c.reduced(),
                })
                .collect(),
            source: self.source,
            outcome: self.outcome,
            algo: algo.to_string(),
            mode: mode.to_string(),
            latency_us,
            limits_before,
            limits_after,
        }
    }
}
