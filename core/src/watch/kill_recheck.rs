//! When to look again for a kill after an OOM notification.

use std::time::Duration;

/// Delays after an OOM notification at which a cgroup's kill counter is
/// re-read while the kill is not counted yet: the v1 notification comes
/// *before* the kernel kills, and v2 `oom` and `oom_kill` can arrive in
/// separate notifications, so the kill shows a little later. Each delay is
/// measured from the notification; after the last one the cgroup is left
/// alone until its next notification.
pub const KILL_RECHECK_AFTER: [Duration; 4] = [
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];
