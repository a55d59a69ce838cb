//! `cgrec`'s command line: clap `Args` per subcommand, their validation into
//! `*Config` structs, and the dispatch to [`crate::commands`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use cgcal_cli::metrics::MetricsArgs;
use cgcal_cli::value;
use cgcal_cli::LevelFilter;
use cgcal_cli::{usage_error, CgroupRoot, CompletionsArgs, LogArgs, ManArgs, RootArgs};
use cgcal_core::parse::{SizeArg, TimeSpec};
use cgcal_core::stats::{Metric, Percentile};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::record::rotation::RotationPolicy;

/// The program's name, as errors and completions spell it.
pub const PROGRAM: &str = "cgrec";

/// `cgrec`: record cgroup memory usage into compact traces; Phase 1 statistics.
#[derive(Debug, Parser)]
#[command(name = "cgrec", version, propagate_version = true)]
#[command(about = "Record cgroup memory usage into compact traces; compute Phase 1 statistics")]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Log verbosity.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `cgrec`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sample every cgroup under the root into a trace until --duration, SIGINT or SIGTERM
    Record(RecordArgs),
    /// Phase 1 statistics (min, max, median and percentiles per cgroup) of a trace, as JSON
    Stats(StatsArgs),
    /// Write a trace's samples and events as CSV or JSON lines
    Export(ExportArgs),
    /// Build a trace from CSV (timestamp_ns,cgroup,kind,usage_bytes,limit_bytes)
    Import(ImportArgs),
    /// Describe a trace: header, time span, cgroups, samples, events, chunk health
    Inspect(InspectArgs),
    /// Write a shell completion script to stdout
    Completions(CompletionsArgs),
    /// Write manual pages into a directory
    #[command(hide = true)]
    Man(ManArgs),
}

/// `cgrec record` flags.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The hierarchy to record.
    #[command(flatten)]
    pub root: RootArgs,
    /// Time between two samples of every cgroup
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = value::positive_duration)]
    pub interval: Duration,
    /// Time between two reads of memory.stat (working-set inputs), taken at sample times
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = value::positive_duration)]
    pub stat_interval: Duration,
    /// Stop after this long [default: run until SIGINT or SIGTERM]
    #[arg(long, value_name = "DURATION", value_parser = value::positive_duration)]
    pub duration: Option<Duration>,
    /// Longest time data stays unwritten: a crash loses at most this much
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = value::positive_duration)]
    pub flush: Duration,
    /// The trace file to write [default: cgrec-HOST-YYYYMMDDTHHMMSSZ.bin in the current directory]; with --rotate or --rotate-size, the directory the files go to (created if missing) [default: the current directory]
    #[arg(short = 'o', long = "out", value_name = "FILE|DIR")]
    pub out: Option<PathBuf>,
    /// Start a new file (cgrec-HOST-YYYYMMDDTHHMMSS.mmmZ.bin in the --out directory) when the current one is this old
    #[arg(long, value_name = "DURATION", value_parser = value::positive_duration)]
    pub rotate: Option<Duration>,
    /// Start a new file when the current one reaches this size
    #[arg(long, value_name = "SIZE", value_parser = value::size_bytes)]
    pub rotate_size: Option<u64>,
    /// Delete rotated files that ended longer ago than this (never the current file); needs --rotate or --rotate-size
    #[arg(long, value_name = "DURATION", value_parser = value::positive_duration)]
    pub retain: Option<Duration>,
    /// Prometheus metrics of the recording.
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// `cgrec stats` flags.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The trace file, or a directory of trace files read as one trace (cgrec record --rotate)
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
    /// Window start: RFC 3339, @UNIX_SECONDS, +OFFSET from the trace's start or -OFFSET from its end [default: the trace's start]
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = value::time)]
    pub from: Option<TimeSpec>,
    /// Window end, inclusive, same forms as --from [default: the trace's end]
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = value::time)]
    pub to: Option<TimeSpec>,
    /// The quantity the statistics are computed over
    #[arg(long, value_enum, default_value = "usage")]
    pub metric: MetricArg,
    /// Extra percentiles, each in (0, 100]: adds "p90_consumption" etc.
    #[arg(long, value_name = "LIST", value_parser = value::percentiles)]
    pub percentiles: Option<value::Percentiles>,
    /// Write the JSON here instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `--metric` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// The recorded usage (memory.usage_in_bytes / memory.current)
    Usage,
    /// Usage less inactive file pages
    WorkingSet,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Self {
        match m {
            MetricArg::Usage => Metric::Usage,
            MetricArg::WorkingSet => Metric::WorkingSet,
        }
    }
}

/// `cgrec export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trace file, or a directory of trace files read as one trace (cgrec record --rotate)
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
    /// Output format
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write here instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `cgrec export --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// timestamp_ns,cgroup,kind,usage_bytes,limit_bytes
    Csv,
    /// One JSON object per sample or event
    Jsonl,
    /// Apache Parquet with the CSV's columns (needs -o)
    Parquet,
}

/// `cgrec import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Input format
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// The file to import
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// The trace to write
    #[arg(short = 'o', long = "output", value_name = "TRACE")]
    pub output: PathBuf,
    /// Limit of the global cgroup when the input has no rows for it; max for unlimited [default: the host memory the input states, else unlimited]
    #[arg(long, value_name = "SIZE", value_parser = value::size)]
    pub host_memory: Option<SizeArg>,
}

/// `cgrec import --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// The CSV that `cgrec export --format csv` writes
    Csv,
}

/// `cgrec inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The trace file, or a directory of trace files read as one trace (cgrec record --rotate)
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
}

/// Validated `cgrec record` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    /// The hierarchy to record.
    pub root: CgroupRoot,
    /// Time between two samples (> 0).
    pub interval: Duration,
    /// Time between two reads of `memory.stat` (> 0).
    pub stat_interval: Duration,
    /// Stop after this long; `None`: until SIGINT or SIGTERM.
    pub duration: Option<Duration>,
    /// Longest time data stays unwritten (> 0).
    pub flush: Duration,
    /// The trace file; `None`: [`default_trace_name`] in the current
    /// directory, named when recording starts. Unused with rotation.
    pub out: Option<PathBuf>,
    /// Rotation and retention (`--rotate`, `--rotate-size`, `--retain`);
    /// its directory is `--out` (default `.`).
    pub rotation: Option<RotationPolicy>,
    /// Where metrics go (`--metrics-file`, `--metrics-listen`); checked.
    pub metrics: MetricsArgs,
}

/// The default `cgrec record` output name for `host` and a start time in
/// nanoseconds since the epoch: `cgrec-HOST-YYYYMMDDTHHMMSSZ.bin`, with
/// characters other than ASCII letters, digits, `.`, `_` and `-` in the host
/// name replaced by `_`.
pub fn default_trace_name(host: &str, start_ns: u64) -> String {
    format!("{}{}Z.bin", trace_name_prefix(host), second_stamp(start_ns))
}

/// The name of a rotated file ([`crate::record::rotation`]):
/// `cgrec-HOST-YYYYMMDDTHHMMSS.mmmZ.bin`, fixed width, so names sort in
/// time order; the host as in [`default_trace_name`].
pub fn rotated_trace_name(host: &str, start_ns: u64) -> String {
    let ms = start_ns % 1_000_000_000 / 1_000_000;
    format!(
        "{}{}.{ms:03}Z.bin",
        trace_name_prefix(host),
        second_stamp(start_ns)
    )
}

/// `cgrec-HOST-`, the start of every trace name [`default_trace_name`]
/// and [`rotated_trace_name`] give for `host`.
pub fn trace_name_prefix(host: &str) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("cgrec-{host}-")
}

/// `YYYYMMDDTHHMMSS` (UTC) of a time in nanoseconds since the epoch.
fn second_stamp(ns: u64) -> String {
    cgcal_core::parse::format_rfc3339_ns(ns - ns % 1_000_000_000)
        .chars()
        .filter(|c| !matches!(c, '-' | ':' | 'Z'))
        .collect()
}

/// Validated `cgrec stats` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsConfig {
    /// The trace to read.
    pub trace: PathBuf,
    /// Window start; `None`: the trace's start.
    pub from: Option<TimeSpec>,
    /// Window end (inclusive); `None`: the trace's end.
    pub to: Option<TimeSpec>,
    /// The quantity the statistics are computed over.
    pub metric: Metric,
    /// Extra percentiles, sorted, without duplicates; may be empty.
    pub percentiles: Vec<Percentile>,
    /// Output file; `None`: stdout.
    pub output: Option<PathBuf>,
}

/// Validated `cgrec export` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// The trace to read.
    pub trace: PathBuf,
    /// Output format.
    pub format: ExportFormat,
    /// Output file; `None`: stdout.
    pub output: Option<PathBuf>,
}

/// Validated `cgrec import` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConfig {
    /// Input format.
    pub format: ImportFormat,
    /// The file to import.
    pub input: PathBuf,
    /// The trace to write.
    pub output: PathBuf,
    /// `--host-memory`: `None` when not given (the input's host memory,
    /// else unlimited), `Some(SizeArg::Max)` for explicitly unlimited.
    pub host_memory: Option<SizeArg>,
}

/// Validated `cgrec inspect` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectConfig {
    /// The trace to read.
    pub trace: PathBuf,
}

impl RecordArgs {
    /// Applies defaults; every value was range-checked by its parser.
    /// `--retain` without a rotation is a usage error.
    pub fn validate(self) -> Result<RecordConfig, clap::Error> {
        let rotating = self.rotate.is_some() || self.rotate_size.is_some();
        if self.retain.is_some() && !rotating {
            return Err(usage_error::<Cli>(
                Some("record"),
                "--retain deletes rotated files: give --rotate or --rotate-size too".to_string(),
            ));
        }
        if self.rotate_size == Some(0) {
            return Err(usage_error::<Cli>(
                Some("record"),
                "--rotate-size must be greater than zero".to_string(),
            ));
        }
        self.metrics.validate::<Cli>()?;
        let rotation = rotating.then(|| RotationPolicy {
            dir: self.out.clone().unwrap_or_else(|| PathBuf::from(".")),
            every: self.rotate,
            max_bytes: self.rotate_size,
            retain: self.retain,
        });
        Ok(RecordConfig {
            root: self.root.resolve(),
            interval: self.interval,
            stat_interval: self.stat_interval,
            duration: self.duration,
            flush: self.flush,
            out: self.out,
            rotation,
            metrics: self.metrics,
        })
    }
}

impl StatsArgs {
    /// Refuses a window whose start is known to lie after its end.
    pub fn validate(self) -> Result<StatsConfig, clap::Error> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from.is_known_after(to) {
                return Err(usage_error::<Cli>(
                    Some("stats"),
                    format!("--from {from} is after --to {to}: the window would be empty"),
                ));
            }
        }
        Ok(StatsConfig {
            trace: self.trace,
            from: self.from,
            to: self.to,
            metric: self.metric.into(),
            percentiles: self.percentiles.map(|p| p.0).unwrap_or_default(),
            output: self.output,
        })
    }
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
        Command::Record(args) => commands::record::run(args.validate()?),
        Command::Stats(args) => commands::stats::run(args.validate()?),
        Command::Export(args) if args.format == ExportFormat::Parquet && args.output.is_none() => {
            Err(usage_error::<Cli>(
                Some("export"),
                "--format parquet writes a file: give it with -o FILE",
            )
            .into())
        }
        Command::Export(args) => commands::export::run(ExportConfig {
            trace: args.trace,
            format: args.format,
            output: args.output,
        }),
        Command::Import(args) => commands::import::run(ImportConfig {
            format: args.format,
            input: args.input,
            output: args.output,
            host_memory: args.host_memory,
        }),
        Command::Inspect(args) => commands::inspect::run(InspectConfig { trace: args.trace }),
        Command::Completions(args) => Ok(args.run::<Cli>(PROGRAM)?),
        Command::Man(args) => Ok(args.run::<Cli>(PROGRAM)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cgrec").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn record_defaults() {
        let Command::Record(args) = parse(&["record"]).unwrap().command else {
            panic!("not record");
        };
        let cfg = args.validate().unwrap();
        assert_eq!(cfg.rotation, None);
        assert_eq!(cfg.interval, Duration::from_secs(1));
        assert_eq!(cfg.stat_interval, Duration::from_secs(10));
        assert_eq!(cfg.flush, Duration::from_secs(5));
        assert_eq!(cfg.duration, None);
        assert_eq!(cfg.out, None);
    }

    #[test]
    fn zero_intervals_are_usage_errors() {
        for flag in ["--interval", "--stat-interval", "--flush", "--duration"] {
            let err = parse(&["record", flag, "0s"]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{flag}");
            assert!(err.to_string().contains("greater than zero"), "{err}");
        }
    }

    #[test]
    fn stats_window_order_is_checked() {
        let stats = |args: &[&str]| match parse(args).unwrap().command {
            Command::Stats(a) => a.validate(),
            _ => panic!("not stats"),
        };
        let err = stats(&[
            "stats",
            "t.bin",
            "--from",
            "2026-11-28T12:00:00Z",
            "--to",
            "@1000",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("is after --to"), "{err}");
        assert!(stats(&["stats", "t.bin", "--from", "+10m", "--to", "+5m"]).is_err());
        assert!(stats(&["stats", "t.bin", "--from", "-5m", "--to", "-10m"]).is_err());
        let ok = stats(&[
            "stats",
            "t.bin",
            "--from",
            "+5m",
            "--to",
            "-30s",
            "--percentiles",
            "99,90",
            "--metric",
            "working-set",
        ])
        .unwrap();
        assert_eq!(ok.from, Some(TimeSpec::FromStart(300_000_000_000)));
        assert_eq!(ok.to, Some(TimeSpec::FromEnd(30_000_000_000)));
        assert_eq!(ok.metric, Metric::WorkingSet);
        let keys: Vec<_> = ok.percentiles.iter().map(|p| p.json_key()).collect();
        assert_eq!(keys, ["p90_consumption", "p99_consumption"]);
    }

    #[test]
    fn import_requires_format_and_output() {
        assert_eq!(
            parse(&["import", "a.csv", "-o", "t.bin"])
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            parse(&["import", "--format", "csv", "a.csv"])
                .unwrap_err()
                .exit_code(),
            2
        );
        let Command::Import(a) = parse(&[
            "import",
            "--format",
            "csv",
            "a.csv",
            "-o",
            "t.bin",
            "--host-memory",
            "64G",
        ])
        .unwrap()
        .command
        else {
            panic!("not import");
        };
        assert_eq!(a.host_memory, Some(SizeArg::Bytes(64 << 30)));
    }

    #[test]
    fn rotation_flags_make_a_policy_and_retain_needs_one() {
        let record = |args: &[&str]| match parse(args).unwrap().command {
            Command::Record(a) => a.validate(),
            _ => panic!("not record"),
        };
        let err = record(&["record", "--retain", "7d"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--rotate"), "{err}");
        assert_eq!(
            record(&["record", "--rotate-size", "0"])
                .unwrap_err()
                .exit_code(),
            2
        );
        let cfg = record(&[
            "record",
            "--rotate",
            "1h",
            "--rotate-size",
            "64M",
            "--retain",
            "7d",
            "-o",
            "/var/lib/cgrec",
        ])
        .unwrap();
        assert_eq!(
            cfg.rotation,
            Some(RotationPolicy {
                dir: PathBuf::from("/var/lib/cgrec"),
                every: Some(Duration::from_secs(3600)),
                max_bytes: Some(64 << 20),
                retain: Some(Duration::from_secs(7 * 86_400)),
            })
        );
        let cwd = record(&["record", "--rotate-size", "1M"]).unwrap();
        assert_eq!(cwd.rotation.unwrap().dir, PathBuf::from("."));
    }

    #[test]
    fn default_trace_names_are_file_safe() {
        assert_eq!(
            default_trace_name("web 1/a", 1_795_867_200_500_000_000),
            "cgrec-web_1_a-20261128T120000Z.bin"
        );
    }
}
