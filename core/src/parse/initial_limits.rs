//! `cgsim replay --initial-limits trace|train-max|train-pNN[xF]`: where the
//! replay's starting limits come from.

use std::fmt;

use super::decimal::Decimal;
use super::error::ParseError;
use super::percentiles::{parse_percentile, Percentile};

const WHAT: &str = "initial limits";
const EXPECTED: &str = "trace, train-max or train-pNN[xF] (train-p99, train-p99.9x1.2)";

/// Where the replay's initial limits come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InitialLimits {
    /// `trace`: the limits the trace recorded.
    Trace,
    /// `train-max`: each cgroup's maximum over the training window.
    TrainMax,
    /// `train-pNN[xF]`: a percentile of the training window times a factor.
    TrainPercentile {
        /// The percentile (`99` in `train-p99x1.2`).
        percentile: Percentile,
        /// The factor (`1.2` in `train-p99x1.2`; 1 when omitted), > 0.
        factor: f64,
    },
}

impl fmt::Display for InitialLimits {
    /// The canonical spelling, which [`parse_initial_limits`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitialLimits::Trace => f.write_str("trace"),
            InitialLimits::TrainMax => f.write_str("train-max"),
            InitialLimits::TrainPercentile { percentile, factor } if *factor == 1.0 => {
                write!(f, "train-p{percentile}")
            }
            InitialLimits::TrainPercentile { percentile, factor } => {
                write!(f, "train-p{percentile}x{factor}")
            }
        }
    }
}

/// Parses `trace`, `train-max` or `train-pNN[xF]`.
pub fn parse_initial_limits(input: &str) -> Result<InitialLimits, ParseError> {
    let syntax = || ParseError::Syntax {
        what: WHAT,
        input: input.to_string(),
        expected: EXPECTED,
    };
    match input {
        "" => return Err(ParseError::Empty { what: WHAT }),
        "trace" => return Ok(InitialLimits::Trace),
        "train-max" => return Ok(InitialLimits::TrainMax),
        _ => {}
    }
    let spec = input.strip_prefix("train-p").ok_or_else(syntax)?;
    let (percentile, factor) = match spec.split_once('x') {
        Some((p, f)) => (p, Some(f)),
        None => (spec, None),
    };
    let percentile = parse_percentile(percentile)?;
    let factor = match factor {
        None => 1.0,
        Some(f) => {
            let value = Decimal::parse(f).map(Decimal::to_f64).ok_or_else(syntax)?;
            if !(value > 0.0 && value.is_finite()) {
                return Err(ParseError::OutOfRange {
                    what: "factor",
                    input: input.to_string(),
                    range: "a positive number",
                });
            }
            value
        }
    };
    Ok(InitialLimits::TrainPercentile { percentile, factor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(parse_initial_limits("trace"), Ok(InitialLimits::Trace));
        assert_eq!(
            parse_initial_limits("train-max"),
            Ok(InitialLimits::TrainMax)
        );
        let InitialLimits::TrainPercentile { percentile, factor } =
            parse_initial_limits("train-p99.9x1.2").unwrap()
        else {
            panic!("not a percentile rule");
        };
        assert_eq!(percentile.to_string(), "99.9");
        assert_eq!(factor, 1.2);
        assert_eq!(
            parse_initial_limits("train-p95").unwrap().to_string(),
            "train-p95"
        );
    }

    #[test]
    fn refuses_bad_rules_with_the_right_error() {
        assert_eq!(
            parse_initial_limits(""),
            Err(ParseError::Empty { what: WHAT })
        );
        for s in [
            "Trace",
            "train",
            "train-p",
            "train-px1.2",
            "train-p99x",
            "train-p99x-1",
            "train-p99x1.2x3",
            "max",
        ] {
            assert!(parse_initial_limits(s).is_err(), "{s}");
        }
        assert!(matches!(
            parse_initial_limits("train-p101"),
            Err(ParseError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_initial_limits("train-p99x0"),
            Err(ParseError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_initial_limits("maximum"),
            Err(ParseError::Syntax { .. })
        ));
    }

    proptest! {
        #[test]
        fn display_round_trips(p in 1u32..=100, factor in 0.01f64..10.0) {
            let rule = parse_initial_limits(&format!("train-p{p}x{factor}")).unwrap();
            prop_assert_eq!(parse_initial_limits(&rule.to_string()), Ok(rule));
        }
    }
}
