//! The armed cgroups: a kept-open handle on every managed cgroup, its event
//! sources in the watcher, and the `oom_kill_disable` flags the daemon set
//! (restored to 0 when a cgroup stops being managed, at exit, and by
//! [`Armed`]'s drop on any other way out).

use std::collections::BTreeMap;
use std::time::Instant;

use cgcal_core::cgroupfs::Cgroup;
use cgcal_core::name::CgroupName;
use cgcal_core::trace::CgroupVersion;

use super::Daemon;
use crate::cli::DaemonMode;

/// PSI trigger of rescue and preempt modes on v2: 100 ms of stall within a
/// 1 s window (`some 100000 1000000`), else within 2 s.
pub const PSI_STALL_US: u64 = 100_000;
/// The PSI window.
pub const PSI_WINDOW_US: u64 = 1_000_000;
/// The window used when the kernel refuses [`PSI_WINDOW_US`]: from 6.4 a
/// trigger whose window is not a multiple of 2 s needs `CAP_SYS_RESOURCE`,
/// which the shipped unit does not grant.
pub const PSI_UNPRIVILEGED_WINDOW_US: u64 = 2_000_000;

/// One managed cgroup.
pub struct ArmedCgroup {
    /// Kept-open handle (reads by `pread`).
    pub handle: Box<dyn Cgroup>,
    /// The daemon wrote `oom_kill_disable=1` and has not restored it.
    pub kill_disabled: bool,
    /// The last v1 `oom_kill` counter read.
    pub oom_kills: u64,
    /// The v1 usage threshold registered (preempt mode).
    pub threshold: Option<u64>,
    /// v2 pressure events are ignored until then (after a decision that
    /// could give nothing, so a storm of `high` events is not a storm of
    /// decisions).
    pub quiet_until: Option<Instant>,
    /// A fallback kill was let through: the next kill is that one, not a
    /// new OOM to react to.
    pub expect_kill: bool,
}

impl ArmedCgroup {
    /// A handle with nothing armed yet.
    pub fn new(handle: Box<dyn Cgroup>) -> ArmedCgroup {
        ArmedCgroup {
            handle,
            kill_disabled: false,
            oom_kills: 0,
            threshold: None,
            quiet_until: None,
            expect_kill: false,
        }
    }

    /// Writes `oom_kill_disable=0` if the daemon set it; a cgroup that is
    /// gone needs nothing. Errors are logged with the cgroup's name.
    pub fn restore_oom_kill(&mut self) {
        if !self.kill_disabled {
            return;
        }
        match self.handle.set_oom_kill_disable(false) {
            Ok(()) => {
                self.kill_disabled = false;
                tracing::debug!(cgroup = %self.handle.name(), "oom_kill_disable restored to 0");
            }
            Err(e) if e.is_gone() => self.kill_disabled = false,
            Err(e) => tracing::error!(
                cgroup = %self.handle.name(),
                "cannot restore oom_kill_disable=0: {e}"
            ),
        }
    }
}

/// Every managed cgroup the daemon armed, by name.
#[derive(Default)]
pub struct Armed {
    cgroups: BTreeMap<CgroupName, ArmedCgroup>,
}

impl Armed {
    /// Number of armed cgroups.
    pub fn len(&self) -> usize {
        self.cgroups.len()
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.cgroups.is_empty()
    }

    /// Their names, sorted.
    pub fn names(&self) -> Vec<CgroupName> {
        self.cgroups.keys().cloned().collect()
    }

    /// The armed cgroup `name`.
    pub fn get_mut(&mut self, name: &CgroupName) -> Option<&mut ArmedCgroup> {
        self.cgroups.get_mut(name)
    }

    /// True when `name` is armed.
    pub fn contains(&self, name: &CgroupName) -> bool {
        self.cgroups.contains_key(name)
    }

    /// Adds (or replaces) a cgroup.
    pub fn insert(&mut self, cg: ArmedCgroup) {
        self.cgroups.insert(cg.handle.name().clone(), cg);
    }

    /// Takes a cgroup out (its flag untouched: the caller restores it or
    /// knows it is gone).
    pub fn take(&mut self, name: &CgroupName) -> Option<ArmedCgroup> {
        self.cgroups.remove(name)
    }

    /// Restores `oom_kill_disable=0` on every cgroup where the daemon set
    /// it; returns how many were restored.
    pub fn restore_all(&mut self) -> usize {
        let mut n = 0;
        for cg in self.cgroups.values_mut() {
            if cg.kill_disabled {
                cg.restore_oom_kill();
                n += usize::from(!cg.kill_disabled);
            }
        }
        n
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        self.restore_all();
    }
}

impl Daemon {
    /// Opens and arms `name` for the mode: its OOM notification (all modes;
    /// it fires at once when the cgroup is already under OOM), the baseline
    /// of its kill counter, and per mode `oom_kill_disable=1` (v1 rescue),
    /// `memory.high` under `memory.max` (v2 rescue) and a PSI trigger (v2
    /// rescue and preempt), a usage threshold (v1 preempt). Flags are not written
    /// here when `set_flags` is false (startup arms first and writes flags
    /// after the frozen cgroups are handled). A cgroup that vanished is
    /// skipped (false).
    pub(crate) fn arm(&mut self, name: &CgroupName, set_flags: bool) -> bool {
        let mut handle = match self.engine.fs().open(name) {
            Ok(h) => h,
            Err(e) if e.is_gone() => return false,
            Err(e) => {
                tracing::warn!(cgroup = %name, "cannot open the cgroup, not managed: {e}");
                return false;
            }
        };
        match self.watcher.watch_oom(self.engine.fs(), handle.as_mut()) {
            Ok(()) => {}
            Err(e) if e.is_gone() => return false,
            Err(e) => {
                tracing::warn!(cgroup = %name, "cannot watch OOM events, not managed: {e}");
                return false;
            }
        }
        let mut cg = ArmedCgroup::new(handle);
        if let Ok(state) = cg.handle.oom_state() {
            cg.oom_kills = state.oom_kill;
        }
        self.armed.insert(cg);
        if set_flags {
            self.arm_flags(name);
        }
        true
    }

    /// The mode's writes and extra sources for an armed cgroup (see
    /// [`Daemon::arm`]).
    pub(crate) fn arm_flags(&mut self, name: &CgroupName) {
        let s = self.settings;
        if s.disables_oom_kill() {
            self.disable_oom_kill(name);
        }
        let v2_watch = s.version == CgroupVersion::V2 && s.mode != DaemonMode::React && !s.once;
        if v2_watch {
            if s.mode == DaemonMode::Rescue && !s.dry_run {
                if let Err(e) = self.engine.arm_high(name) {
                    tracing::warn!(cgroup = %name, "cannot keep memory.high under memory.max: {e}");
                }
            }
            if let Some(cg) = self.armed.get_mut(name) {
                let mut armed = Err(None);
                for window in [PSI_WINDOW_US, PSI_UNPRIVILEGED_WINDOW_US] {
                    armed =
                        match self
                            .watcher
                            .watch_pressure(cg.handle.as_mut(), PSI_STALL_US, window)
                        {
                            Ok(()) => Ok(window),
                            Err(e) if e.is_gone() => break,
                            Err(e) => Err(Some(e)),
                        };
                    if armed.is_ok() {
                        break;
                    }
                }
                match armed {
                    Ok(window) => {
                        tracing::debug!(cgroup = %name, window_us = window, "PSI trigger armed")
                    }
                    Err(Some(e)) => {
                        tracing::debug!(cgroup = %name, "no PSI trigger (memory.events only): {e}")
                    }
                    Err(None) => {}
                }
            }
        }
        if s.mode == DaemonMode::Preempt && s.version == CgroupVersion::V1 && !s.once {
            self.arm_threshold(name);
        }
    }

    /// Writes `oom_kill_disable=1` on an armed cgroup and remembers it.
    pub(crate) fn disable_oom_kill(&mut self, name: &CgroupName) {
        let Some(cg) = self.armed.get_mut(name) else {
            return;
        };
        match cg.handle.set_oom_kill_disable(true) {
            Ok(()) => cg.kill_disabled = true,
            Err(e) if e.is_gone() => {}
            Err(e) => tracing::error!(cgroup = %name, "cannot set oom_kill_disable=1: {e}"),
        }
    }

    /// Stops managing `name`: its sources closed, its flag restored, its
    /// pending timers dropped. `gone`: the cgroup was removed (nothing to
    /// restore, no error).
    pub(crate) fn disarm(&mut self, name: &CgroupName, gone: bool) {
        self.watcher.unwatch(name);
        if let Some(mut cg) = self.armed.take(name) {
            if gone {
                cg.kill_disabled = false;
            }
            cg.restore_oom_kill();
        }
        self.rescues.forget(name);
        self.kill_checks.forget(name);
    }

    /// Re-lists the managed cgroups after a tree change: new ones are
    /// armed, ones no longer managed (removed, or no longer leaves) are
    /// disarmed.
    pub(crate) fn sync_tree(&mut self) {
        let managed = match self.engine.managed() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("cannot list the managed cgroups after a tree change: {e}");
                return;
            }
        };
        let now: std::collections::BTreeSet<&CgroupName> = managed.iter().collect();
        for name in self.armed.names() {
            if !now.contains(&name) {
                let gone = !self.engine.fs().exists(&name);
                tracing::info!(cgroup = %name, gone, "no longer managed");
                self.disarm(&name, gone);
            }
        }
        for name in &managed {
            if !self.armed.contains(name) && self.arm(name, true) {
                tracing::info!(cgroup = %name, "new managed cgroup armed");
            }
        }
    }
}
