//! `cgact`: the root daemon that keeps cgroups alive under memory pressure
//! by raising the limit of a cgroup under OOM from the global cgroup's
//! headroom or from under-used donors (SPEC §6).
//!
//! The binary is a thin wrapper: [`run`] parses the command line into a
//! validated [`cli::DaemonConfig`] and calls [`daemon::run`], so tests can
//! drive the whole program in-process.
//!
//! ```
//! let err = cgact::run(["cgact", "--stats", "s.json", "--threshold", "0"]).unwrap_err();
//! assert_eq!(cgcal_cli::exit_code(&err), 2);
//! ```
#![deny(missing_docs)]

pub mod cli;
pub mod daemon;
pub mod engine;
pub mod restore;

pub use cli::run;
