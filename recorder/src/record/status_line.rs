//! The one-line live status on stderr (only when stderr is a terminal):
//! cgroups, samples, events, bytes written, elapsed; redrawn at most once
//! a second.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Shortest time between two redraws.
pub const REDRAW_EVERY: Duration = Duration::from_secs(1);

/// What the status line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Cgroups tracked now.
    pub cgroups: usize,
    /// Samples recorded so far.
    pub samples: u64,
    /// Events recorded so far.
    pub events: u64,
    /// Bytes written to the trace so far.
    pub bytes: u64,
    /// Time since the recording started.
    pub elapsed: Duration,
}

/// The status line's text (no control characters).
pub fn render(p: &Progress) -> String {
    let secs = p.elapsed.as_secs();
    format!(
        "cgrec: {} cgroups, {} samples, {} events, {} written, {:02}:{:02}:{:02} elapsed",
        p.cgroups,
        p.samples,
        p.events,
        human_bytes(p.bytes),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Bytes with a binary unit and one decimal (`512 B`, `1.5 KiB`, `3.0 MiB`).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Draws [`Progress`] on stderr when stderr is a terminal; otherwise does nothing.
#[derive(Debug)]
pub struct StatusLine {
    enabled: bool,
    last_draw: Option<Instant>,
}

impl StatusLine {
    /// Enabled when stderr is a terminal.
    pub fn on_stderr() -> StatusLine {
        StatusLine {
            enabled: std::io::stderr().is_terminal(),
            last_draw: None,
        }
    }

    /// When the next redraw is due (`None` when disabled).
    pub fn next_due(&self) -> Option<Instant> {
        match (self.enabled, self.last_draw) {
            (false, _) => None,
            (true, None) => Some(Instant::now()),
            (true, Some(t)) => Some(t + REDRAW_EVERY),
        }
    }

    /// Redraws if enabled and the last draw is at least [`REDRAW_EVERY`] old.
    pub fn draw(&mut self, now: Instant, p: &Progress) {
        if !self.enabled || self.last_draw.is_some_and(|t| now < t + REDRAW_EVERY) {
            return;
        }
        self.last_draw = Some(now);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{}\x1b[K", render(p));
        let _ = err.flush();
    }

    /// Ends the line (once), so later output starts on a fresh line.
    pub fn finish(&mut self) {
        if self.enabled && self.last_draw.is_some() {
            let _ = writeln!(std::io::stderr());
        }
        self.enabled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_figure() {
        let p = Progress {
            cgroups: 3,
            samples: 120,
            events: 2,
            bytes: 1536,
            elapsed: Duration::from_secs(3725),
        };
        assert_eq!(
            render(&p),
            "cgrec: 3 cgroups, 120 samples, 2 events, 1.5 KiB written, 01:02:05 elapsed"
        );
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
