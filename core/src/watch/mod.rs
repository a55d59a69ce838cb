//! Event sources of a daemon in one epoll set: cgroup OOM notifications,
//! usage thresholds, PSI triggers, the cgroup tree, signals and a
//! cross-thread waker. Used by `cgrec record` (new/removed cgroups, OOMs as
//! they happen, SIGINT/SIGTERM) and by `cgact` (OOMs, thresholds, pressure).
//!
//! | source | v1 | v2 | event |
//! |---|---|---|---|
//! | [`Watcher::watch_oom`] | eventfd on `memory.oom_control` | inotify IN_MODIFY on `memory.events`, counters re-read | [`WatchEvent::Oom`] |
//! | [`Watcher::watch_usage_threshold`] | eventfd on `memory.usage_in_bytes` | — | [`WatchEvent::Threshold`] |
//! | [`Watcher::watch_pressure`] | — | PSI trigger on `memory.pressure` (EPOLLPRI) | [`WatchEvent::Pressure`] |
//! | [`Watcher::watch_tree`] | inotify on every directory | same | [`WatchEvent::TreeChanged`] |
//! | [`Watcher::watch_signals`] | signalfd | same | [`WatchEvent::Signal`] |
//! | [`Watcher::waker`] | eventfd | same | [`WatchEvent::Woken`] |
//!
//! Removal of a watched cgroup closes all its sources and gives one
//! [`WatchEvent::Removed`]: v1 when an eventfd fires and the directory is
//! gone (the kernel signals every eventfd of a removed cgroup once); v2
//! from an inotify IN_DELETE on the parent directory, which
//! [`Watcher::watch_oom`] watches (kernfs sends nothing to a watch on the
//! removed directory itself or on its files), or POLLERR of a PSI trigger;
//! and on both versions when the tree watch sees the directory go.
//!
//! Checked live: v1 on this machine (`tests/e2e/watch_live.rs`: OOM kill,
//! threshold, mkdir, rmdir); v2 on a 6.1 kernel in a VM (OOM kill giving
//! `max`, then `oom` and `oom_kill` deltas; rmdir with and without the
//! tree watch; a PSI trigger firing under `memory.high` throttling, and its
//! POLLERR on rmdir).
//!
//! Semantics a consumer relies on:
//! * v2 [`WatchEvent::Oom`] carries the counters and their increase since
//!   the previous read; a wake-up with unchanged counters gives nothing
//!   (the kernel coalesces notifications: never count wake-ups). `oom` and
//!   `oom_kill` may arrive in separate events.
//! * [`WatchEvent::TreeChanged`] and [`WatchEvent::Woken`] come at most once
//!   per [`Watcher::wait`]; re-list the tree with `CgroupFs::list` and diff.
//! * [`Watcher::wait`] sleeps in `epoll_wait` (level-triggered; every
//!   source is drained before it returns), retries EINTR with the time
//!   left, and returns with nothing appended on timeout.
//! * Registration errors for a cgroup that just vanished answer
//!   [`WatchError::is_gone`]: skip that cgroup.
//!
//! ```no_run
//! use std::time::Duration;
//! use cgcal_core::cgroupfs::open_root;
//! use cgcal_core::watch::{WatchEvent, Watcher};
//! use nix::sys::signal::Signal;
//!
//! let fs = open_root(std::path::Path::new("/sys/fs/cgroup/memory"), None)?;
//! let mut w = Watcher::new()?;
//! w.watch_signals(&[Signal::SIGINT, Signal::SIGTERM])?; // before spawning threads
//! w.watch_tree(fs.as_ref())?;
//! for name in fs.list()?.iter().filter(|n| !n.is_root()) {
//!     let mut cg = fs.open(name)?;
//!     match w.watch_oom(fs.as_ref(), cg.as_mut()) {
//!         Err(e) if e.is_gone() => continue,
//!         other => other?,
//!     }
//! }
//! let mut events = Vec::new();
//! loop {
//!     events.clear();
//!     w.wait(Some(Duration::from_secs(1)), &mut events)?;
//!     for ev in &events {
//!         match ev {
//!             WatchEvent::Oom { cgroup, .. } => println!("OOM in {cgroup}"),
//!             WatchEvent::TreeChanged => { /* re-list, watch new cgroups */ }
//!             WatchEvent::Signal(_) => return Ok(()),
//!             _ => {}
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod event;
mod inotify_tree;
mod kill_recheck;
mod signals;
mod sources;
mod waker;
mod watcher;

pub use error::WatchError;
pub use event::WatchEvent;
pub use kill_recheck::KILL_RECHECK_AFTER;
pub use waker::Waker;
pub use watcher::Watcher;

#[cfg(test)]
mod tests;
