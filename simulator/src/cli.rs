//! `cgsim`'s command line: clap `Args` per subcommand, their validation into
//! `*Config` structs, and the dispatch to [`crate::commands`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use cgcal_cli::value;
use cgcal_cli::{usage_error, CompletionsArgs, LevelFilter, LogArgs, ManArgs, PolicyArgs};
use cgcal_core::parse::{InitialLimits, TimeSpec};
use cgcal_core::policy::{self, PolicyConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// The program's name, as errors and completions spell it.
pub const PROGRAM: &str = "cgsim";

/// `cgsim`: replay cgroup memory traces through reallocation algorithms.
#[derive(Debug, Parser)]
#[command(name = "cgsim", version, propagate_version = true)]
#[command(about = "Replay cgroup memory traces through reallocation algorithms")]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Log verbosity.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `cgsim`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay traces through algorithms and report OOM kills, adjustments and slack
    Replay(ReplayArgs),
    /// Write a deterministic synthetic trace
    Synth(SynthArgs),
    /// List the algorithms, one line each
    Algos,
    /// Write a shell completion script to stdout
    Completions(CompletionsArgs),
    /// Write manual pages into a directory
    #[command(hide = true)]
    Man(ManArgs),
}

/// `cgsim replay` flags.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The traces to replay
    #[arg(value_name = "TRACE", required = true)]
    pub traces: Vec<PathBuf>,
    /// Algorithms to compare, comma-separated, or all (see `cgsim algos`)
    #[arg(
        long,
        value_name = "NAME,...|all",
        value_delimiter = ',',
        default_value = "proportional"
    )]
    pub algo: Vec<String>,
    /// What an OOM does in the simulation
    #[arg(long, value_enum, default_value = "react")]
    pub mode: ReplayMode,
    /// Compute Phase 1 statistics from the trace up to this time and replay the rest: RFC 3339, @UNIX_SECONDS, +OFFSET or -OFFSET [default: the first half of the trace]
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = value::time, conflicts_with = "stats")]
    pub train_until: Option<TimeSpec>,
    /// Take Phase 1 statistics from this file (`cgrec stats` output) and replay the whole trace
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Where the initial limits come from: trace, train-max, or train-pNN[xF] (a training percentile times F)
    #[arg(long, value_name = "RULE", default_value = "trace", value_parser = value::initial_limits)]
    pub initial_limits: InitialLimits,
    /// Report format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ReportFormat,
    /// Write every decision as an audit-log JSON line (cgact's format, simulated times)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Draw demand and limits over time into an SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Write the report here instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Policy tunables.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `cgsim replay --mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayMode {
    /// The kernel kills, then the algorithm adjusts limits for what follows
    React,
    /// The kill is held off while the algorithm finds memory; counted only if it cannot
    Rescue,
}

/// `cgsim replay --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for a terminal
    Table,
    /// The JSON report of SPEC §5
    Json,
    /// One CSV row per trace and algorithm
    Csv,
}

/// `cgsim synth` flags.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The workload to synthesize
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Seed of the generator: same seed, same bytes
    #[arg(long, value_name = "N")]
    pub seed: u64,
    /// Time span of the trace
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = value::positive_duration)]
    pub duration: Duration,
    /// The trace to write
    #[arg(short = 'o', long = "output", value_name = "TRACE")]
    pub output: PathBuf,
}

/// `cgsim synth --scenario` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Scenario {
    /// Flat usage with small noise
    Steady,
    /// One cgroup grows until it hits its limit
    Leak,
    /// Short bursts above the usual level
    Spike,
    /// A daily cycle
    Diurnal,
    /// Jobs that start, peak and end
    Batch,
    /// One cgroup's growth squeezes the others
    NoisyNeighbour,
}

/// Where the replay's Phase 1 statistics come from (SPEC §5, no look-ahead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Training {
    /// Computed from the first half of each trace; the second half is replayed.
    FirstHalf,
    /// Computed from each trace up to this time; the rest is replayed.
    Until(TimeSpec),
    /// Read from a `cgrec stats` file; the whole trace is replayed.
    StatsFile(PathBuf),
}

/// Validated `cgsim replay` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// The traces, at least one.
    pub traces: Vec<PathBuf>,
    /// The algorithms, at least one, each a name from
    /// [`cgcal_core::policy::all_names`], without duplicates, in the order
    /// given (registry order for `all`).
    pub algos: Vec<&'static str>,
    /// What an OOM does.
    pub mode: ReplayMode,
    /// Where Phase 1 statistics come from.
    pub training: Training,
    /// Where the initial limits come from.
    pub initial_limits: InitialLimits,
    /// Report format.
    pub format: ReportFormat,
    /// Audit-log output (`--log`).
    pub audit_log: Option<PathBuf>,
    /// SVG plot output (`--plot`), ends in `.svg`.
    pub plot: Option<PathBuf>,
    /// Report output; `None`: stdout.
    pub output: Option<PathBuf>,
    /// Policy tunables (validated).
    pub policy: PolicyConfig,
}

/// Validated `cgsim synth` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    /// The workload.
    pub scenario: Scenario,
    /// Generator seed.
    pub seed: u64,
    /// Time span (> 0).
    pub duration: Duration,
    /// The trace to write.
    pub output: PathBuf,
}

impl ReplayArgs {
    /// Resolves algorithm names against the registry, picks the training
    /// source and checks the plot's file name.
    pub fn validate(self) -> Result<ReplayConfig, clap::Error> {
        let fail = |message: String| usage_error::<Cli>(Some("replay"), message);
        let algos = resolve_algos(&self.algo).map_err(fail)?;
        if let Some(plot) = &self.plot {
            let is_svg = plot
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
            if !is_svg {
                return Err(fail(format!(
                    "--plot writes SVG: give a file name ending in .svg, not '{}'",
                    plot.display()
                )));
            }
        }
        let policy = self.policy.to_config();
        policy.validate().map_err(|e| fail(e.to_string()))?;
        let training = match (self.train_until, self.stats) {
            (Some(t), _) => Training::Until(t),
            (None, Some(file)) => Training::StatsFile(file),
            (None, None) => Training::FirstHalf,
        };
        Ok(ReplayConfig {
            traces: self.traces,
            algos,
            mode: self.mode,
            training,
            initial_limits: self.initial_limits,
            format: self.format,
            audit_log: self.log,
            plot: self.plot,
            output: self.output,
            policy,
        })
    }
}

/// `--algo` values → registry names: `all` alone, or known names (duplicates
/// dropped, order kept).
fn resolve_algos(given: &[String]) -> Result<Vec<&'static str>, String> {
    let known = policy::all_names();
    if given.iter().any(|name| name == "all") {
        return if given.len() == 1 {
            Ok(known.to_vec())
        } else {
            Err("--algo all cannot be combined with other names".to_string())
        };
    }
    let mut out: Vec<&'static str> = Vec::new();
    for name in given {
        let Some(found) = known.iter().find(|k| **k == name.as_str()) else {
            return Err(format!(
                "unknown algorithm '{name}': expected all or one of {}",
                known.join(", ")
            ));
        };
        if !out.contains(found) {
            out.push(found);
        }
    }
    if out.is_empty() {
        return Err("--algo needs at least one name".to_string());
    }
    Ok(out)
}

/// Parses `args` (program name first) and runs the subcommand. Usage errors
/// come back as `clap::Error` (exit 2 through [`cgcal_cli::run_main`]),
/// `--help` and `--version` too (exit 0).
pub fn run<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    cgcal_cli::init_tracing(cli.log.level(LevelFilter::WARN));
    match cli.command {
        Command::Replay(args) => commands::replay::run(args.validate()?),
        Command::Synth(args) => commands::synth::run(SynthConfig {
            scenario: args.scenario,
            seed: args.seed,
            duration: args.duration,
            output: args.output,
        }),
        Command::Algos => commands::algos::run(),
        Command::Completions(args) => Ok(args.run::<Cli>(PROGRAM)?),
        Command::Man(args) => Ok(args.run::<Cli>(PROGRAM)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn replay(args: &[&str]) -> Result<ReplayConfig, clap::Error> {
        let cli = Cli::try_parse_from(["cgsim", "replay"].iter().chain(args))?;
        match cli.command {
            Command::Replay(a) => a.validate(),
            _ => panic!("not replay"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn replay_defaults() {
        let cfg = replay(&["a.bin", "b.bin"]).unwrap();
        assert_eq!(cfg.traces.len(), 2);
        assert_eq!(cfg.algos, ["proportional"]);
        assert_eq!(cfg.mode, ReplayMode::React);
        assert_eq!(cfg.training, Training::FirstHalf);
        assert_eq!(cfg.initial_limits, InitialLimits::Trace);
        assert_eq!(cfg.format, ReportFormat::Table);
        assert_eq!(cfg.policy, PolicyConfig::default());
    }

    #[test]
    fn algorithms_resolve_against_the_registry() {
        assert_eq!(
            replay(&["a.bin", "--algo", "all"]).unwrap().algos,
            policy::all_names()
        );
        assert_eq!(
            replay(&["a.bin", "--algo", "vpa,static,vpa"])
                .unwrap()
                .algos,
            ["vpa", "static"]
        );
        for bad in ["nope", "all,vpa", ""] {
            let err = replay(&["a.bin", "--algo", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        let err = replay(&["a.bin", "--algo", "nope"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown algorithm 'nope'") && err.contains("proportional"),
            "{err}"
        );
    }

    #[test]
    fn training_sources_are_exclusive() {
        assert_eq!(
            replay(&["a.bin", "--train-until", "-10m"])
                .unwrap()
                .training,
            Training::Until(TimeSpec::FromEnd(600_000_000_000))
        );
        assert_eq!(
            replay(&["a.bin", "--stats", "s.json"]).unwrap().training,
            Training::StatsFile(PathBuf::from("s.json"))
        );
        let err = replay(&["a.bin", "--stats", "s.json", "--train-until", "+1h"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["a.bin", "--threshold", "1.5"][..],
            &["a.bin", "--threshold", "0"],
            &["a.bin", "--mode", "preempt"],
            &["a.bin", "--initial-limits", "train-p101"],
            &["a.bin", "--plot", "out.png"],
            &[],
        ] {
            assert_eq!(replay(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
        let cfg = replay(&[
            "a.bin",
            "--initial-limits",
            "train-p99x1.2",
            "--plot",
            "p.SVG",
            "--min-bump",
            "64M",
        ])
        .unwrap();
        assert_eq!(cfg.initial_limits.to_string(), "train-p99x1.2");
        assert_eq!(cfg.policy.min_bump, 64 << 20);
    }

    #[test]
    fn synth_needs_scenario_seed_and_output() {
        let parse = |args: &[&str]| Cli::try_parse_from(["cgsim", "synth"].iter().chain(args));
        assert!(parse(&["--scenario", "leak", "--seed", "1"]).is_err());
        assert!(parse(&["--scenario", "leak", "-o", "t.bin"]).is_err());
        assert!(parse(&[
            "--scenario",
            "leak",
            "--seed",
            "1",
            "-o",
            "t.bin",
            "--duration",
            "0s"
        ])
        .is_err());
        let Command::Synth(a) = parse(&[
            "--scenario",
            "noisy-neighbour",
            "--seed",
            "7",
            "-o",
            "t.bin",
        ])
        .unwrap()
        .command
        else {
            panic!("not synth");
        };
        assert_eq!(a.scenario, Scenario::NoisyNeighbour);
        assert_eq!(a.duration, Duration::from_secs(3600));
    }
}
