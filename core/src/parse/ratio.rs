//! Ratios: `--threshold` in (0, 1] and fractions such as `--bump-ratio` in
//! [0, 1], written as plain decimals (`0.9`, `1`, `.5` is refused).

use super::decimal::Decimal;
use super::error::ParseError;

/// Parses a threshold: a ratio in (0, 1] (`0.9`).
pub fn parse_threshold(input: &str) -> Result<f64, ParseError> {
    let value = parse_ratio(input, "threshold")?;
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(ParseError::OutOfRange {
            what: "threshold",
            input: input.to_string(),
            range: "in (0, 1]",
        })
    }
}

/// Parses a fraction: a ratio in [0, 1] (`0.2`).
pub fn parse_fraction(input: &str) -> Result<f64, ParseError> {
    let value = parse_ratio(input, "fraction")?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ParseError::OutOfRange {
            what: "fraction",
            input: input.to_string(),
            range: "in [0, 1]",
        })
    }
}

/// A non-negative plain decimal as `f64`.
fn parse_ratio(input: &str, what: &'static str) -> Result<f64, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty { what });
    }
    if input.starts_with('-') {
        return Err(ParseError::Negative {
            what,
            input: input.to_string(),
        });
    }
    Decimal::parse(input)
        .map(Decimal::to_f64)
        .ok_or_else(|| ParseError::Syntax {
            what,
            input: input.to_string(),
            expected: "a decimal number such as 0.9",
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ratios_in_range() {
        assert_eq!(parse_threshold("0.9"), Ok(0.9));
        assert_eq!(parse_threshold("1"), Ok(1.0));
        assert_eq!(parse_threshold("1.000"), Ok(1.0));
        assert_eq!(parse_threshold("0.0001"), Ok(0.0001));
        assert_eq!(parse_fraction("0"), Ok(0.0));
        assert_eq!(parse_fraction("0.2"), Ok(0.2));
        assert_eq!(parse_fraction("1"), Ok(1.0));
    }

    #[test]
    fn refuses_bad_ratios_with_the_right_error() {
        assert_eq!(
            parse_threshold(""),
            Err(ParseError::Empty { what: "threshold" })
        );
        assert!(matches!(
            parse_threshold("-0.5"),
            Err(ParseError::Negative { .. })
        ));
        for s in ["0", "0.0", "1.5", "2", "1.0001"] {
            assert!(
                matches!(parse_threshold(s), Err(ParseError::OutOfRange { .. })),
                "{s}"
            );
        }
        for s in ["1.5", "10"] {
            assert!(
                matches!(parse_fraction(s), Err(ParseError::OutOfRange { .. })),
                "{s}"
            );
        }
        for s in [".9", "0,9", "90%", "nan", "inf", "1e-1", " 0.9"] {
            assert!(
                matches!(parse_threshold(s), Err(ParseError::Syntax { .. })),
                "{s}"
            );
        }
        let msg = parse_threshold("1.5").unwrap_err().to_string();
        assert_eq!(msg, "threshold '1.5' is out of range: must be in (0, 1]");
    }

    proptest! {
        #[test]
        fn display_round_trips(x in 0.0f64..=1.0) {
            prop_assert_eq!(parse_fraction(&x.to_string()), Ok(x));
            if x > 0.0 {
                prop_assert_eq!(parse_threshold(&x.to_string()), Ok(x));
            }
        }
    }
}
