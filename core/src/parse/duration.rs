//! Durations: `250ms`, `1s`, `5m`, `2h`, `1d`, `100us`, `10ns`, and sums of
//! them (`1h30m`). A unit is required: a bare `5` is refused because
//! seconds and milliseconds are both plausible readings. A fraction is
//! accepted when it denotes whole nanoseconds (`1.5s`). Zero is accepted;
//! callers that need a positive duration check it themselves.

use super::decimal::{split_number, Decimal, ScaleError};
use super::error::ParseError;

const WHAT: &str = "duration";
const UNITS: &str = "ns, us, ms, s, m, h, d";

/// Units, largest first: (name, nanoseconds).
const UNIT_NS: [(&str, u64); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Parses a duration into nanoseconds (see the module doc for the syntax).
pub fn parse_duration(input: &str) -> Result<u64, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty { what: WHAT });
    }
    if input.starts_with('-') {
        return Err(ParseError::Negative {
            what: WHAT,
            input: input.to_string(),
        });
    }
    let syntax = || ParseError::Syntax {
        what: WHAT,
        input: input.to_string(),
        expected: "a number with a unit (250ms, 1s, 5m, 2h, 1h30m)",
    };
    let mut total: u64 = 0;
    let mut rest = input;
    while !rest.is_empty() {
        let (number, after) = split_number(rest);
        let number = Decimal::parse(number).ok_or_else(syntax)?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(syntax());
        }
        let unit_ns = unit_ns(unit).ok_or_else(|| ParseError::UnknownUnit {
            what: WHAT,
            input: input.to_string(),
            unit: unit.to_string(),
            expected: UNITS,
        })?;
        let part = number.scale(unit_ns).map_err(|e| match e {
            ScaleError::Overflow => ParseError::Overflow {
                what: WHAT,
                input: input.to_string(),
            },
            ScaleError::Inexact => ParseError::Inexact {
                what: WHAT,
                input: input.to_string(),
                base: "nanoseconds",
            },
        })?;
        total = total
            .checked_add(part)
            .ok_or_else(|| ParseError::Overflow {
                what: WHAT,
                input: input.to_string(),
            })?;
        rest = after;
    }
    Ok(total)
}

/// Nanoseconds per unit; `µs` is accepted for `us`.
fn unit_ns(unit: &str) -> Option<u64> {
    if unit == "µs" {
        return Some(1_000);
    }
    UNIT_NS.iter().find(|(u, _)| *u == unit).map(|(_, ns)| *ns)
}

/// Formats nanoseconds with the largest unit that divides them exactly
/// (`90s`, `5m`, `250ms`, `0s`); [`parse_duration`] reads it back.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let (unit, per) = UNIT_NS
        .iter()
        .find(|(_, per)| ns.is_multiple_of(*per))
        .copied()
        .unwrap_or(("ns", 1));
    format!("{}{unit}", ns / per)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn accepts_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1s"), Ok(S));
        assert_eq!(parse_duration("5m"), Ok(300 * S));
        assert_eq!(parse_duration("2h"), Ok(7200 * S));
        assert_eq!(parse_duration("1d"), Ok(86_400 * S));
        assert_eq!(parse_duration("100us"), Ok(100_000));
        assert_eq!(parse_duration("100µs"), Ok(100_000));
        assert_eq!(parse_duration("10ns"), Ok(10));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_duration("1m0.5s"), Ok(60 * S + S / 2));
    }

    #[test]
    fn refuses_bad_durations_with_the_right_error() {
        assert_eq!(
            parse_duration(""),
            Err(ParseError::Empty { what: "duration" })
        );
        assert!(matches!(
            parse_duration("-1s"),
            Err(ParseError::Negative { .. })
        ));
        for s in ["5", "s", "1.s", ".5s", "+1s", "1s2"] {
            assert!(
                matches!(parse_duration(s), Err(ParseError::Syntax { .. })),
                "{s}"
            );
        }
        for s in ["1S", "1sec", "1y", "1M", "1mss", "1 s", "1s ", "1e3s"] {
            assert!(
                matches!(parse_duration(s), Err(ParseError::UnknownUnit { .. })),
                "{s}"
            );
        }
        assert!(matches!(
            parse_duration("0.5ns"),
            Err(ParseError::Inexact { .. })
        ));
        assert!(matches!(
            parse_duration("1000000d"),
            Err(ParseError::Overflow { .. })
        ));
        assert!(matches!(
            parse_duration("18446744073s18446744073s"),
            Err(ParseError::Overflow { .. })
        ));
    }

    #[test]
    fn formats_with_the_largest_exact_unit() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90 * S), "90s");
        assert_eq!(format_duration(300 * S), "5m");
        assert_eq!(format_duration(250_000_000), "250ms");
        assert_eq!(format_duration(86_400 * S), "1d");
        assert_eq!(format_duration(7), "7ns");
    }

    proptest! {
        #[test]
        fn format_round_trips(ns in any::<u64>()) {
            prop_assert_eq!(parse_duration(&format_duration(ns)), Ok(ns));
        }

        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = parse_duration(&s);
        }
    }
}
