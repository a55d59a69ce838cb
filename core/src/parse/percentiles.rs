//! `--percentiles 90,99,99.9`: a comma-separated list of
//! [`Percentile`]s, each a plain decimal in (0, 100] with at most 9
//! decimals. The percentile type itself (exact, with its nearest rank and
//! JSON key) is [`crate::stats::Percentile`]; this module only adds the
//! command line's error reporting and list rules.

use super::error::ParseError;
pub use crate::stats::Percentile;
use crate::stats::PercentileError;

const WHAT: &str = "percentile";

/// Parses one percentile (`99.9`).
pub fn parse_percentile(input: &str) -> Result<Percentile, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty { what: WHAT });
    }
    if input.starts_with('-') {
        return Err(ParseError::Negative {
            what: WHAT,
            input: input.to_string(),
        });
    }
    Percentile::parse(input).map_err(|e| match e {
        PercentileError::OutOfRange(_) => ParseError::OutOfRange {
            what: WHAT,
            input: input.to_string(),
            range: "in (0, 100]",
        },
        PercentileError::NotDecimal(_) | PercentileError::TooPrecise(_) => ParseError::Syntax {
            what: WHAT,
            input: input.to_string(),
            expected: "a number in (0, 100] with at most 9 decimals (90, 99.9)",
        },
    })
}

/// Parses a comma-separated list of percentiles (`90,99,99.9`). Empty items
/// are refused; the result is sorted and without duplicates (`90` and `90.0`
/// are the same percentile), as [`Percentile::parse_list`] gives it.
pub fn parse_percentiles(input: &str) -> Result<Vec<Percentile>, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty {
            what: "percentile list",
        });
    }
    let mut out = input
        .split(',')
        .map(parse_percentile)
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(s: &str) -> Vec<String> {
        parse_percentiles(s)
            .unwrap()
            .into_iter()
            .map(Percentile::json_key)
            .collect()
    }

    #[test]
    fn parses_lists() {
        assert_eq!(
            keys("90,99,99.9"),
            ["p90_consumption", "p99_consumption", "p99.9_consumption"]
        );
        assert_eq!(
            keys("99.90,050,100,90.0,90"),
            [
                "p50_consumption",
                "p90_consumption",
                "p99.9_consumption",
                "p100_consumption"
            ]
        );
        assert_eq!(parse_percentile("0.001").unwrap().to_string(), "0.001");
    }

    #[test]
    fn refuses_bad_percentiles_with_the_right_error() {
        assert_eq!(
            parse_percentiles(""),
            Err(ParseError::Empty {
                what: "percentile list"
            })
        );
        assert_eq!(
            parse_percentiles("90,,99"),
            Err(ParseError::Empty { what: WHAT })
        );
        assert_eq!(
            parse_percentiles("90,"),
            Err(ParseError::Empty { what: WHAT })
        );
        assert!(matches!(
            parse_percentiles("-5"),
            Err(ParseError::Negative { .. })
        ));
        for s in ["0", "0.0", "100.5", "101", "1000"] {
            assert!(
                matches!(parse_percentile(s), Err(ParseError::OutOfRange { .. })),
                "{s}"
            );
        }
        for s in [
            "abc",
            "9o",
            "1e2",
            " 90",
            "90 ",
            "99.",
            ".9",
            "99.0000000001",
            "nan",
            "inf",
        ] {
            assert!(
                matches!(parse_percentile(s), Err(ParseError::Syntax { .. })),
                "{s}"
            );
        }
        let msg = parse_percentiles("90,101").unwrap_err().to_string();
        assert_eq!(msg, "percentile '101' is out of range: must be in (0, 100]");
    }

    proptest! {
        #[test]
        fn display_round_trips(int in 0u32..=100, frac in 0u32..1_000_000_000) {
            let text = format!("{int}.{frac:09}");
            match parse_percentile(&text) {
                Ok(p) => prop_assert_eq!(parse_percentile(&p.to_string()), Ok(p)),
                Err(_) => prop_assert!((int == 0 && frac == 0) || (int == 100 && frac > 0)),
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,16}") {
            let _ = parse_percentiles(&s);
        }
    }
}
