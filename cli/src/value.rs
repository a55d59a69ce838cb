//! clap value parsers over [`cgcal_core::parse`], for
//! `#[arg(value_parser = cgcal_cli::value::threshold)]`. A value they refuse
//! becomes clap's `invalid value` error: a usage error, exit 2.

use std::time::Duration;

use cgcal_core::parse::{self, InitialLimits, ParseError, Percentile, SizeArg, TimeSpec};

/// A size or `max` (`--host-memory`).
pub fn size(input: &str) -> Result<SizeArg, ParseError> {
    parse::parse_size(input)
}

/// A size in bytes; `max` is refused (`--min-bump`).
pub fn size_bytes(input: &str) -> Result<u64, String> {
    match parse::parse_size(input).map_err(|e| e.to_string())? {
        SizeArg::Bytes(n) => Ok(n),
        SizeArg::Max => Err("'max' is not allowed here: give a size such as 32M".to_string()),
    }
}

/// A duration, zero allowed.
pub fn duration(input: &str) -> Result<Duration, ParseError> {
    parse::parse_duration(input).map(Duration::from_nanos)
}

/// A duration greater than zero (`--interval`, `--flush`, `--deadline`).
pub fn positive_duration(input: &str) -> Result<Duration, String> {
    match parse::parse_duration(input).map_err(|e| e.to_string())? {
        0 => Err(format!("duration '{input}' must be greater than zero")),
        ns => Ok(Duration::from_nanos(ns)),
    }
}

/// A point in time (`--from`, `--to`, `--train-until`).
pub fn time(input: &str) -> Result<TimeSpec, ParseError> {
    parse::parse_time(input)
}

/// A threshold in (0, 1] (`--threshold`).
pub fn threshold(input: &str) -> Result<f64, ParseError> {
    parse::parse_threshold(input)
}

/// A fraction in [0, 1] (`--bump-ratio`).
pub fn fraction(input: &str) -> Result<f64, ParseError> {
    parse::parse_fraction(input)
}

/// The replay's initial-limit rule (`--initial-limits`).
pub fn initial_limits(input: &str) -> Result<InitialLimits, ParseError> {
    parse::parse_initial_limits(input)
}

/// A comma-separated percentile list, sorted and deduplicated
/// (`--percentiles 90,99,99.9`).
pub fn percentiles(input: &str) -> Result<Percentiles, ParseError> {
    parse::parse_percentiles(input).map(Percentiles)
}

/// The value of a `--percentiles` flag (a newtype, so that clap takes the
/// whole list as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Percentiles(pub Vec<Percentile>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_flags_cannot_use() {
        assert_eq!(size_bytes("32M"), Ok(32 << 20));
        assert!(size_bytes("max")
            .unwrap_err()
            .contains("'max' is not allowed"));
        assert_eq!(positive_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(
            positive_duration("0s").unwrap_err(),
            "duration '0s' must be greater than zero"
        );
        assert!(positive_duration("5").is_err());
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
        assert!(threshold("1.5").is_err());
        assert_eq!(percentiles("99,90").unwrap().0.len(), 2);
    }
}
