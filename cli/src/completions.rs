//! `PROGRAM completions SHELL`: shell completion scripts.

use std::io::{self, Write};

use clap::{Args, CommandFactory};
pub use clap_complete::Shell;

/// The arguments of every program's `completions` subcommand.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

impl CompletionsArgs {
    /// Runs the `completions` subcommand of the program `C`: writes its
    /// completion script for the chosen shell to standard output.
    pub fn run<C: CommandFactory>(&self, program: &str) -> io::Result<()> {
        write_completions::<C>(self.shell, program, &mut io::stdout().lock())
    }
}

/// Writes the completion script of the program `C`, invoked as `program`,
/// for `shell` to `out` (e.g. `cgrec completions bash > /etc/bash_completion.d/cgrec`).
///
/// ```
/// #[derive(clap::Parser)]
/// struct Cli {
///     #[arg(long)]
///     root: Option<String>,
/// }
/// let mut out = Vec::new();
/// cgcal_cli::write_completions::<Cli>(cgcal_cli::Shell::Bash, "cgrec", &mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().contains("cgrec"));
/// ```
pub fn write_completions<C: CommandFactory>(
    shell: Shell,
    program: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    // clap_complete panics when its writer fails; a buffer never does, and
    // the real write below reports a closed stdout as an error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut C::command(), program, &mut script);
    out.write_all(&script)?;
    out.flush()
}
