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

#[cfg(test)]
mod tests {
    use super::*;

    /// Set in the child process that [`panics_become_one_error_line`] starts.
    const CHILD: &str = "CGCAL_CLI_PANIC_CHILD";

    #[test]
    fn panics_become_one_error_line() {
        if std::env::var_os(CHILD).is_some() {
            let code = run_main("cgdemo", || panic!("boom {}", 42));
            std::process::exit(if code == ExitCode::from(EXIT_RUNTIME) {
                17
            } else {
                18
            });
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "run_main::tests::panics_become_one_error_line",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(17), "{stderr}");
        assert!(
            stderr.contains("cgdemo: error: internal error: boom 42 (cli/src/run_main.rs:"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("panicked at") && !stderr.contains("stack backtrace"),
            "{stderr}"
        );
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(run_main("cgdemo", || Ok(())), ExitCode::SUCCESS);
        let broken = || Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe").into());
        assert_eq!(run_main("cgdemo", broken), ExitCode::SUCCESS);
        assert_eq!(
            run_main("cgdemo", || Err(anyhow::anyhow!("bad"))),
            ExitCode::from(1)
        );
        let usage = || {
            Err(clap::Command::new("cgdemo")
                .try_get_matches_from(["cgdemo", "-x"])
                .unwrap_err()
                .into())
        };
        assert_eq!(run_main("cgdemo", usage), ExitCode::from(2));
        // Give the test harness its own panic messages back.
        let _ = panic::take_hook();
    }
}
