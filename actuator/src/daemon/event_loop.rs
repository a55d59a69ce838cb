//! The loop: one `epoll_wait` (through the [`cgcal_core::watch::Watcher`])
//! with no timeout while nothing is pending, events dispatched to the
//! modes, then the timers that are due (rescue deadlines, re-arms, kill
//! re-checks, the policy's tick).

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use cgcal_core::trace::CgroupVersion;
use cgcal_core::watch::WatchEvent;

use super::signals::{action_of, SignalAction};
use super::Daemon;

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

impl Daemon {
    /// Runs until SIGTERM/SIGINT, a [`super::StopHandle`], or (with
    /// `--once`) until nothing is pending; then restores
    /// `oom_kill_disable=0` where the daemon set it. Errors when the event
    /// loop itself fails or the root cgroup is removed (the flags are
    /// restored then too).
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = std::mem::take(&mut self.backlog);
        let mut woke = Instant::now();
        loop {
            let mut stop = false;
            for ev in events.drain(..) {
                if self.on_event(ev, woke) == Flow::Stop {
                    stop = true;
                    break;
                }
            }
            if stop {
                break;
            }
            self.run_timers(Instant::now());
            self.publish_metrics(false);
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            if self.settings.once && self.rescues.is_idle() && self.kill_checks.is_empty() {
                tracing::info!("--once: nothing pending any more");
                break;
            }
            let timeout = self
                .next_due()
                .map(|t| t.saturating_duration_since(Instant::now()));
            self.watcher
                .wait(timeout, &mut events)
                .context("the event loop failed")?;
            woke = Instant::now();
        }
        self.shutdown();
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The earliest timer, `None` when idle (then the wait has no timeout).
    fn next_due(&self) -> Option<Instant> {
        [
            self.rescues.next_due(),
            self.kill_checks.next_due(),
            self.next_tick,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_event(&mut self, ev: WatchEvent, woke: Instant) -> Flow {
        match ev {
            WatchEvent::Oom { cgroup, delta, .. } => match self.settings.version {
                CgroupVersion::V1 => {
                    self.on_v1_oom(&cgroup, woke);
                    self.count_oom_event();
                }
                _ => {
                    if let Some(d) = delta {
                        if d.oom > 0 || d.oom_kill > 0 {
                            self.count_oom_event();
                        }
                        self.on_v2_events(&cgroup, Some(&d), woke);
                    }
                }
            },
            WatchEvent::Threshold { cgroup, bytes } => self.on_threshold(&cgroup, bytes, woke),
            WatchEvent::Pressure { cgroup } => self.on_v2_events(&cgroup, None, woke),
            WatchEvent::Removed { cgroup } => {
                tracing::info!(cgroup = %cgroup, "removed");
                self.disarm(&cgroup, true);
                // The engine's view of the tree (donors) drops it too.
                if let Err(e) = self.engine.refresh() {
                    tracing::warn!("cannot re-list the tree after a removal: {e}");
                }
            }
            WatchEvent::TreeChanged => {
                if !self.settings.once {
                    let root = self.engine.fs().root().clone();
                    if !self.engine.fs().exists(&root) {
                        self.failure = Some(anyhow::anyhow!(
                            "the root cgroup {root} was removed: nothing left to manage"
                        ));
                        return Flow::Stop;
                    }
                    self.sync_tree();
                }
            }
            WatchEvent::Signal(sig) => match action_of(sig) {
                SignalAction::Stop => {
                    tracing::info!("{sig}: stopping");
                    return Flow::Stop;
                }
                SignalAction::ReloadStats => match self.engine.reload_stats() {
                    Ok(()) => tracing::info!("{sig}: statistics reloaded"),
                    Err(e) => tracing::error!("{sig}: {e:#}; keeping the old statistics"),
                },
                SignalAction::Ignore => tracing::debug!("{sig} ignored"),
            },
            WatchEvent::Woken => {
                if self.stop.load(Ordering::SeqCst) {
                    return Flow::Stop;
                }
            }
        }
        Flow::Continue
    }

    fn run_timers(&mut self, now: Instant) {
        self.run_rescue_timers(now);
        self.run_kill_checks(now);
        if let (Some(due), Some(interval)) = (self.next_tick, self.engine.tick_interval()) {
            if due <= now {
                self.next_tick = Some(now + interval);
                match self.engine.tick(now) {
                    Ok(Some(d)) if d.wrote => self.after_limits_changed(&d),
                    Ok(_) => {}
                    Err(e) => tracing::error!("policy tick failed: {e}"),
                }
            }
        }
    }

    fn count_oom_event(&mut self) {
        if let Some(m) = &mut self.metrics {
            m.oom_event();
        }
    }

    /// Restores `oom_kill_disable=0` wherever the daemon set it.
    fn shutdown(&mut self) {
        let restored = self.armed.restore_all();
        tracing::info!(restored, "stopped; oom_kill_disable restored to 0");
        self.publish_metrics(true);
    }
}
