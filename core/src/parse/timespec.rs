//! Points in time for `--from`, `--to` and `--train-until`:
//!
//! * RFC 3339: `2026-11-28T12:00:00Z`, `2026-11-28T14:00:00.25+02:00`
//!   (`T`, `t` or a space between date and time; `Z`, `z` or `±HH:MM`;
//!   fractional seconds down to the nanosecond; leap seconds refused);
//! * `@UNIX_SECONDS`, optionally fractional: `@1795867200.5`;
//! * `+DURATION`: that long after the trace's start (`+10m`);
//! * `-DURATION`: that long before the trace's end (`-30s`).
//!
//! Times before 1970 and after 2554 (the end of `u64` nanoseconds) are refused.

use std::fmt;

use super::civil::{days_from_civil, days_in_month};
use super::decimal::{Decimal, ScaleError};
use super::duration::{format_duration, parse_duration};
use super::error::ParseError;
use crate::audit::civil_from_days;

const WHAT: &str = "time";
const EXPECTED: &str =
    "RFC 3339 (2026-11-28T12:00:00Z), @UNIX_SECONDS, +DURATION from the start or -DURATION from the end";
const NS_PER_SEC: u64 = 1_000_000_000;

/// A point in time as given on the command line, before the trace is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeSpec {
    /// Nanoseconds since the Unix epoch.
    Absolute(u64),
    /// Nanoseconds after the trace's start.
    FromStart(u64),
    /// Nanoseconds before the trace's end.
    FromEnd(u64),
}

impl TimeSpec {
    /// The time in nanoseconds since the epoch for a trace spanning
    /// `start_ns..=end_ns`; offsets saturate at 0 and `u64::MAX` (an offset
    /// may point outside the trace, which simply selects nothing there).
    pub fn resolve(self, start_ns: u64, end_ns: u64) -> u64 {
        match self {
            TimeSpec::Absolute(t) => t,
            TimeSpec::FromStart(d) => start_ns.saturating_add(d),
            TimeSpec::FromEnd(d) => end_ns.saturating_sub(d),
        }
    }

    /// True when `self` lies strictly after `other` whatever the trace: both
    /// absolute, both from the start, or both from the end. Mixed kinds are
    /// only comparable once the trace is known ([`TimeSpec::resolve`]).
    pub fn is_known_after(self, other: TimeSpec) -> bool {
        match (self, other) {
            (TimeSpec::Absolute(a), TimeSpec::Absolute(b)) => a > b,
            (TimeSpec::FromStart(a), TimeSpec::FromStart(b)) => a > b,
            (TimeSpec::FromEnd(a), TimeSpec::FromEnd(b)) => a < b,
            _ => false,
        }
    }
}

impl fmt::Display for TimeSpec {
    /// RFC 3339 UTC for absolute times, `+DURATION` / `-DURATION` for offsets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::Absolute(t) => f.write_str(&format_rfc3339_ns(*t)),
            TimeSpec::FromStart(d) => write!(f, "+{}", format_duration(*d)),
            TimeSpec::FromEnd(d) => write!(f, "-{}", format_duration(*d)),
        }
    }
}

/// Parses a point in time (see the module doc for the syntax).
pub fn parse_time(input: &str) -> Result<TimeSpec, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty { what: WHAT });
    }
    if let Some(offset) = input.strip_prefix('+') {
        return parse_duration(offset).map(TimeSpec::FromStart);
    }
    if let Some(offset) = input.strip_prefix('-') {
        return parse_duration(offset).map(TimeSpec::FromEnd);
    }
    if let Some(seconds) = input.strip_prefix('@') {
        return parse_unix_seconds(input, seconds).map(TimeSpec::Absolute);
    }
    parse_rfc3339(input).map(TimeSpec::Absolute)
}

/// `@SECONDS[.FRACTION]` → nanoseconds.
fn parse_unix_seconds(input: &str, seconds: &str) -> Result<u64, ParseError> {
    if seconds.starts_with('-') {
        return Err(ParseError::Negative {
            what: WHAT,
            input: input.to_string(),
        });
    }
    let number = Decimal::parse(seconds).ok_or_else(|| syntax(input))?;
    number.scale(NS_PER_SEC).map_err(|e| scale_error(input, e))
}

fn syntax(input: &str) -> ParseError {
    ParseError::Syntax {
        what: WHAT,
        input: input.to_string(),
        expected: EXPECTED,
    }
}

fn scale_error(input: &str, e: ScaleError) -> ParseError {
    match e {
        ScaleError::Overflow => ParseError::Overflow {
            what: WHAT,
            input: input.to_string(),
        },
        ScaleError::Inexact => ParseError::Inexact {
            what: WHAT,
            input: input.to_string(),
            base: "nanoseconds",
        },
    }
}

fn out_of_range(input: &str, range: &'static str) -> ParseError {
    ParseError::OutOfRange {
        what: WHAT,
        input: input.to_string(),
        range,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.F+](Z|±HH:MM)` → nanoseconds since the epoch.
fn parse_rfc3339(input: &str) -> Result<u64, ParseError> {
    let b = input.as_bytes();
    if b.len() < 20 {
        return Err(syntax(input));
    }
    let field = |at: usize, len: usize| -> Result<u32, ParseError> {
        let digits = &b[at..at + len];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(syntax(input));
        }
        Ok(digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    let separators_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separators_ok {
        return Err(syntax(input));
    }
    let year = i64::from(field(0, 4)?);
    let month = field(5, 2)?;
    let day = field(8, 2)?;
    let hour = field(11, 2)?;
    let minute = field(14, 2)?;
    let second = field(17, 2)?;
    if !(1..=12).contains(&month) {
        return Err(out_of_range(input, "a month in 01..12"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(out_of_range(input, "a day that exists in its month"));
    }
    if hour > 23 || minute > 59 {
        return Err(out_of_range(input, "a time of day in 00:00..23:59"));
    }
    if second > 59 {
        return Err(out_of_range(
            input,
            "a second in 00..59 (leap seconds are not supported)",
        ));
    }

    // Bytes 0..19 are ASCII, so index 19 is a character boundary.
    let mut rest = &input[19..];
    let mut frac_ns = 0u64;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_dot.len());
        if len == 0 {
            return Err(syntax(input));
        }
        let fraction = Decimal::parse(&rest[..len + 1].replacen('.', "0.", 1))
            .map(|d| d.scale(NS_PER_SEC))
            .ok_or_else(|| syntax(input))?;
        frac_ns = fraction.map_err(|e| scale_error(input, e))?;
        rest = &after_dot[len..];
    }
    let offset_secs: i64 = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(syntax(input));
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return Err(out_of_range(input, "a UTC offset in -23:59..+23:59"));
            }
            let secs = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return Err(syntax(input)),
    };

    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_secs;
    let secs =
        u64::try_from(secs).map_err(|_| out_of_range(input, "at or after 1970-01-01T00:00:00Z"))?;
    secs.checked_mul(NS_PER_SEC)
        .and_then(|ns| ns.checked_add(frac_ns))
        .ok_or_else(|| ParseError::Overflow {
            what: WHAT,
            input: input.to_string(),
        })
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC with as many
/// fractional digits as needed (none for whole seconds, up to nine):
/// `2026-11-28T12:00:00Z`, `2026-11-28T12:00:00.5Z`.
pub fn format_rfc3339_ns(ns: u64) -> String {
    let secs = ns / NS_PER_SEC;
    let frac = ns % NS_PER_SEC;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    let mut out = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOON: u64 = 1_795_867_200 * NS_PER_SEC; // 2026-11-28T12:00:00Z

    #[test]
    fn parses_rfc3339() {
        assert_eq!(
            parse_time("2026-11-28T12:00:00Z"),
            Ok(TimeSpec::Absolute(NOON))
        );
        assert_eq!(
            parse_time("2026-11-28t12:00:00z"),
            Ok(TimeSpec::Absolute(NOON))
        );
        assert_eq!(
            parse_time("2026-11-28 12:00:00Z"),
            Ok(TimeSpec::Absolute(NOON))
        );
        assert_eq!(
            parse_time("2026-11-28T14:00:00+02:00"),
            Ok(TimeSpec::Absolute(NOON))
        );
        assert_eq!(
            parse_time("2026-11-28T06:30:00-05:30"),
            Ok(TimeSpec::Absolute(NOON))
        );
        assert_eq!(
            parse_time("2026-11-28T12:00:00-00:00"),
            Ok(TimeSpec::Absolute(NOON))
        );
        assert_eq!(
            parse_time("2026-11-28T12:00:00.123456789Z"),
            Ok(TimeSpec::Absolute(NOON + 123_456_789))
        );
        assert_eq!(
            parse_time("2026-11-28T12:00:00.25000000000Z"),
            Ok(TimeSpec::Absolute(NOON + 250_000_000))
        );
        assert_eq!(
            parse_time("1970-01-01T00:00:00Z"),
            Ok(TimeSpec::Absolute(0))
        );
        assert_eq!(
            parse_time("2024-02-29T00:00:00Z").map(|t| t.resolve(0, 0) % 86_400_000_000_000),
            Ok(0)
        );
    }

    #[test]
    fn parses_unix_seconds_and_offsets() {
        assert_eq!(parse_time("@1795867200"), Ok(TimeSpec::Absolute(NOON)));
        assert_eq!(
            parse_time("@1795867200.5"),
            Ok(TimeSpec::Absolute(NOON + 500_000_000))
        );
        assert_eq!(parse_time("@0"), Ok(TimeSpec::Absolute(0)));
        assert_eq!(
            parse_time("+10m"),
            Ok(TimeSpec::FromStart(600 * NS_PER_SEC))
        );
        assert_eq!(parse_time("-30s"), Ok(TimeSpec::FromEnd(30 * NS_PER_SEC)));
        assert_eq!(parse_time("+0s"), Ok(TimeSpec::FromStart(0)));
    }

    #[test]
    fn refuses_bad_times_with_the_right_error() {
        assert_eq!(parse_time(""), Err(ParseError::Empty { what: "time" }));
        for s in [
            "2026-11-28",
            "2026-11-28T12:00:00",
            "2026-11-28T12:00Z",
            "2026/11/28T12:00:00Z",
            "2026-11-28T12:00:00.Z",
            "2026-11-28T12:00:00+0200",
            "2026-11-28T12:00:00+02",
            "2026-11-28T12:00:00ZZ",
            "2026-11-28X12:00:00Z",
            "2026-1a-28T12:00:00Z",
            "2026-11-28T12:00:00+0a:00",
            "yesterday",
            "@",
            "@1.",
            "@1e9",
            "1795867200",
            "2026-11-28T12:00:00é",
            "éééééééééééééééééééééé",
        ] {
            assert!(
                matches!(parse_time(s), Err(ParseError::Syntax { .. })),
                "{s}"
            );
        }
        for s in [
            "2026-13-28T12:00:00Z",
            "2026-00-28T12:00:00Z",
            "2026-02-29T12:00:00Z",
            "2026-11-31T12:00:00Z",
            "2026-11-00T12:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T12:60:00Z",
            "2026-11-28T23:59:60Z",
            "2026-11-28T12:00:00+24:00",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
        ] {
            assert!(
                matches!(parse_time(s), Err(ParseError::OutOfRange { .. })),
                "{s}"
            );
        }
        assert!(matches!(
            parse_time("9999-12-31T23:59:59Z"),
            Err(ParseError::Overflow { .. })
        ));
        assert!(matches!(
            parse_time("@18446744074"),
            Err(ParseError::Overflow { .. })
        ));
        assert!(matches!(
            parse_time("@1.0000000001"),
            Err(ParseError::Inexact { .. })
        ));
        assert!(matches!(
            parse_time("2026-11-28T12:00:00.0000000001Z"),
            Err(ParseError::Inexact { .. })
        ));
        assert!(matches!(
            parse_time("@-5"),
            Err(ParseError::Negative { .. })
        ));
        assert!(parse_time("+10").is_err());
        assert!(parse_time("--10s").is_err());
    }

    #[test]
    fn resolves_saturating() {
        assert_eq!(TimeSpec::Absolute(7).resolve(100, 200), 7);
        assert_eq!(TimeSpec::FromStart(10).resolve(100, 200), 110);
        assert_eq!(TimeSpec::FromEnd(10).resolve(100, 200), 190);
        assert_eq!(TimeSpec::FromEnd(500).resolve(100, 200), 0);
        assert_eq!(TimeSpec::FromStart(u64::MAX).resolve(100, 200), u64::MAX);
    }

    #[test]
    fn orders_comparable_specs_only() {
        use TimeSpec::*;
        assert!(Absolute(2).is_known_after(Absolute(1)));
        assert!(!Absolute(1).is_known_after(Absolute(1)));
        assert!(FromStart(2).is_known_after(FromStart(1)));
        assert!(FromEnd(1).is_known_after(FromEnd(2)));
        assert!(!FromEnd(2).is_known_after(FromEnd(1)));
        assert!(!FromStart(u64::MAX).is_known_after(FromEnd(0)));
        assert!(!Absolute(u64::MAX).is_known_after(FromStart(0)));
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(format_rfc3339_ns(NOON), "2026-11-28T12:00:00Z");
        assert_eq!(
            format_rfc3339_ns(NOON + 500_000_000),
            "2026-11-28T12:00:00.5Z"
        );
        assert_eq!(format_rfc3339_ns(1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(TimeSpec::FromEnd(30 * NS_PER_SEC).to_string(), "-30s");
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(ns in any::<u64>()) {
            prop_assert_eq!(parse_time(&format_rfc3339_ns(ns)), Ok(TimeSpec::Absolute(ns)));
        }

        #[test]
        fn display_round_trips(ns in any::<u64>(), kind in 0u8..3) {
            let t = match kind {
                0 => TimeSpec::Absolute(ns),
                1 => TimeSpec::FromStart(ns),
                _ => TimeSpec::FromEnd(ns),
            };
            prop_assert_eq!(parse_time(&t.to_string()), Ok(t));
        }

        #[test]
        fn never_panics(s in "\\PC{0,32}") {
            let _ = parse_time(&s);
        }

        #[test]
        fn never_panics_near_rfc3339(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:[0-9]{2}|\\PC{0,3})") {
            let _ = parse_time(&s);
        }
    }
}
