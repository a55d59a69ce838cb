//! Command-line plumbing shared by `cgrec`, `cgsim` and `cgact`; no
//! subcommand logic lives here.
//!
//! * [`run_main`]: the whole `main` of a program. Runs its library's `run`,
//!   prints any error as `PROGRAM: error: WHAT (WHERE): HINT` and maps it to
//!   the exit code of SPEC §2 (0 success, 1 runtime error, 2 usage error);
//!   turns a panic into `PROGRAM: error: internal error: ...` and exit 1.
//! * [`UserError`] and [`not_implemented`]: errors written for the operator.
//! * [`load_stats_file`]: a `--stats` file, bounded and validated.
//! * [`usage_error`]: a usage error (exit 2) found after parsing, while
//!   turning clap's `Args` into a validated `Config`.
//! * [`value`]: clap value parsers over [`cgcal_core::parse`]; a value they
//!   refuse is a usage error.
//! * [`RootArgs`], [`PolicyArgs`], [`LogArgs`], [`CompletionsArgs`],
//!   [`ManArgs`]: flag groups several programs flatten into their own.
//! * [`init_tracing`], [`write_completions`], [`write_man_pages`].
//!
//! ```no_run
//! use std::process::ExitCode;
//! fn main() -> ExitCode {
//!     cgcal_cli::run_main("cgrec", || Ok(()))
//! }
//! ```
#![deny(missing_docs)]

mod completions;
mod error_report;
mod logging;
mod man_pages;
pub mod metrics;
mod policy_args;
mod root_args;
mod run_main;
mod stats_file;
mod usage;
mod user_error;
pub mod value;

pub use completions::{write_completions, CompletionsArgs, Shell};
pub use error_report::{exit_code, render_error};
pub use logging::{init_tracing, LogArgs, LOG_ENV};
pub use man_pages::{write_man_pages, ManArgs, ManPageError};
pub use policy_args::PolicyArgs;
pub use root_args::{
    CgroupRoot, CgroupVersionArg, RootArgs, DEFAULT_UNIFIED_ROOT, DEFAULT_V1_MEMORY_ROOT,
};
pub use run_main::run_main;
pub use stats_file::load_stats_file;
/// Log levels, as [`LogArgs::level`] and [`init_tracing`] take them.
pub use tracing_subscriber::filter::LevelFilter;
pub use usage::usage_error;
pub use user_error::{not_implemented, UserError};
