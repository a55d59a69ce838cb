//! `cgact`'s command line: the daemon's flags, their validation into
//! [`DaemonConfig`], and the `completions` subcommand.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use cgcal_cli::metrics::MetricsArgs;
use cgcal_cli::value;
use cgcal_cli::{
    usage_error, CgroupRoot, CompletionsArgs, LevelFilter, LogArgs, ManArgs, PolicyArgs, RootArgs,
};
use cgcal_core::policy::{self, PolicyConfig};
use clap::{Parser, Subcommand, ValueEnum};

use crate::daemon;

/// The program's name, as errors and completions spell it.
pub const PROGRAM: &str = "cgact";

/// Directory of the default lock file.
pub const LOCK_DIR: &str = "/run";

/// `cgact`: the daemon that moves memory to cgroups under OOM.
#[derive(Debug, Parser)]
#[command(name = "cgact", version, propagate_version = true)]
#[command(
    about = "Keep cgroups alive under memory pressure: raise the limit of a cgroup under OOM from global headroom or from under-used donors"
)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    /// `completions` (or the hidden `man`); without one, run the daemon.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The hierarchy to manage.
    #[command(flatten)]
    pub root: RootArgs,
    /// Phase 1 statistics of the managed cgroups (`cgrec stats` output)
    #[arg(long, value_name = "FILE", required = true)]
    pub stats: Option<PathBuf>,
    /// The algorithm (see `cgsim algos`)
    #[arg(long, value_name = "NAME", default_value = "proportional")]
    pub algo: String,
    /// When to act
    #[arg(long, value_enum, default_value = "react")]
    pub mode: DaemonMode,
    /// Policy tunables.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Append one audit JSON line per decision to this file
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Decide and log, but write no limit
    #[arg(long)]
    pub dry_run: bool,
    /// Handle the cgroups already under OOM, then exit
    #[arg(long)]
    pub once: bool,
    /// In rescue mode, how long to look for memory before letting the kernel kill
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = value::positive_duration)]
    pub deadline: Duration,
    /// Record each change before making it, so that a restarted instance can finish or undo it [default: no journal]
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// One instance per root: the lock taken at start [default: /run/cgact-ROOT.lock, ROOT the root's path with / as -]
    #[arg(long, value_name = "FILE")]
    pub lock_file: Option<PathBuf>,
    /// Prometheus metrics of the daemon.
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Log verbosity.
    #[command(flatten)]
    pub log_level: LogArgs,
}

/// `cgact`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a shell completion script to stdout
    Completions(CompletionsArgs),
    /// Write manual pages into a directory
    #[command(hide = true)]
    Man(ManArgs),
    /// Put back the limits the cgroups had before cgact changed them (from the journal or a cgrec trace)
    Restore(crate::restore::RestoreArgs),
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DaemonMode {
    /// Respond to OOM kills so that the next run fits
    React,
    /// Hold the kill off (v1 oom_kill_disable, v2 memory.high) while finding memory
    Rescue,
    /// Act on usage thresholds before any OOM
    Preempt,
}

impl DaemonMode {
    /// The name as `--mode` and the audit log spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DaemonMode::React => "react",
            DaemonMode::Rescue => "rescue",
            DaemonMode::Preempt => "preempt",
        }
    }
}

/// Validated daemon settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// The hierarchy to manage (its directory is the global cgroup).
    pub root: CgroupRoot,
    /// Phase 1 statistics file.
    pub stats: PathBuf,
    /// The algorithm, a name from [`cgcal_core::policy::all_names`].
    pub algo: &'static str,
    /// When to act.
    pub mode: DaemonMode,
    /// Policy tunables (validated).
    pub policy: PolicyConfig,
    /// Audit log file (`--log`).
    pub audit_log: Option<PathBuf>,
    /// `--dry-run`: decide and log, write nothing.
    pub dry_run: bool,
    /// `--once`: handle what is under OOM now, then exit.
    pub once: bool,
    /// Rescue deadline (> 0).
    pub deadline: Duration,
    /// Journal file, if any.
    pub journal: Option<PathBuf>,
    /// The lock file (given, or [`default_lock_file`] of the root).
    pub lock_file: PathBuf,
}

/// The default lock file of a root: `/run/cgact-sys-fs-cgroup-memory.lock`
/// for `/sys/fs/cgroup/memory` (normal components joined by `-`; `/` alone
/// gives `cgact-root.lock`). The root is canonicalized when it exists, so
/// two spellings of one directory share one lock.
pub fn default_lock_file(root: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let parts: Vec<String> = canonical
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().replace('-', "_")),
            _ => None,
        })
        .collect();
    let name = if parts.is_empty() {
        "root".to_string()
    } else {
        parts.join("-")
    };
    Path::new(LOCK_DIR).join(format!("cgact-{name}.lock"))
}

impl Cli {
    /// The daemon's settings; `--stats` is required by clap unless a
    /// subcommand is given, and the algorithm must be known.
    pub fn validate(self) -> Result<DaemonConfig, clap::Error> {
        let fail = |message: String| usage_error::<Cli>(None, message);
        let stats = self
            .stats
            .ok_or_else(|| fail("--stats FILE is required to run the daemon".to_string()))?;
        let known = policy::all_names();
        let algo = known
            .iter()
            .find(|k| **k == self.algo.as_str())
            .copied()
            .ok_or_else(|| {
                fail(format!(
                    "unknown algorithm '{}': expected one of {}",
                    self.algo,
                    known.join(", ")
                ))
            })?;
        let policy = self.policy.to_config();
        policy.validate().map_err(|e| fail(e.to_string()))?;
        let root = self.root.resolve();
        let lock_file = self
            .lock_file
            .unwrap_or_else(|| default_lock_file(&root.path));
        Ok(DaemonConfig {
            root,
            stats,
            algo,
            mode: self.mode,
            policy,
            audit_log: self.log,
            dry_run: self.dry_run,
            once: self.once,
            deadline: self.deadline,
            journal: self.journal,
            lock_file,
        })
    }
}

/// Parses `args` (program name first) and runs the daemon or the
/// subcommand. Usage errors come back as `clap::Error` (exit 2 through
/// [`cgcal_cli::run_main`]), `--help` and `--version` too (exit 0).
pub fn run<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    match cli.command {
        Some(Command::Completions(args)) => Ok(args.run::<Cli>(PROGRAM)?),
        Some(Command::Man(args)) => Ok(args.run::<Cli>(PROGRAM)?),
        Some(Command::Restore(args)) => {
            cgcal_cli::init_tracing(cli.log_level.level(LevelFilter::WARN));
            crate::restore::run(&args.validate()?)
        }
        None => {
            cgcal_cli::init_tracing(cli.log_level.level(LevelFilter::INFO));
            let metrics = cli.metrics.clone();
            metrics.validate::<Cli>()?;
            daemon::run_with_metrics(cli.validate()?, &metrics)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn config(args: &[&str]) -> Result<DaemonConfig, clap::Error> {
        Cli::try_parse_from(["cgact"].iter().chain(args))?.validate()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cfg = config(&["--stats", "s.json", "--root", "/tmp/cgcal-no-such-root"]).unwrap();
        assert_eq!(cfg.algo, "proportional");
        assert_eq!(cfg.mode, DaemonMode::React);
        assert_eq!(cfg.policy, PolicyConfig::default());
        assert_eq!(cfg.deadline, Duration::from_millis(500));
        assert!(!cfg.dry_run && !cfg.once);
        assert_eq!(
            cfg.lock_file,
            PathBuf::from("/run/cgact-tmp-cgcal_no_such_root.lock")
        );
    }

    #[test]
    fn usage_errors() {
        for args in [
            &[][..],
            &["--stats", "s.json", "--threshold", "1.5"],
            &["--stats", "s.json", "--threshold", "0"],
            &["--stats", "s.json", "--deadline", "0ms"],
            &["--stats", "s.json", "--algo", "nope"],
            &["--stats", "s.json", "--algo", "vpa,krr"],
            &["--stats", "s.json", "--mode", "sometimes"],
            &["--stats", "s.json", "--cgroup-version", "3"],
            &["--stats", "s.json", "completions", "bash"],
        ] {
            assert_eq!(config(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn completions_need_no_stats() {
        let cli = Cli::try_parse_from(["cgact", "completions", "zsh"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Completions(_))));
    }

    #[test]
    fn every_flag_reaches_the_config() {
        let cfg = config(&[
            "--root",
            "/",
            "--cgroup-version",
            "2",
            "--stats",
            "s.json",
            "--algo",
            "vpa",
            "--mode",
            "preempt",
            "--bump-ratio",
            "0.5",
            "--min-bump",
            "1G",
            "--log",
            "a.log",
            "--dry-run",
            "--once",
            "--deadline",
            "2s",
            "--journal",
            "j",
            "--lock-file",
            "l",
        ])
        .unwrap();
        assert_eq!(cfg.root.version, Some(cgcal_core::trace::CgroupVersion::V2));
        assert_eq!(cfg.algo, "vpa");
        assert_eq!(cfg.mode, DaemonMode::Preempt);
        assert_eq!(cfg.policy.bump_ratio, 0.5);
        assert_eq!(cfg.policy.min_bump, 1 << 30);
        assert_eq!(cfg.audit_log, Some(PathBuf::from("a.log")));
        assert!(cfg.dry_run && cfg.once);
        assert_eq!(cfg.deadline, Duration::from_secs(2));
        assert_eq!(cfg.journal, Some(PathBuf::from("j")));
        assert_eq!(cfg.lock_file, PathBuf::from("l"));
        assert_eq!(
            default_lock_file(Path::new("/")),
            PathBuf::from("/run/cgact-root.lock")
        );
    }
}
