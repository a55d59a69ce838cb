//! Carrying out a restore plan through [`CgroupFs`].
//!
//! Steps run in the plan's order (lowers, then raises). Before a lower the
//! cgroup's limit and usage are read again: if the usage grew so that the
//! original is now below usage + guard, the cgroup is skipped, never
//! forced; a v1 write answered EBUSY is skipped too. Every written limit
//! is re-read, and the re-read value is what the report shows. On every
//! cgroup that still exists (restored, unchanged or skipped: with cgact
//! stopped, nothing would clear these flags otherwise):
//! * v1: `oom_kill_disable` is set to 0 (cgact's rescue mode sets it);
//! * v2: `memory.high` is set back to `max` when it was below `memory.max`
//!   before the restore (cgact's rescue pairing keeps it a margin under; the journal does not
//!   record a cgroup's original `memory.high`, so a `memory.high` an
//!   operator set below `memory.max` is reset too).
//!
//! With `dry_run` nothing is written and each step reports what it would do.

use cgcal_core::cgroupfs::{Cgroup, CgroupFs, CgroupFsError};
use cgcal_core::policy::PolicyConfig;
use cgcal_core::trace::CgroupVersion;

use super::plan::{lowest_safe, Action, Limit, Live, Step};

/// How one cgroup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Its original limit was written (and re-read).
    Restored,
    /// `--dry-run`: its original limit would be written.
    WouldRestore,
    /// It was already at its original limit.
    Unchanged,
    /// Not written, for the reason given (unsafe lower, EBUSY, write error).
    Skipped,
    /// It no longer exists.
    Gone,
}

/// The outcome for one cgroup: a row of the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// The cgroup's name.
    pub cgroup: String,
    /// Its limit before (`None`: unlimited or gone).
    pub before: Option<u64>,
    /// The limit to restore.
    pub original: Option<u64>,
    /// Its limit after, as re-read (`None`: unlimited or gone).
    pub after: Option<u64>,
    /// How it ended.
    pub status: Status,
    /// Why it was skipped, or what else went wrong (flags not reset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Outcome {
    /// True when this cgroup keeps the restore from succeeding (exit 1).
    pub fn is_failure(&self) -> bool {
        self.status == Status::Skipped || self.reason.is_some()
    }
}

/// Carries out `steps` (see the module documentation).
pub fn apply(fs: &dyn CgroupFs, steps: &[Step], cfg: &PolicyConfig, dry_run: bool) -> Vec<Outcome> {
    steps
        .iter()
        .map(|step| {
            let mut out = Outcome {
                cgroup: step.name.to_string(),
                before: step.before,
                original: step.original,
                after: step.before,
                status: Status::Unchanged,
                reason: None,
            };
            match &step.action {
                Action::Gone => {
                    out.status = Status::Gone;
                    out.after = None;
                }
                Action::Skip(why) if dry_run => skip(&mut out, why.clone()),
                Action::Unchanged if dry_run => {}
                Action::Lower(_) | Action::Raise(_) if dry_run => out.status = Status::WouldRestore,
                action => {
                    let target = match action {
                        Action::Lower(l) => Some(Some(*l)),
                        Action::Raise(l) => Some(*l),
                        Action::Skip(why) => {
                            skip(&mut out, why.clone());
                            None
                        }
                        _ => None,
                    };
                    if let Err(e) = restore_one(fs, step, target, cfg, &mut out) {
                        if e.is_gone() {
                            out.status = Status::Gone;
                            out.after = None;
                        } else if out.status == Status::Skipped {
                            tracing::warn!(cgroup = %out.cgroup, error = %e, "flags not reset");
                        } else {
                            skip(&mut out, format!("cannot restore: {e}"));
                        }
                    }
                }
            }
            match out.status {
                Status::Restored => tracing::info!(cgroup = %out.cgroup, before = %Limit(out.before), after = %Limit(out.after), "limit restored"),
                Status::Skipped => tracing::warn!(cgroup = %out.cgroup, reason = out.reason.as_deref().unwrap_or(""), "not restored"),
                _ => {}
            }
            out
        })
        .collect()
}

fn skip(out: &mut Outcome, why: String) {
    out.status = Status::Skipped;
    out.reason = Some(why);
}

/// Writes `target` (if any, and if still safe) to one cgroup, re-reads
/// it, then resets the flags cgact may have left.
fn restore_one(
    fs: &dyn CgroupFs,
    step: &Step,
    target: Option<Option<u64>>,
    cfg: &PolicyConfig,
    out: &mut Outcome,
) -> Result<(), CgroupFsError> {
    let mut cg = fs.open(&step.name)?;
    // v2: whether memory.high sits under memory.max (cgact's pairing), read
    // before the limit moves.
    let high_under_max = match fs.version() {
        CgroupVersion::V2 => {
            let (high, max) = (cg.high()?, cg.limit()?);
            high.is_some_and(|h| max.is_none_or(|m| h < m))
        }
        _ => false,
    };
    if let Some(target) = target {
        let live = Live {
            limit: cg.limit()?,
            usage: cg.usage()?,
        };
        out.before = live.limit;
        out.after = live.limit;
        if let Some(want) = target.filter(|w| live.limit.is_none_or(|now| *w < now)) {
            let safe = lowest_safe(&step.name, live, cfg);
            if want < safe {
                skip(
                    out,
                    format!(
                        "usage {} above the original limit {want} (less the guard: needs at least {safe}): left at {}",
                        live.usage,
                        Limit(live.limit)
                    ),
                );
            }
        }
        if out.status != Status::Skipped {
            match cg.set_limit(target) {
                Ok(()) => {
                    out.after = cg.limit()?;
                    out.status = Status::Restored;
                }
                Err(e) if e.is_busy() => skip(
                    out,
                    format!(
                        "EBUSY: the kernel could not reclaim down to {}: left at {}",
                        Limit(target),
                        Limit(live.limit)
                    ),
                ),
                Err(e) => return Err(e),
            }
        }
    }
    if let Err(e) = reset_flags(fs.version(), cg.as_mut(), high_under_max) {
        if e.is_gone() {
            return Err(e);
        }
        out.reason = Some(format!("limit restored but flags not reset: {e}"));
    }
    Ok(())
}

/// v1: `oom_kill_disable = 0`; v2: `memory.high = max` when it was under
/// `memory.max` before the restore (`high_under_max`).
fn reset_flags(
    version: CgroupVersion,
    cg: &mut dyn Cgroup,
    high_under_max: bool,
) -> Result<(), CgroupFsError> {
    match version {
        CgroupVersion::V1 => cg.set_oom_kill_disable(false),
        CgroupVersion::V2 if high_under_max => cg.set_high(None),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use cgcal_core::cgroupfs::{FakeWrite, MemoryFs};
    use cgcal_core::name::CgroupName;

    use super::super::plan::{plan, Observed};
    use super::*;

    const MIB: u64 = 1 << 20;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    fn fake(version: CgroupVersion, cgroups: &[(&str, u64, Option<u64>)]) -> MemoryFs {
        let fs = MemoryFs::new(version, name("/r"));
        for (n, usage, limit) in cgroups {
            fs.insert(&name(n), *usage, *limit).unwrap();
        }
        fs
    }

    fn observe(fs: &MemoryFs, originals: &[(&str, Option<u64>)]) -> Vec<Observed> {
        originals
            .iter()
            .map(|(n, original)| Observed {
                name: name(n),
                original: *original,
                live: fs.state(&name(n)).map(|s| Live {
                    limit: s.limit,
                    usage: s.usage,
                }),
            })
            .collect()
    }

    #[test]
    fn lowers_are_written_before_raises_and_every_value_is_re_read() {
        let fs = fake(
            CgroupVersion::V1,
            &[
                ("/r/a", 8 * MIB, Some(64 * MIB)),
                ("/r/b", 8 * MIB, Some(16 * MIB)),
            ],
        );
        fs.update(&name("/r/b"), |s| s.oom_kill_disable = true)
            .unwrap();
        let obs = observe(
            &fs,
            &[
                ("/r/b", Some(48 * MIB)),
                ("/r/a", Some(32 * MIB)),
                ("/r/x", Some(MIB)),
            ],
        );
        let cfg = PolicyConfig::default();
        let out = apply(&fs, &plan(&obs, &cfg), &cfg, false);
        let limits: Vec<_> = fs
            .writes()
            .into_iter()
            .filter_map(|w| match w {
                FakeWrite::Limit { cgroup, value, .. } => Some((cgroup.to_string(), value)),
                _ => None,
            })
            .collect();
        assert_eq!(
            limits,
            vec![
                ("/r/a".to_string(), Some(32 * MIB)),
                ("/r/b".to_string(), Some(48 * MIB))
            ]
        );
        assert_eq!(out[0].status, Status::Restored);
        assert_eq!(
            (out[0].before, out[0].after),
            (Some(64 * MIB), Some(32 * MIB))
        );
        assert_eq!(out[2].status, Status::Gone);
        assert!(!fs.state(&name("/r/b")).unwrap().oom_kill_disable);
        assert!(out.iter().all(|o| !o.is_failure()), "{out:?}");
    }

    #[test]
    fn usage_grown_since_the_plan_skips_the_lower_and_dry_run_writes_nothing() {
        let fs = fake(CgroupVersion::V1, &[("/r/a", 8 * MIB, Some(64 * MIB))]);
        let cfg = PolicyConfig::default();
        let steps = plan(&observe(&fs, &[("/r/a", Some(16 * MIB))]), &cfg);
        fs.update(&name("/r/a"), |s| s.oom_kill_disable = true)
            .unwrap();
        let dry = apply(&fs, &steps, &cfg, true);
        assert_eq!(dry[0].status, Status::WouldRestore);
        assert!(fs.writes().is_empty());
        assert!(fs.state(&name("/r/a")).unwrap().oom_kill_disable);
        fs.set_usage(&name("/r/a"), 30 * MIB).unwrap();
        let out = apply(&fs, &steps, &cfg, false);
        assert_eq!(out[0].status, Status::Skipped);
        assert!(out[0].is_failure());
        assert!(
            out[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("left at 67108864"),
            "{out:?}"
        );
        let state = fs.state(&name("/r/a")).unwrap();
        assert_eq!(state.limit, Some(64 * MIB));
        assert!(
            !state.oom_kill_disable,
            "a skipped cgroup is not left frozen"
        );
    }

    #[test]
    fn v2_high_goes_back_to_max_when_cgact_had_lowered_it() {
        let fs = fake(
            CgroupVersion::V2,
            &[("/r/a", MIB, Some(64 * MIB)), ("/r/b", MIB, Some(8 * MIB))],
        );
        fs.update(&name("/r/a"), |s| s.high = Some(60 * MIB))
            .unwrap();
        let cfg = PolicyConfig::default();
        let steps = plan(
            &observe(&fs, &[("/r/a", Some(32 * MIB)), ("/r/b", Some(8 * MIB))]),
            &cfg,
        );
        let out = apply(&fs, &steps, &cfg, false);
        assert_eq!(out[0].status, Status::Restored);
        assert_eq!(out[1].status, Status::Unchanged);
        assert_eq!(fs.state(&name("/r/a")).unwrap().high, None);
        assert!(!fs
            .writes()
            .iter()
            .any(|w| matches!(w, FakeWrite::High { cgroup, .. } if *cgroup == name("/r/b"))));
    }
}
