//! `cgact restore`'s flags and their validation into [`RestoreConfig`].

use std::path::PathBuf;

use cgcal_cli::{usage_error, value, RootArgs};
use cgcal_core::parse::TimeSpec;
use clap::Args;

use super::report::Format;
use super::{RestoreConfig, Source};
use crate::cli::{default_lock_file, Cli};

/// `cgact restore`: put back the limits the cgroups had before cgact changed them.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["journal", "trace"]))]
pub struct RestoreArgs {
    /// The hierarchy whose cgroups are restored (the daemon's --root).
    #[command(flatten)]
    pub root: RootArgs,
    /// Restore the limits the daemon's journal recorded when it first saw each cgroup
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Restore the limits a cgrec trace (file or directory) recorded at each cgroup's first sample
    #[arg(long, value_name = "TRACE")]
    pub trace: Option<PathBuf>,
    /// With --trace: the limits at this time instead (RFC 3339, @UNIX_SECONDS, +DURATION, -DURATION)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = value::time)]
    pub at: Option<TimeSpec>,
    /// Report what would be written, write nothing (takes no lock)
    #[arg(long)]
    pub dry_run: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// The daemon's lock file, taken while restoring [default: the daemon's default for --root]
    #[arg(long, value_name = "FILE")]
    pub lock_file: Option<PathBuf>,
}

impl RestoreArgs {
    /// The validated settings (clap already enforces one source).
    pub fn validate(self) -> Result<RestoreConfig, clap::Error> {
        if self.at.is_some() && self.trace.is_none() {
            return Err(usage_error::<Cli>(
                Some("restore"),
                "--at TIME needs --trace TRACE (the journal keeps only the first limits)",
            ));
        }
        let source = match (self.journal, self.trace) {
            (Some(j), None) => Source::Journal(j),
            (None, Some(t)) => Source::Trace {
                path: t,
                at: self.at,
            },
            _ => {
                return Err(usage_error::<Cli>(
                    Some("restore"),
                    "give exactly one of --journal FILE or --trace TRACE",
                ))
            }
        };
        let root = self.root.resolve();
        let lock_file = self
            .lock_file
            .unwrap_or_else(|| default_lock_file(&root.path));
        Ok(RestoreConfig {
            root,
            source,
            dry_run: self.dry_run,
            format: self.format,
            lock_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Command;

    fn config(args: &[&str]) -> Result<RestoreConfig, clap::Error> {
        let cli = Cli::try_parse_from(["cgact", "restore"].iter().chain(args))?;
        match cli.command {
            Some(Command::Restore(a)) => a.validate(),
            other => panic!("not restore: {other:?}"),
        }
    }

    #[test]
    fn one_source_is_required_and_at_needs_a_trace() {
        for args in [
            &[][..],
            &["--journal", "j", "--trace", "t"],
            &["--journal", "j", "--at", "+1s"],
            &["--trace", "t", "--at", "soon"],
            &["--trace", "t", "--format", "xml"],
        ] {
            assert_eq!(config(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
        let c = config(&["--root", "/tmp/cgcal-no-such-root", "--journal", "j"]).unwrap();
        assert_eq!(c.source, Source::Journal("j".into()));
        assert_eq!(
            c.lock_file,
            PathBuf::from("/run/cgact-tmp-cgcal_no_such_root.lock"),
            "the daemon's default lock"
        );
        let c = config(&[
            "--trace",
            "t",
            "--at",
            "-5s",
            "--dry-run",
            "--lock-file",
            "l",
        ])
        .unwrap();
        assert_eq!(
            c.source,
            Source::Trace {
                path: "t".into(),
                at: Some(TimeSpec::FromEnd(5_000_000_000))
            }
        );
        assert!(c.dry_run);
        assert_eq!(c.lock_file, PathBuf::from("l"));
    }
}
