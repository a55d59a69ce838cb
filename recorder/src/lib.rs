//! `cgrec`: records per-cgroup memory usage into compact binary traces and
//! computes Phase 1 statistics from them (SPEC §3, §4).
//!
//! The binary is a thin wrapper: [`run`] parses the command line into a
//! validated config ([`cli`]) and calls the subcommand ([`commands`]), so
//! tests can drive the whole program in-process.
//!
//! ```
//! let err = cgrec::run(["cgrec", "stats", "t.bin", "--from", "+10m", "--to", "+5m"]).unwrap_err();
//! assert_eq!(cgcal_cli::exit_code(&err), 2);
//! ```
#![deny(missing_docs)]

pub mod cli;
pub mod commands;
pub mod output_sink;
pub mod parquet_export;
pub mod record;
pub mod trace_span;
pub mod trace_summary;

pub use cli::run;
