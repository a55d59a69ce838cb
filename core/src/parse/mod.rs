//! Pure parsers for command-line values: sizes, durations, points in time,
//! percentiles, ratios and the replay's initial-limit rule.
//!
//! Every parser takes a `&str` and returns its value or a [`ParseError`]; none
//! opens a file or reads the clock. Each value type also formats back to a
//! string the parser accepts (`parse(format(v)) == v`), which the tests check.
//!
//! Accepted syntax, in short:
//!
//! | value | examples | notes |
//! |---|---|---|
//! | size ([`parse_size`]) | `4096`, `512K`, `64Mi`, `2GiB`, `1.5G`, `max` | every suffix is binary (1024-based), case-insensitive |
//! | duration ([`parse_duration`]) | `250ms`, `1s`, `5m`, `2h`, `1d`, `1h30m`, `1.5s` | unit required; `ns us ms s m h d` |
//! | time ([`parse_time`]) | `2026-11-28T12:00:00Z`, `@1795867200`, `+10m`, `-30s` | RFC 3339, Unix seconds, offset from start or end |
//! | percentiles ([`parse_percentiles`]) | `90,99,99.9` | each in (0, 100], at most 9 decimals |
//! | ratio ([`parse_threshold`], [`parse_fraction`]) | `0.9` | (0, 1] and [0, 1] |
//!
//! Numbers are plain decimals (`12`, `1.25`): no sign, exponent, spaces or
//! underscores. A fraction is accepted only when the value it denotes is whole
//! (`1.5K` is 1536 bytes; `1.3K` is refused, as is `0.5ns`).
//!
//! ```
//! use cgcal_core::parse::{parse_duration, parse_size, parse_time, SizeArg, TimeSpec};
//! assert_eq!(parse_size("64M").unwrap(), SizeArg::Bytes(64 << 20));
//! assert_eq!(parse_size("max").unwrap(), SizeArg::Max);
//! assert_eq!(parse_duration("250ms").unwrap(), 250_000_000);
//! assert_eq!(parse_time("+10m").unwrap(), TimeSpec::FromStart(600_000_000_000));
//! ```

mod civil;
mod decimal;
mod duration;
mod error;
mod initial_limits;
mod percentiles;
mod ratio;
mod size;
mod timespec;

pub use civil::days_from_civil;
pub use duration::{format_duration, parse_duration};
pub use error::ParseError;
pub use initial_limits::{parse_initial_limits, InitialLimits};
pub use percentiles::{parse_percentile, parse_percentiles, Percentile};
pub use ratio::{parse_fraction, parse_threshold};
pub use size::{parse_size, SizeArg};
pub use timespec::{format_rfc3339_ns, parse_time, TimeSpec};
