//! Percentiles as exact decimal numbers in (0, 100], with the nearest-rank
//! definition: the p-th percentile of n values is the value at rank
//! ⌈p/100 · n⌉ (1-based) of the values sorted in ascending order.

use std::fmt;
use std::str::FromStr;

/// A percentile is held exactly, in billionths of a percent.
const SCALE: u64 = 1_000_000_000;

/// Most digits accepted after the decimal point (billionths of a percent).
pub const MAX_FRACTION_DIGITS: usize = 9;

/// A percentile in (0, 100], exact to a billionth of a percent
/// (`90`, `99.9`, `99.999`). Ordered by value; displayed in its shortest
/// decimal form (`99.9`, never `99.90`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentile {
    /// Billionths of a percent, in `1..=100 * SCALE`.
    billionths: u64,
}

/// Why a string is not a percentile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentileError {
    /// Not a plain decimal number (digits with an optional fraction).
    #[error("percentile {0:?} is not a decimal number such as 90 or 99.9")]
    NotDecimal(String),
    /// More fraction digits than [`MAX_FRACTION_DIGITS`].
    #[error("percentile {0:?} has more than {MAX_FRACTION_DIGITS} digits after the decimal point")]
    TooPrecise(String),
    /// Zero, or above 100.
    #[error("percentile {0:?} is outside (0, 100]")]
    OutOfRange(String),
}

impl Percentile {
    /// The median rank's percentile, 50.
    pub const P50: Percentile = Percentile {
        billionths: 50 * SCALE,
    };

    /// The percentile `whole` (1 to 100), e.g. `Percentile::whole(90)`;
    /// `None` outside 1..=100.
    pub fn whole(whole: u8) -> Option<Percentile> {
        (1..=100).contains(&whole).then(|| Percentile {
            billionths: u64::from(whole) * SCALE,
        })
    }

    /// Parses a decimal percentile such as `90` or `99.9`.
    pub fn parse(s: &str) -> Result<Percentile, PercentileError> {
        let (int, frac) = match s.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (s, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(PercentileError::NotDecimal(s.to_string()));
        }
        let frac = frac.unwrap_or("");
        if frac.len() > MAX_FRACTION_DIGITS {
            return Err(PercentileError::TooPrecise(s.to_string()));
        }
        let int = int.trim_start_matches('0');
        if int.len() > 3 {
            return Err(PercentileError::OutOfRange(s.to_string()));
        }
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse()
                .map_err(|_| PercentileError::NotDecimal(s.to_string()))?
        };
        let mut frac_value: u64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_value += u64::from(b - b'0') * 10u64.pow((MAX_FRACTION_DIGITS - 1 - i) as u32);
        }
        let billionths = int * SCALE + frac_value;
        if billionths == 0 || billionths > 100 * SCALE {
            return Err(PercentileError::OutOfRange(s.to_string()));
        }
        Ok(Percentile { billionths })
    }

    /// Parses a comma-separated list (`90,99,99.9`), as `--percentiles` takes it.
    /// The result is sorted and without duplicates; an empty string gives an empty list.
    pub fn parse_list(s: &str) -> Result<Vec<Percentile>, PercentileError> {
        if s.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut out = s
            .split(',')
            .map(|item| Percentile::parse(item.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The 1-based nearest rank of this percentile among `n` values:
    /// ⌈p/100 · n⌉, which lies in `1..=n` for `n ≥ 1` (0 for `n = 0`).
    pub fn rank(self, n: u64) -> u64 {
        let denominator = u128::from(100 * SCALE);
        let numerator = u128::from(self.billionths) * u128::from(n);
        // p ≤ 100 makes the quotient ≤ n, so it fits in u64.
        numerator.div_ceil(denominator) as u64
    }

    /// The key of this percentile in the stats file: `p90_consumption`,
    /// `p99.9_consumption`.
    pub fn json_key(self) -> String {
        format!("p{self}_consumption")
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.billionths / SCALE;
        let frac = self.billionths % SCALE;
        if frac == 0 {
            return write!(f, "{int}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{int}.{}", digits.trim_end_matches('0'))
    }
}

impl FromStr for Percentile {
    type Err = PercentileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Percentile::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Percentile {
        Percentile::parse(s).unwrap()
    }

    #[test]
    fn parses_and_displays_canonically() {
        for (input, shown) in [
            ("90", "90"),
            ("99.9", "99.9"),
            ("99.90", "99.9"),
            ("090", "90"),
            ("100", "100"),
            ("100.000", "100"),
            ("0.000000001", "0.000000001"),
            ("50.5", "50.5"),
        ] {
            assert_eq!(p(input).to_string(), shown, "{input}");
        }
        assert_eq!(p("99.9").json_key(), "p99.9_consumption");
        assert_eq!(Percentile::whole(90), Some(p("90")));
        assert_eq!(Percentile::whole(0), None);
        assert_eq!(Percentile::whole(101), None);
        assert_eq!(Percentile::P50, p("50"));
    }

    #[test]
    fn refuses_bad_percentiles() {
        for bad in [
            "", "abc", "-5", "+5", "1e2", ".5", "5.", "9 0", "p90", "1.2.3",
        ] {
            assert!(
                matches!(Percentile::parse(bad), Err(PercentileError::NotDecimal(_))),
                "{bad:?}"
            );
        }
        for bad in [
            "0",
            "0.0",
            "100.000000001",
            "101",
            "1000",
            "99999999999999999999",
        ] {
            assert!(
                matches!(Percentile::parse(bad), Err(PercentileError::OutOfRange(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Percentile::parse("99.0000000001"),
            Err(PercentileError::TooPrecise(_))
        ));
    }

    #[test]
    fn nearest_rank() {
        assert_eq!(p("50").rank(4), 2);
        assert_eq!(p("50").rank(5), 3);
        assert_eq!(p("90").rank(10), 9);
        assert_eq!(p("90").rank(11), 10);
        assert_eq!(p("100").rank(7), 7);
        assert_eq!(p("0.000000001").rank(1), 1);
        assert_eq!(p("99.9").rank(1000), 999);
        assert_eq!(p("99.9").rank(1001), 1000);
        assert_eq!(p("100").rank(u64::MAX), u64::MAX);
        assert_eq!(p("50").rank(u64::MAX), u64::MAX / 2 + 1);
        assert_eq!(p("90").rank(0), 0);
    }

    #[test]
    fn list_is_sorted_and_deduplicated() {
        assert_eq!(
            Percentile::parse_list("99, 90,99.0,50").unwrap(),
            vec![p("50"), p("90"), p("99")]
        );
        assert_eq!(Percentile::parse_list("").unwrap(), vec![]);
        assert!(Percentile::parse_list("90,,99").is_err());
    }
}
