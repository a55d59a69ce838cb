//! The `cgact` daemon (SPEC §6, issue 5): one epoll loop around the
//! decision [`Engine`], in `react`, `rescue` or `preempt` mode.
//!
//! * [`run`] opens the hierarchy of `--root`, then [`Daemon::start`]
//!   ([`startup`]): the [`InstanceLock`] first (a second instance on the
//!   same root exits 1 naming the lock file and its holder), the engine,
//!   the journal's recovery, every managed cgroup armed ([`armed`]) and,
//!   before anything else is waited for, every cgroup already under OOM
//!   handled (an instance killed in rescue mode leaves tasks frozen behind:
//!   they are given memory, or released to the kernel's OOM killer; if the
//!   engine cannot even start, [`last_resort`] releases them before exit).
//! * [`Daemon::run`] ([`event_loop`]) sleeps in the watcher's
//!   `epoll_wait` with no timeout while nothing is pending (no polling
//!   while idle); only a rescue deadline, a re-check of an OOM kill counter,
//!   a re-arm of `oom_kill_disable` after a fallback kill, or a policy tick
//!   sets one.
//! * Modes: [`react`] (OOM kills), [`rescue`] (v1 `oom_kill_disable=1` and
//!   a deadline; v2 `memory.high` under `memory.max`, [`v2_events`]),
//!   [`preempt`] (v1 usage thresholds, v2 `memory.high` events and PSI).
//! * Signals ([`signals`]): SIGTERM/SIGINT stop cleanly, restoring
//!   `oom_kill_disable=0` wherever the daemon set it (also on any error
//!   return, through [`armed::Armed`]'s drop); SIGHUP reloads `--stats`.
//!
//! In-process callers (tests of the v2 path on a fixture tree) start a
//! daemon on any [`cgcal_core::cgroupfs::CgroupFs`] with [`Daemon::start`] and
//! [`SignalHandling::None`], and stop it from another thread with a
//! [`StopHandle`].

pub mod armed;
pub mod decide;
pub mod event_loop;
pub mod last_resort;
pub mod metrics;
pub mod preempt;
pub mod react;
pub mod rescue;
pub mod signals;
pub mod startup;
pub mod v2_events;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cgcal_cli::metrics::MetricsArgs;
use cgcal_core::cgroupfs::open_root;
use cgcal_core::trace::CgroupVersion;
use cgcal_core::watch::{Waker, WatchEvent, Watcher};

use crate::cli::{DaemonConfig, DaemonMode};
use crate::engine::{Engine, InstanceLock};

use armed::Armed;
use react::KillChecks;
use rescue::RescueBook;

/// Runs the daemon on the hierarchy of `config.root` until SIGTERM or
/// SIGINT (or, with `--once`, until what was pending is handled).
pub fn run(config: DaemonConfig) -> anyhow::Result<()> {
    run_with_metrics(config, &MetricsArgs::default())
}

/// [`run`], publishing Prometheus metrics as `metrics` asks
/// (`--metrics-file`, `--metrics-listen`; see [`metrics`]).
pub fn run_with_metrics(config: DaemonConfig, metrics: &MetricsArgs) -> anyhow::Result<()> {
    let fs = open_root(&config.root.path, config.root.version).with_context(|| {
        format!(
            "cannot open the cgroup hierarchy at --root {}",
            config.root.path.display()
        )
    })?;
    let mut daemon = Daemon::start(fs, &config, SignalHandling::Process)?;
    daemon.export_metrics(metrics)?;
    daemon.run()
}

/// Whether the daemon reads signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalHandling {
    /// Block SIGTERM, SIGINT and SIGHUP in the calling thread and read them
    /// through a signalfd (the program; call before spawning threads).
    Process,
    /// Leave signals alone (in-process tests): stop with a [`StopHandle`].
    None,
}

/// The settings the loop consults on every event.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `--mode`.
    pub mode: DaemonMode,
    /// `--deadline`: how long a frozen task waits for memory.
    pub deadline: Duration,
    /// `--dry-run`: nothing is written to the cgroup tree.
    pub dry_run: bool,
    /// `--once`: handle what is pending, then exit.
    pub once: bool,
    /// The hierarchy's cgroup version.
    pub version: CgroupVersion,
}

impl Settings {
    /// True when `oom_kill_disable=1` is set on the managed cgroups: v1
    /// rescue mode, not a dry run, not `--once`.
    pub fn disables_oom_kill(&self) -> bool {
        self.mode == DaemonMode::Rescue
            && self.version == CgroupVersion::V1
            && !self.dry_run
            && !self.once
    }
}

/// Stops a running [`Daemon`] from another thread (the daemon then restores
/// `oom_kill_disable` and returns `Ok` from [`Daemon::run`]).
#[derive(Debug, Clone)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    waker: Waker,
}

impl StopHandle {
    /// Asks the daemon to stop at its next wake-up, and wakes it.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.waker.wake();
    }
}

/// A started daemon: the lock held, the engine, the watcher and the armed
/// cgroups. Created by [`Daemon::start`], driven by [`Daemon::run`].
pub struct Daemon {
    engine: Engine,
    watcher: Watcher,
    armed: Armed,
    rescues: RescueBook,
    kill_checks: KillChecks,
    settings: Settings,
    next_tick: Option<Instant>,
    stop: Arc<AtomicBool>,
    /// Events read during startup, handled first by the loop.
    backlog: Vec<WatchEvent>,
    /// Why the loop stopped, when it is an error (the root was removed).
    failure: Option<anyhow::Error>,
    /// Prometheus metrics, when asked for.
    metrics: Option<metrics::DaemonMetrics>,
    /// Held until the daemon is dropped (after the flags are restored).
    _lock: InstanceLock,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("settings", &self.settings)
            .field("armed", &self.armed.len())
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// A handle to stop [`Daemon::run`] from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            flag: Arc::clone(&self.stop),
            waker: self.watcher.waker(),
        }
    }

    /// The decision engine (its hierarchy through [`Engine::fs`]).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The cgroups armed now (watched, flags set per mode), sorted.
    pub fn armed(&self) -> Vec<cgcal_core::name::CgroupName> {
        self.armed.names()
    }

    /// Publishes Prometheus metrics as `args` asks (nothing when neither
    /// `--metrics-file` nor `--metrics-listen` is given); call after
    /// [`Daemon::start`] (signals blocked), before [`Daemon::run`].
    pub fn export_metrics(&mut self, args: &MetricsArgs) -> anyhow::Result<()> {
        self.metrics = metrics::DaemonMetrics::start(args)?;
        self.publish_metrics(true);
        Ok(())
    }

    /// Updates the managed-cgroups gauge and rewrites the metrics file when
    /// something changed (or always, with `force`).
    fn publish_metrics(&mut self, force: bool) {
        if let Some(m) = &mut self.metrics {
            m.watched(self.armed.len());
            m.publish(force);
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
    }
}
