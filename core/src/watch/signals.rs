//! Signals as events: blocked for the calling thread and read from a
//! signalfd in the watcher's epoll set.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::error::WatchError;

/// The signalfd and the set of signals it reads.
#[derive(Debug)]
pub(crate) struct SignalSource {
    fd: SignalFd,
    mask: SigSet,
}

/// Most signals read in one drain (the pending set is bounded by the number
/// of signal numbers, realtime signals can queue more).
const MAX_SIGNALS_PER_DRAIN: usize = 256;

impl SignalSource {
    /// Blocks `signals` for the calling thread and opens a signalfd for them.
    pub(crate) fn new(signals: &[Signal]) -> Result<Self, WatchError> {
        let mask = set_of(SigSet::empty(), signals);
        block(&mask)?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|errno| WatchError::Create {
                what: "signalfd",
                errno,
            })?;
        Ok(SignalSource { fd, mask })
    }

    /// Adds `signals` to the set: blocked for the calling thread and read
    /// from the same signalfd.
    pub(crate) fn add(&mut self, signals: &[Signal]) -> Result<(), WatchError> {
        let mask = set_of(self.mask, signals);
        block(&mask)?;
        self.fd
            .set_mask(&mask)
            .map_err(|errno| WatchError::Create {
                what: "signalfd mask",
                errno,
            })?;
        self.mask = mask;
        Ok(())
    }

    /// The signalfd, for the epoll set.
    pub(crate) fn fd(&self) -> &SignalFd {
        &self.fd
    }

    /// Reads every pending signal into `out`, in the order the kernel gives.
    pub(crate) fn drain(&self, out: &mut Vec<Signal>) {
        for _ in 0..MAX_SIGNALS_PER_DRAIN {
            match self.fd.read_signal() {
                Ok(Some(info)) => match Signal::try_from(info.ssi_signo as i32) {
                    Ok(sig) => out.push(sig),
                    Err(_) => tracing::warn!(signo = info.ssi_signo, "unknown signal number"),
                },
                Ok(None) => return,
                Err(errno) => {
                    tracing::warn!(%errno, "signalfd read failed");
                    return;
                }
            }
        }
    }
}

fn set_of(mut set: SigSet, signals: &[Signal]) -> SigSet {
    for &s in signals {
        set.add(s);
    }
    set
}

fn block(mask: &SigSet) -> Result<(), WatchError> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(mask), None).map_err(|errno| {
        WatchError::Create {
            what: "signal mask",
            errno,
        }
    })
}
