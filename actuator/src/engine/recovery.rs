//! Finishing a plan that was begun and not done (a crash between the
//! donors' shrinks and the target's grow, or a write error mid-plan).
//!
//! The rule keeps the sum of the managed limits at what it was before the
//! plan, never less: the limits are read live and
//! * `lost` = what the plan's shrunk cgroups lost (old − now, when lower),
//! * `gained` = what its grown cgroups gained (now − old, when higher).
//!
//! If `gained ≥ lost` there is nothing to do (the grows happened). Else
//! the plan is **completed**: the target is grown by `lost − gained`, what
//! the donors' limits actually lost, read now. Completing rather than
//! undoing is chosen because the target was under OOM when the plan was
//! made and most likely still is, while the donors were chosen because
//! they could spare it. The global-headroom part of the plan is not
//! re-granted (the headroom may be gone; the target's next OOM event asks
//! again). If the target is gone, unlimited, or refuses the write (or the
//! plan had no target: a Tick), the plan is **rolled back**: each shrunk
//! cgroup is raised back to its old limit (a raise never needs reclaim).
//! Ancestors a plan raised stay raised (that never lowers a sum).

use std::fmt;

use cgcal_core::cgroupfs::CgroupFs;
use cgcal_core::name::CgroupName;
use cgcal_core::policy::safety::align_down;

use super::handles::Handles;
use super::journal::Begin;

/// What recovery did about an unfinished plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The grows had happened: nothing written.
    NothingToDo,
    /// The target was grown by `added` bytes (what the donors lost).
    Completed {
        /// The target.
        target: CgroupName,
        /// Bytes added to it.
        added: u64,
    },
    /// The shrunk cgroups were raised back: `(cgroup, from, to)`.
    RolledBack {
        /// Each cgroup restored, its limit before and after.
        restored: Vec<(CgroupName, u64, u64)>,
    },
}

/// The result of [`recover`], printable for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The plan's sequence number in the journal.
    pub seq: u64,
    /// What was done.
    pub action: Action,
    /// Cgroups whose limits could not be restored (gone, refused).
    pub failed: Vec<String>,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unfinished plan {}: ", self.seq)?;
        match &self.action {
            Action::NothingToDo => f.write_str("its grows were made, nothing to do")?,
            Action::Completed { target, added } => {
                write!(f, "completed, {target} grown by {added} bytes")?
            }
            Action::RolledBack { restored } => {
                f.write_str("rolled back")?;
                for (name, from, to) in restored {
                    write!(f, ", {name} {from} -> {to}")?;
                }
            }
        }
        if !self.failed.is_empty() {
            write!(f, "; not restored: {}", self.failed.join(", "))?;
        }
        Ok(())
    }
}

/// Completes or rolls back `begin` against the live tree (see the module
/// documentation). `page` is the limit granularity.
pub fn recover(fs: &dyn CgroupFs, handles: &mut Handles, begin: &Begin, page: u64) -> Recovery {
    let mut failed = Vec::new();
    let mut live = |name: &str, failed: &mut Vec<String>| -> Option<(CgroupName, u64)> {
        let parsed = CgroupName::parse(name).ok()?;
        match handles.with(fs, &parsed, |cg| cg.limit()) {
            Ok(Some(l)) => Some((parsed, l)),
            Ok(None) => None,
            Err(e) => {
                failed.push(format!("{name} ({e})"));
                None
            }
        }
    };
    let mut shrunk = Vec::new();
    let (mut lost, mut gained) = (0u64, 0u64);
    for c in &begin.changes {
        let Some((name, now)) = live(&c.name, &mut failed) else {
            continue;
        };
        if c.new < c.old {
            if now < c.old {
                lost += c.old - now;
                shrunk.push((name, now, c.old));
            }
        } else {
            gained += now.saturating_sub(c.old);
        }
    }
    let action = if gained >= lost {
        Action::NothingToDo
    } else {
        let missing = align_down(lost - gained, page);
        let target = begin.target.as_deref().and_then(|t| live(t, &mut failed));
        let completed = target.and_then(|(target, now)| {
            let new = now.saturating_add(missing);
            match handles.with(fs, &target, |cg| {
                cg.set_limit(Some(new))?;
                cg.limit()
            }) {
                Ok(after) => Some(Action::Completed {
                    added: after.unwrap_or(new).saturating_sub(now),
                    target,
                }),
                Err(e) => {
                    failed.push(format!("{target} ({e})"));
                    None
                }
            }
        });
        completed.unwrap_or_else(|| {
            let mut restored = Vec::new();
            for (name, now, old) in shrunk {
                match handles.with(fs, &name, |cg| {
                    cg.set_limit(Some(old))?;
                    cg.limit()
                }) {
                    Ok(after) => restored.push((name, now, after.unwrap_or(old))),
                    Err(e) => failed.push(format!("{name} ({e})")),
                }
            }
            Action::RolledBack { restored }
        })
    };
    let r = Recovery {
        seq: begin.seq,
        action,
        failed,
    };
    tracing::warn!(recovery = %r, "unfinished plan handled");
    r
}
