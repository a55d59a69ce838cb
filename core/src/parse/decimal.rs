//! Plain non-negative decimal numbers (`12`, `1.25`) and their exact scaling
//! by a unit, shared by the size, duration and time parsers.

/// Fraction digits beyond this (after trailing zeros are dropped) can never
/// scale to a whole number with the units used here, and would overflow the
/// 128-bit intermediate.
const MAX_FRACTION_DIGITS: usize = 20;

/// A non-negative decimal as written: `int` and `frac` are ASCII digit
/// strings; `int` is non-empty, `frac` may be empty.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal<'a> {
    int: &'a str,
    frac: &'a str,
    text: &'a str,
}

/// Why a decimal could not be scaled to a whole `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleError {
    /// The result exceeds `u64::MAX`.
    Overflow,
    /// The result has a fractional part.
    Inexact,
}

impl<'a> Decimal<'a> {
    /// Reads `digits` or `digits.digits`; anything else is `None`.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) => {
                if frac.is_empty() {
                    return None;
                }
                (int, frac)
            }
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        Some(Decimal { int, frac, text })
    }

    /// The exact value of `self × unit` as a `u64`.
    pub(crate) fn scale(&self, unit: u64) -> Result<u64, ScaleError> {
        let int = digits_to_u128(self.int).ok_or(ScaleError::Overflow)?;
        let whole = int
            .checked_mul(u128::from(unit))
            .ok_or(ScaleError::Overflow)?;
        let frac_digits = self.frac.trim_end_matches('0');
        let part = if frac_digits.is_empty() {
            0
        } else {
            if frac_digits.len() > MAX_FRACTION_DIGITS {
                return Err(ScaleError::Inexact);
            }
            let frac = digits_to_u128(frac_digits).ok_or(ScaleError::Inexact)?;
            let denominator = 10u128.pow(frac_digits.len() as u32);
            // frac < 10^20 and unit < 2^64: the product fits in 128 bits.
            let numerator = frac * u128::from(unit);
            if numerator % denominator != 0 {
                return Err(ScaleError::Inexact);
            }
            numerator / denominator
        };
        let total = whole.checked_add(part).ok_or(ScaleError::Overflow)?;
        u64::try_from(total).map_err(|_| ScaleError::Overflow)
    }

    /// The value as the nearest `f64`.
    pub(crate) fn to_f64(self) -> f64 {
        // A digits[.digits] string always parses as f64 (possibly as infinity
        // for absurdly long integer parts, which callers range-check).
        self.text.parse().unwrap_or(f64::INFINITY)
    }
}

/// Parses ASCII digits into a `u128`, `None` on overflow.
fn digits_to_u128(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
    })
}

/// Splits `text` into its leading number (digits and dots) and the rest.
pub(crate) fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_decimals_only() {
        for ok in ["0", "12", "1.5", "007.250"] {
            assert!(Decimal::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", ".5", "1.", "1.2.3", "-1", "+1", "1e3", " 1", "1_000", "٣",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn scales_exactly_or_refuses() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("1.5").scale(1024), Ok(1536));
        assert_eq!(d("1.3").scale(1024), Err(ScaleError::Inexact));
        assert_eq!(d("2.50000").scale(10), Ok(25));
        assert_eq!(d("18446744073709551615").scale(1), Ok(u64::MAX));
        assert_eq!(
            d("18446744073709551616").scale(1),
            Err(ScaleError::Overflow)
        );
        assert_eq!(
            d("99999999999999999999999999999999999999999").scale(1),
            Err(ScaleError::Overflow)
        );
        assert_eq!(
            d("0.000000000000000000001").scale(1 << 40),
            Err(ScaleError::Inexact)
        );
    }

    #[test]
    fn splits_number_from_unit() {
        assert_eq!(split_number("1.5GiB"), ("1.5", "GiB"));
        assert_eq!(split_number("ms"), ("", "ms"));
        assert_eq!(split_number("12"), ("12", ""));
    }
}
