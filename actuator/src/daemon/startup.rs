//! Starting the daemon, in the order SPEC §6 asks for: the instance lock
//! first, then the engine and the journal's recovery, then every managed
//! cgroup armed and, before any wait, the cgroups already under OOM
//! handled; only then the mode's flags (`oom_kill_disable=1`, `memory.high`,
//! thresholds) on the others. If the engine cannot start, frozen tasks are
//! released to the kernel before the error is returned
//! ([`super::last_resort`]); a failed journal recovery is logged and the
//! start goes on (frozen tasks wait for it).

use std::time::{Duration, Instant};

use anyhow::Context;
use cgcal_core::cgroupfs::CgroupFs;
use cgcal_core::name::CgroupName;
use cgcal_core::policy::OomKind;
use cgcal_core::trace::CgroupVersion;
use cgcal_core::watch::{WatchEvent, Watcher};

use super::armed::Armed;
use super::last_resort;
use super::react::{KillChecks, V1Oom};
use super::rescue::RescueBook;
use super::signals::HANDLED;
use super::{Daemon, Settings, SignalHandling};
use crate::cli::DaemonConfig;
use crate::engine::{Engine, InstanceLock};

impl Daemon {
    /// Takes the instance lock (a second instance on the same root fails
    /// here, the error naming the lock file and the holder's pid), builds
    /// the engine (stats, policy, audit log, journal), finishes or rolls
    /// back what a crashed instance left in the journal, arms every managed
    /// cgroup, handles those already under OOM, then sets the mode's flags.
    /// With `--once`, only the cgroups under OOM stay armed.
    pub fn start(
        fs: Box<dyn CgroupFs>,
        config: &DaemonConfig,
        signals: SignalHandling,
    ) -> anyhow::Result<Daemon> {
        let lock = InstanceLock::acquire(&config.lock_file)?;
        let version = fs.version();
        let root = fs.root().clone();
        let frozen = match config.dry_run {
            true => Vec::new(),
            false => last_resort::frozen_cgroups(fs.as_ref()),
        };
        let mut engine = match Engine::new(fs, config) {
            Ok(e) => e,
            Err(e) => {
                last_resort::release(frozen);
                return Err(e);
            }
        };
        drop(frozen);
        match engine.recover() {
            Ok(Some(recovery)) => tracing::warn!("journal recovery: {recovery}"),
            Ok(None) => {}
            // Frozen tasks wait for this start: go on without the journal's
            // half-done adjustment rather than stay down.
            Err(e) => tracing::error!("journal recovery failed, starting anyway: {e:#}"),
        }
        let mut watcher = Watcher::new().context("cannot set up the event loop")?;
        if signals == SignalHandling::Process {
            watcher
                .watch_signals(&HANDLED)
                .context("cannot set up signal handling")?;
        }
        if !config.once {
            if let Err(e) = watcher.watch_tree(engine.fs()) {
                tracing::warn!(cgroup = %root, "new cgroups will not be picked up: {e}");
            }
        }
        let next_tick = engine.tick_interval().map(|i| Instant::now() + i);
        let mut d = Daemon {
            engine,
            watcher,
            armed: Armed::default(),
            rescues: RescueBook::default(),
            kill_checks: KillChecks::default(),
            settings: Settings {
                mode: config.mode,
                deadline: config.deadline,
                dry_run: config.dry_run,
                once: config.once,
                version,
            },
            next_tick,
            stop: Default::default(),
            backlog: Vec::new(),
            failure: None,
            metrics: None,
            _lock: lock,
        };
        let managed = d
            .engine
            .managed()
            .with_context(|| format!("cannot list the managed cgroups under {root}"))?;
        for name in &managed {
            d.arm(name, false);
        }
        d.handle_pending()?;
        if !d.settings.once {
            for name in d.armed.names() {
                d.arm_flags(&name);
            }
        }
        tracing::info!(
            root = %root,
            mode = d.settings.mode.as_str(),
            managed = d.armed.len(),
            dry_run = d.settings.dry_run,
            once = d.settings.once,
            "cgact started; waiting for events"
        );
        Ok(d)
    }

    /// Handles what is pending at start: v1 cgroups under OOM (their
    /// notification fired at registration: absorbed here, other early
    /// events kept for the loop), v2 cgroups at or above `memory.high`
    /// below `memory.max` (throttled) in rescue and preempt modes. With
    /// `--once`, cgroups with nothing pending are disarmed.
    fn handle_pending(&mut self) -> anyhow::Result<()> {
        let mut early = Vec::new();
        self.watcher
            .wait(Some(Duration::ZERO), &mut early)
            .context("cannot read the first events")?;
        let woke = Instant::now();
        let pending: Vec<(CgroupName, OomKind)> = self
            .armed
            .names()
            .into_iter()
            .filter_map(|name| self.pending_kind(&name).map(|k| (name, k)))
            .collect();
        self.backlog = early
            .into_iter()
            .filter(|ev| match ev {
                WatchEvent::Oom { cgroup, .. } => !pending.iter().any(|(n, _)| n == cgroup),
                _ => true,
            })
            .collect();
        if !pending.is_empty() {
            tracing::warn!(count = pending.len(), "cgroups already under OOM at start");
        }
        for (name, kind) in &pending {
            match kind {
                OomKind::Oom if self.settings.version == CgroupVersion::V1 => {
                    self.on_frozen(name, woke)
                }
                _ => {
                    self.decide(name, *kind, woke);
                }
            }
        }
        if self.settings.once {
            for name in self.armed.names() {
                if !pending.iter().any(|(n, _)| *n == name) {
                    self.disarm(&name, false);
                }
            }
        }
        Ok(())
    }

    /// What is pending for an armed cgroup at start, if anything.
    fn pending_kind(&mut self, name: &CgroupName) -> Option<OomKind> {
        match self.settings.version {
            CgroupVersion::V1 => (self.read_v1_oom(name)? == V1Oom::Frozen).then_some(OomKind::Oom),
            _ => {
                let kind = super::v2_events::kind_for_pressure(self.settings.mode)?;
                let cg = self.armed.get_mut(name)?;
                let high = cg.handle.high().ok()??;
                let max = cg.handle.limit().ok()?;
                let usage = cg.handle.usage().ok()?;
                (usage >= high && max.is_none_or(|m| high < m)).then_some(kind)
            }
        }
    }
}
