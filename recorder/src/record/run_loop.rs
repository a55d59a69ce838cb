//! The recording's timing: sweeps on a fixed grid of `--interval`, full
//! sweeps every `--stat-interval`, flushes every `--flush`, the stop at
//! `--duration`; between them the loop sleeps in the watcher's
//! `epoll_wait`, so OOM notifications, tree changes and signals are
//! handled as they come.

use std::time::{Duration, Instant};

use super::error::RecordError;
use super::session::{Flow, Session, Summary};
use super::status_line::StatusLine;
use super::tracked_cgroup::SweepDepth;

/// The timing of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Time between two sweeps (> 0).
    pub interval: Duration,
    /// Time between two full sweeps (> 0).
    pub stat_interval: Duration,
    /// Longest time records stay unwritten (> 0).
    pub flush: Duration,
    /// Stop after this long; `None`: until a signal.
    pub duration: Option<Duration>,
}

/// The first point of the grid `from + k·step` (k ≥ 1) after `now`: missed
/// ticks are skipped, the grid is kept.
pub fn next_tick(from: Instant, step: Duration, now: Instant) -> Instant {
    let next = from + step;
    if next > now {
        return next;
    }
    let behind = now.duration_since(from).as_nanos();
    let step_ns = step.as_nanos().max(1);
    let ticks = u32::try_from(behind / step_ns + 1).unwrap_or(u32::MAX);
    from + step.saturating_mul(ticks)
}

/// Records until the duration ends, a signal comes or the root is removed,
/// then finishes the trace.
pub fn record(
    mut s: Session,
    timing: Timing,
    status: &mut StatusLine,
) -> Result<Summary, RecordError> {
    let start = s.clock().start_instant();
    let stop_at = timing.duration.map(|d| start + d);
    let mut next_sweep = start;
    let mut next_full = start;
    let mut next_flush = start + timing.flush;
    let mut events = Vec::new();
    loop {
        let now = Instant::now();
        if stop_at.is_some_and(|t| now >= t) {
            break;
        }
        if now >= next_sweep {
            let depth = match now >= next_full {
                true => {
                    next_full = next_tick(next_full, timing.stat_interval, now);
                    SweepDepth::Full
                }
                false => SweepDepth::Fast,
            };
            next_sweep = next_tick(next_sweep, timing.interval, now);
            if s.sweep(s.clock().ns_at(now), depth)? == Flow::Stop {
                break;
            }
        }
        s.run_rechecks(now)?;
        if now >= next_flush {
            s.flush()?;
            next_flush = next_tick(next_flush, timing.flush, now);
        }
        s.maybe_rotate(now)?;
        status.draw(now, &s.progress(now));
        let deadline = [
            Some(next_sweep),
            Some(next_flush),
            stop_at,
            s.next_recheck(),
            status.next_due(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(next_sweep);
        events.clear();
        s.wait(deadline, &mut events)?;
        if !events.is_empty() && s.handle(&events, Instant::now())? == Flow::Stop {
            break;
        }
    }
    status.draw(Instant::now(), &s.progress(Instant::now()));
    status.finish();
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_keep_the_grid_and_skip_missed_ones() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(next_tick(t0, ms(100), t0), t0 + ms(100));
        assert_eq!(next_tick(t0, ms(100), t0 + ms(99)), t0 + ms(100));
        assert_eq!(next_tick(t0, ms(100), t0 + ms(100)), t0 + ms(200));
        assert_eq!(next_tick(t0, ms(100), t0 + ms(350)), t0 + ms(400));
    }
}
