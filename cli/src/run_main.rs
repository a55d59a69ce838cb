//! The whole `main` of a program: run, report, exit.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use crate::error_report::{exit_code, is_broken_pipe, render_error, EXIT_RUNTIME};

/// Runs `f` and turns its outcome into the process's exit code (SPEC §2):
///
/// * `Ok` → 0;
/// * a clap error (usage, `--help`, `--version`) → clap's text, on stdout for
///   help and version (exit 0), else on stderr prefixed with `PROGRAM: `
///   (exit 2); a validation error made with [`crate::usage_error`] is one;
/// * a write to a closed pipe → 0, silently (`cgrec export t.bin | head`);
/// * any other error → `PROGRAM: error: ...` (see [`render_error`]), exit 1;
/// * a panic → `PROGRAM: error: internal error: MESSAGE (FILE:LINE): ...`,
///   no backtrace, exit 1, after unwinding (destructors run, so guards such
///   as cgact's `oom_kill_disable` restoration still happen).
pub fn run_main(program: &'static str, f: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    install_panic_hook(program);
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => report(program, &err),
        Err(_) => ExitCode::from(EXIT_RUNTIME),
    }
}

/// Prints `err` where it belongs and returns its exit code.
fn report(program: &str, err: &anyhow::Error) -> ExitCode {
    if let Some(usage) = err.downcast_ref::<clap::Error>() {
        if !usage.use_stderr() {
            // --help / --version: clap prints on stdout, with colors if a terminal.
            if usage.print().is_err() {
                return ExitCode::from(EXIT_RUNTIME);
            }
            return ExitCode::from(exit_code(err));
        }
    }
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let mut stderr = std::io::stderr().lock();
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = writeln!(stderr, "{}", render_error(program, err));
    ExitCode::from(exit_code(err))
}

/// Replaces the default panic message (and its backtrace hint) with one
/// line in the error format.
fn install_panic_hook(program: &'static str) {
    panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown location".to_string());
        let _ = writeln!(
            std::io::stderr().lock(),
            "{program}: error: internal error: {message} ({location}): this is a bug in {program}; please report it"
        );
    }));
}
