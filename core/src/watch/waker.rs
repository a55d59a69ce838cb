//! The cross-thread waker: an eventfd in the watcher's epoll set.

use std::sync::Arc;

use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::error::WatchError;

/// A handle other threads use to wake [`super::Watcher::wait`], which then
/// returns [`super::WatchEvent::Woken`] (several wakes before one `wait`
/// give one `Woken`). Cheap to clone; stays valid after the watcher is
/// dropped (a wake then goes nowhere).
#[derive(Debug, Clone)]
pub struct Waker {
    fd: Arc<EventFd>,
}

impl Waker {
    /// Creates the eventfd (non-blocking, close-on-exec).
    pub(crate) fn new() -> Result<Self, WatchError> {
        let fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).map_err(
            |errno| WatchError::Create {
                what: "waker eventfd",
                errno,
            },
        )?;
        Ok(Waker { fd: Arc::new(fd) })
    }

    /// Wakes the watcher's `wait` (or its next one). Never blocks; never fails
    /// in practice (EAGAIN only when the counter is near 2^64, and then a
    /// wake-up is already pending).
    pub fn wake(&self) {
        if let Err(errno) = self.fd.write(1) {
            if errno != Errno::EAGAIN {
                tracing::warn!(%errno, "waker eventfd write failed");
            }
        }
    }

    /// The eventfd, for the epoll set and for draining.
    pub(crate) fn event_fd(&self) -> &EventFd {
        &self.fd
    }

    /// Reads the counter to zero; true when a wake was pending.
    pub(crate) fn drain(&self) -> bool {
        // A non-blocking eventfd read returns the whole counter at once.
        self.fd.read().is_ok_and(|n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_reports_pending_wakes_once() {
        let w = Waker::new().unwrap();
        assert!(!w.drain());
        w.wake();
        w.clone().wake();
        assert!(w.drain());
        assert!(!w.drain());
    }
}
