//! Logs: `tracing` to stderr, level from `-v`/`-q` or the `CGCAL_LOG`
//! environment variable (an `EnvFilter` directive such as `debug` or
//! `cgact=trace,cgcal_core=debug`), which wins when set and valid.

use std::io::IsTerminal;

use clap::{ArgAction, Args};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;

/// The environment variable that overrides the log filter.
pub const LOG_ENV: &str = "CGCAL_LOG";

/// `-v`/`-q`, flattened into every program's top-level flags.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct LogArgs {
    /// More log output on stderr: -v for one level more, -vv for two
    /// (the CGCAL_LOG environment variable, e.g. CGCAL_LOG=debug, overrides)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

impl LogArgs {
    /// The level these flags select for a program whose default is
    /// `default` (`WARN` for cgrec and cgsim, `INFO` for the cgact daemon):
    /// each `-v` one level more verbose, up to `TRACE`; `-q` errors only.
    pub fn level(&self, default: LevelFilter) -> LevelFilter {
        if self.quiet {
            return LevelFilter::ERROR;
        }
        const LADDER: [LevelFilter; 6] = [
            LevelFilter::OFF,
            LevelFilter::ERROR,
            LevelFilter::WARN,
            LevelFilter::INFO,
            LevelFilter::DEBUG,
            LevelFilter::TRACE,
        ];
        let start = LADDER.iter().position(|l| *l == default).unwrap_or(2);
        let index = (start + usize::from(self.verbose)).min(LADDER.len() - 1);
        LADDER[index]
    }
}

/// Sends `tracing` events to stderr at `level`, or as `CGCAL_LOG` says when
/// it is set and valid. ANSI colors only when stderr is a terminal. Calling
/// it again (a test running several commands in one process) keeps the
/// first subscriber.
pub fn init_tracing(level: LevelFilter) {
    let filter =
        EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new(level.to_string()));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_climbs_from_the_default() {
        let args = |verbose, quiet| LogArgs { verbose, quiet };
        assert_eq!(args(0, false).level(LevelFilter::WARN), LevelFilter::WARN);
        assert_eq!(args(1, false).level(LevelFilter::WARN), LevelFilter::INFO);
        assert_eq!(args(2, false).level(LevelFilter::WARN), LevelFilter::DEBUG);
        assert_eq!(args(9, false).level(LevelFilter::WARN), LevelFilter::TRACE);
        assert_eq!(args(1, false).level(LevelFilter::INFO), LevelFilter::DEBUG);
        assert_eq!(args(0, true).level(LevelFilter::INFO), LevelFilter::ERROR);
    }

    #[test]
    fn init_twice_does_not_panic() {
        init_tracing(LevelFilter::WARN);
        init_tracing(LevelFilter::DEBUG);
    }
}
