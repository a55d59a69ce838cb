//! The signals the daemon handles and what each one means.

use nix::sys::signal::Signal;

/// Signals read through the watcher's signalfd (blocked for the process's
/// main thread before any other thread starts).
pub const HANDLED: [Signal; 3] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
    /// SIGTERM, SIGINT: restore `oom_kill_disable=0` where it was set, exit 0.
    Stop,
    /// SIGHUP: reload the `--stats` file (on error keep the old statistics).
    ReloadStats,
    /// Any other signal (none is registered): logged and ignored.
    Ignore,
}

/// The action for `signal`.
pub fn action_of(signal: Signal) -> SignalAction {
    match signal {
        Signal::SIGTERM | Signal::SIGINT => SignalAction::Stop,
        Signal::SIGHUP => SignalAction::ReloadStats,
        _ => SignalAction::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handled_signal_has_an_action() {
        assert_eq!(action_of(Signal::SIGTERM), SignalAction::Stop);
        assert_eq!(action_of(Signal::SIGINT), SignalAction::Stop);
        assert_eq!(action_of(Signal::SIGHUP), SignalAction::ReloadStats);
        assert_eq!(action_of(Signal::SIGUSR1), SignalAction::Ignore);
        assert!(HANDLED
            .iter()
            .all(|s| action_of(*s) != SignalAction::Ignore));
    }
}
