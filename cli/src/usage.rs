//! Usage errors found after parsing (exit 2).

use std::fmt::Display;

use clap::error::ErrorKind;
use clap::CommandFactory;

/// A usage error about `subcommand` of the program `C` (or the program
/// itself for `None`), found while validating parsed arguments: `--from`
/// after `--to`, an unknown `--algo`. It renders like clap's own errors,
/// with the subcommand's usage line, and [`crate::run_main`] exits 2.
///
/// ```
/// #[derive(clap::Parser)]
/// #[command(name = "cgrec")]
/// struct Cli {
///     #[arg(long)]
///     from: Option<String>,
/// }
/// let err = cgcal_cli::usage_error::<Cli>(None, "--from is after --to");
/// assert_eq!(err.exit_code(), 2);
/// assert!(err.to_string().starts_with("error: --from is after --to"));
/// ```
pub fn usage_error<C: CommandFactory>(
    subcommand: Option<&str>,
    message: impl Display,
) -> clap::Error {
    let mut cmd = C::command();
    cmd.build();
    let mut target = match subcommand.and_then(|name| cmd.find_subcommand(name)) {
        Some(sub) => sub.clone(),
        None => cmd,
    };
    target.error(ErrorKind::ValueValidation, message)
}
