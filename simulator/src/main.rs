//! The `cgsim` binary: see the `cgsim` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    cgcal_cli::run_main(cgsim::cli::PROGRAM, || cgsim::run(std::env::args_os()))
}
