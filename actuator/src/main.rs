//! The `cgact` binary: see the `cgact` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    cgcal_cli::run_main(cgact::cli::PROGRAM, || cgact::run(std::env::args_os()))
}
