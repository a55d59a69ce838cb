//! The `cgrec` binary: see the `cgrec` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    cgcal_cli::run_main(cgrec::cli::PROGRAM, || cgrec::run(std::env::args_os()))
}
