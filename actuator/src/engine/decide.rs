//! The steps of one decision: snapshot, plan, check, journal, apply, audit.

use std::collections::BTreeMap;
use std::time::Instant;

use cgcal_core::audit::{self, AuditLine, Outcome, Source};
use cgcal_core::name::CgroupName;
use cgcal_core::policy::{check_plan, Change, OomKind, Plan, Reason, Snapshot, Trigger};

use super::apply::{self, Applied, Role, Settings};
use super::journal::{Begin, PlannedWrite};
use super::live_snapshot::{self, SnapshotSource};
use super::{recovery, Decision, Engine, EngineError};
use crate::cli::DaemonMode;

impl Engine {
    pub(super) fn handle_in_span(
        &mut self,
        cgroup: &CgroupName,
        kind: OomKind,
        woke: Instant,
    ) -> Result<Decision, EngineError> {
        self.adopt_listed();
        if !self.tree.is_managed(cgroup) {
            self.refresh()?;
            if !self.tree.is_managed(cgroup) {
                return Err(if self.fs.exists(cgroup) {
                    EngineError::NotManaged {
                        cgroup: cgroup.clone(),
                        root: self.fs.root().clone(),
                    }
                } else {
                    EngineError::Gone {
                        cgroup: cgroup.clone(),
                    }
                });
            }
        }
        let snap = self.snapshot()?;
        let Some(index) = snap.index_of(cgroup) else {
            return Err(EngineError::Gone {
                cgroup: cgroup.clone(),
            });
        };
        let trigger = Trigger::Oom {
            cgroup: index,
            usage_at_oom: snap.cgroups[index].usage,
            kind,
        };
        let plan = self.policy.decide(&snap, &trigger, &self.config.policy);
        self.execute(&snap, &plan, woke, cgroup)
    }

    pub(super) fn tick_in_span(&mut self, now: Instant) -> Result<Option<Decision>, EngineError> {
        self.adopt_listed();
        let snap = self.snapshot()?;
        self.policy.observe(&snap);
        if self.policy.tick_interval_ns().is_none() {
            return Ok(None);
        }
        let plan = self
            .policy
            .decide(&snap, &Trigger::Tick, &self.config.policy);
        if plan.is_empty() {
            return Ok(None);
        }
        let root = self.fs.root().clone();
        self.execute(&snap, &plan, now, &root).map(Some)
    }

    fn snapshot(&mut self) -> Result<Snapshot, EngineError> {
        let src = SnapshotSource {
            fs: self.fs.as_ref(),
            tree: &self.tree,
            stats: &self.stats,
            host_memory: self.host_memory,
        };
        live_snapshot::read_snapshot(&src, &mut self.handles, &mut self.originals)
    }

    /// Checks, journals, applies `plan` and appends its audit line.
    fn execute(
        &mut self,
        snap: &Snapshot,
        plan: &Plan,
        woke: Instant,
        about: &CgroupName,
    ) -> Result<Decision, EngineError> {
        let cfg = self.config.policy.clone();
        check_plan(snap, plan, &cfg).map_err(|source| EngineError::UnsafePlan {
            cgroup: about.clone(),
            algo: self.config.algo,
            source,
        })?;
        let (algo, mode) = (self.config.algo, self.config.mode.as_str());
        if self.config.dry_run || plan.is_empty() {
            let mut line = plan.audit_line(snap, algo, mode, elapsed_us(woke, Instant::now()));
            if self.config.dry_run {
                line.outcome = Outcome::DryRun;
            }
            let audit_error = self.write_audit(&line, None);
            return Ok(Decision {
                line,
                wrote: false,
                added_to_target: 0,
                audit_error,
            });
        }
        let begin = self.begin_record(snap, plan);
        if let Some(j) = &mut self.journal {
            let new_originals = self.originals.take_unsaved();
            // Protecting the cgroup comes first: a journal that cannot be
            // written (disk full) costs crash safety for this plan, not the plan.
            if let Err(e) = j.begin(&begin, &new_originals) {
                tracing::error!(
                    journal = %j.path().display(),
                    error = %e,
                    "cannot journal the plan; applying it without crash recovery"
                );
            }
        }
        let set = Settings {
            cfg: &cfg,
            pair_high: self.pair_high(),
        };
        let applied = match apply::apply(self.fs.as_ref(), &mut self.handles, snap, plan, set) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "plan stopped mid-way; finishing or rolling it back now");
                let r = recovery::recover(self.fs.as_ref(), &mut self.handles, &begin, cfg.page());
                if r.failed.is_empty() {
                    self.journal_done(begin.seq, None);
                }
                return Err(e);
            }
        };
        let line = applied_line(snap, plan, &applied, algo, self.config.mode, woke);
        let audit_error = self.write_audit(&line, Some(begin.seq));
        Ok(Decision {
            wrote: !applied.written.is_empty(),
            added_to_target: applied.added_to_target,
            line,
            audit_error,
        })
    }

    fn begin_record(&mut self, snap: &Snapshot, plan: &Plan) -> Begin {
        let seq = match &self.journal {
            Some(j) => j.next_seq(),
            None => self.next_seq,
        };
        self.next_seq = seq + 1;
        Begin {
            seq,
            target: plan.target.map(|t| snap.cgroups[t].name.to_string()),
            changes: plan
                .changes
                .iter()
                .map(|c| PlannedWrite {
                    name: snap.cgroups[c.cgroup].name.to_string(),
                    old: c.old.unwrap_or(0),
                    new: c.new,
                })
                .collect(),
        }
    }

    /// Appends `line` to the audit log; then records plan `seq` as done in
    /// the journal (with the line when the log failed). Returns the audit
    /// error, never fails.
    pub(super) fn write_audit(&mut self, line: &AuditLine, seq: Option<u64>) -> Option<String> {
        let error = self.audit.append(line).err().map(|e| e.to_string());
        let unlogged = error.as_ref().map(|_| line.to_json());
        match seq {
            Some(seq) => self.journal_done(seq, unlogged),
            None if unlogged.is_some() => self.journal_done(0, unlogged),
            None => {}
        }
        error
    }

    fn journal_done(&mut self, seq: u64, unlogged: Option<String>) {
        if let Some(j) = &mut self.journal {
            if let Err(e) = j.done(seq, unlogged) {
                tracing::error!(journal = %j.path().display(), seq, error = %e, "cannot record the end of the plan in the journal");
            }
        }
    }
}

/// Microseconds from `from` to `to`.
fn elapsed_us(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u64::MAX)
}

/// The audit line of what was really applied: the writes as re-read
/// (a donor written twice counts once, from its first before to its last
/// after), the source from what the grows spent (freed memory first), the
/// outcome `partial` when the grows got less than the plan's, and the
/// ancestors raised in `limits_before` / `limits_after`.
pub(super) fn applied_line(
    snap: &Snapshot,
    plan: &Plan,
    applied: &Applied,
    algo: &str,
    mode: DaemonMode,
    woke: Instant,
) -> AuditLine {
    let mut merged: BTreeMap<&CgroupName, (u64, u64, Role)> = BTreeMap::new();
    for w in &applied.written {
        merged
            .entry(&w.name)
            .and_modify(|e| e.1 = w.after)
            .or_insert((w.before, w.after, w.role));
    }
    let mut changes: Vec<Change> = Vec::new();
    let mut ancestors = Vec::new();
    for (name, (before, after, role)) in &merged {
        match (role, snap.index_of(name)) {
            (Role::Ancestor, _) | (_, None) => ancestors.push((*name, *before, *after)),
            (_, Some(i)) => changes.push(Change {
                cgroup: i,
                old: Some(*before),
                new: *after,
                reason: if role == &Role::Shrink {
                    Reason::Donate
                } else {
                    Reason::Grant
                },
            }),
        }
    }
    changes.sort_by_key(|c| !c.is_shrink());
    let from_donors = applied.granted.min(applied.freed);
    let from_global = applied.granted - from_donors;
    let short = match plan.target {
        Some(_) => applied.added_to_target < plan.added_to_target(),
        None => applied.granted < plan.granted(),
    };
    let effective = Plan {
        target: plan.target,
        needed: plan.needed,
        changes,
        from_global,
        from_donors,
        source: match (from_global > 0, from_donors > 0) {
            (true, true) => Source::Mixed,
            (true, false) => Source::Global,
            (false, true) => Source::Donors,
            (false, false) => Source::None,
        },
        outcome: if short {
            Outcome::Partial
        } else {
            plan.outcome
        },
    };
    let last = applied.last_write.unwrap_or_else(Instant::now);
    let mut line = effective.audit_line(snap, algo, mode.as_str(), elapsed_us(woke, last));
    for (name, before, after) in ancestors {
        line.limits_before.insert(name.to_string(), before);
        line.limits_after.insert(name.to_string(), after);
    }
    line
}

/// The audit line of a rescue given up: nothing added, the kernel kills.
pub(super) fn fallback_kill_line(
    cgroup: &CgroupName,
    limit: Option<u64>,
    algo: &str,
    mode: DaemonMode,
    woke: Instant,
) -> AuditLine {
    let limits: BTreeMap<String, u64> =
        limit.map(|l| (cgroup.to_string(), l)).into_iter().collect();
    AuditLine {
        time: audit::format_time_us(live_snapshot::now_ns()),
        oom_cgroup: cgroup.to_string(),
        added_memory: 0,
        adjusted_cgroups: Vec::new(),
        source: Source::None,
        outcome: Outcome::FallbackKill,
        algo: algo.to_string(),
        mode: mode.as_str().to_string(),
        latency_us: elapsed_us(woke, Instant::now()),
        limits_before: limits.clone(),
        limits_after: limits,
    }
}
