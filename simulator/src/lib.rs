//! `cgsim`: replays cgroup memory traces through the reallocation
//! algorithms of `cgcal_core::policy` and reports kills, adjustments and
//! slack per algorithm (SPEC §5); also writes synthetic traces.
//!
//! The binary is a thin wrapper: [`run`] parses the command line into a
//! validated config ([`cli`]) and calls the subcommand ([`commands`]), so
//! tests can drive the whole program in-process.
//!
//! ```
//! let err = cgsim::run(["cgsim", "replay", "t.bin", "--threshold", "1.5"]).unwrap_err();
//! assert_eq!(cgcal_cli::exit_code(&err), 2);
//! ```
#![deny(missing_docs)]

pub mod cli;
pub mod commands;
pub mod plot;
pub mod replay;
pub mod report;
pub mod synth;

pub use cli::run;
