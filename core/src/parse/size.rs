//! Sizes: `4096`, `512K`, `64Mi`, `2GiB`, `1.5G`, `max`.
//!
//! Every suffix is binary (a power of 1024), whatever its spelling, as the
//! kernel reads `memory.limit_in_bytes` and SPEC §2 asks: `K`, `Ki`, `KiB`
//! and `KB` all mean 1024 bytes; likewise `M`, `G`, `T`, `P`. Suffixes are
//! case-insensitive; `B` alone means bytes. `max` (any case) means no limit.
//! A fraction is accepted when it denotes whole bytes (`1.5K` = 1536).

use std::fmt;

use super::decimal::{split_number, Decimal, ScaleError};
use super::error::ParseError;

const WHAT: &str = "size";
const UNITS: &str = "B, K, M, G, T, P (also Ki/KiB/KB, ...), or max";

/// A size given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeArg {
    /// A number of bytes.
    Bytes(u64),
    /// `max`: no limit.
    Max,
}

impl SizeArg {
    /// The number of bytes, or `None` for [`SizeArg::Max`].
    pub fn bytes(self) -> Option<u64> {
        match self {
            SizeArg::Bytes(n) => Some(n),
            SizeArg::Max => None,
        }
    }
}

/// Binary units, largest first, as [`fmt::Display`] picks them.
const SUFFIXES: [(&str, u32); 5] = [("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)];

impl fmt::Display for SizeArg {
    /// `max`, or the largest binary unit that divides the size exactly
    /// (`64M`, `1536K`, `1000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match self {
            SizeArg::Max => return f.write_str("max"),
            SizeArg::Bytes(n) => *n,
        };
        if n != 0 {
            for (suffix, shift) in SUFFIXES {
                if n.trailing_zeros() >= shift {
                    return write!(f, "{}{suffix}", n >> shift);
                }
            }
        }
        write!(f, "{n}")
    }
}

/// Parses a size (see the module doc for the syntax).
pub fn parse_size(input: &str) -> Result<SizeArg, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty { what: WHAT });
    }
    if input.eq_ignore_ascii_case("max") {
        return Ok(SizeArg::Max);
    }
    if input.starts_with('-') {
        return Err(ParseError::Negative {
            what: WHAT,
            input: input.to_string(),
        });
    }
    let (number, suffix) = split_number(input);
    let number = Decimal::parse(number).ok_or_else(|| ParseError::Syntax {
        what: WHAT,
        input: input.to_string(),
        expected: "a number of bytes with an optional binary suffix (512K, 64M, 2Gi) or max",
    })?;
    let shift = suffix_shift(suffix).ok_or_else(|| ParseError::UnknownUnit {
        what: WHAT,
        input: input.to_string(),
        unit: suffix.to_string(),
        expected: UNITS,
    })?;
    number
        .scale(1u64 << shift)
        .map(SizeArg::Bytes)
        .map_err(|e| match e {
            ScaleError::Overflow => ParseError::Overflow {
                what: WHAT,
                input: input.to_string(),
            },
            ScaleError::Inexact => ParseError::Inexact {
                what: WHAT,
                input: input.to_string(),
                base: "bytes",
            },
        })
}

/// The power of two a suffix stands for, `None` if unknown.
fn suffix_shift(suffix: &str) -> Option<u32> {
    let lower = suffix.to_ascii_lowercase();
    // Peel an optional trailing "b" (bytes) and an optional "i" (binary).
    let stem = match lower.as_str() {
        "" | "b" => return Some(0),
        s => s.strip_suffix('b').unwrap_or(s),
    };
    let stem = stem.strip_suffix('i').unwrap_or(stem);
    match stem {
        "k" => Some(10),
        "m" => Some(20),
        "g" => Some(30),
        "t" => Some(40),
        "p" => Some(50),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(s: &str) -> u64 {
        parse_size(s).unwrap().bytes().unwrap()
    }

    #[test]
    fn accepts_every_spelling_of_the_binary_units() {
        assert_eq!(bytes("4096"), 4096);
        assert_eq!(bytes("0"), 0);
        assert_eq!(bytes("10B"), 10);
        assert_eq!(bytes("512K"), 512 << 10);
        for s in ["64M", "64m", "64Mi", "64MiB", "64mib", "64MB", "64mb"] {
            assert_eq!(bytes(s), 64 << 20, "{s}");
        }
        assert_eq!(bytes("2G"), 2 << 30);
        assert_eq!(bytes("1Gi"), 1 << 30);
        assert_eq!(bytes("1T"), 1 << 40);
        assert_eq!(bytes("3P"), 3 << 50);
        assert_eq!(bytes("512KiB"), 512 << 10);
        assert_eq!(bytes("1.5G"), 3 << 29);
        assert_eq!(bytes("0.5K"), 512);
        assert_eq!(parse_size("max"), Ok(SizeArg::Max));
        assert_eq!(parse_size("MAX"), Ok(SizeArg::Max));
    }

    #[test]
    fn refuses_bad_sizes_with_the_right_error() {
        assert_eq!(parse_size(""), Err(ParseError::Empty { what: "size" }));
        assert!(matches!(parse_size("-1"), Err(ParseError::Negative { .. })));
        assert!(matches!(
            parse_size("-64M"),
            Err(ParseError::Negative { .. })
        ));
        for s in [
            "M", "1.", ".5G", "1,5G", " 1G", "1 G", "1e3", "+1G", "1.2.3K", "G1",
        ] {
            assert!(
                matches!(
                    parse_size(s),
                    Err(ParseError::Syntax { .. }) | Err(ParseError::UnknownUnit { .. })
                ),
                "{s}"
            );
        }
        assert!(matches!(
            parse_size("1.5X"),
            Err(ParseError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_size("1KK"),
            Err(ParseError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_size("1E"),
            Err(ParseError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_size("1.3K"),
            Err(ParseError::Inexact { .. })
        ));
        assert!(matches!(parse_size("0.1"), Err(ParseError::Inexact { .. })));
        assert!(matches!(
            parse_size("16384P"),
            Err(ParseError::Overflow { .. })
        ));
        assert!(matches!(
            parse_size("18446744073709551616"),
            Err(ParseError::Overflow { .. })
        ));
        assert_eq!(bytes("18446744073709551615"), u64::MAX);
    }

    #[test]
    fn error_messages_name_the_input() {
        let msg = parse_size("12X").unwrap_err().to_string();
        assert!(
            msg.contains("'12X'") && msg.contains("unknown unit 'X'"),
            "{msg}"
        );
    }

    #[test]
    fn displays_with_the_largest_exact_unit() {
        assert_eq!(SizeArg::Bytes(64 << 20).to_string(), "64M");
        assert_eq!(SizeArg::Bytes(1536).to_string(), "1536");
        assert_eq!(SizeArg::Bytes(3 << 29).to_string(), "1536M");
        assert_eq!(SizeArg::Bytes(1 << 50).to_string(), "1P");
        assert_eq!(SizeArg::Bytes(0).to_string(), "0");
        assert_eq!(SizeArg::Max.to_string(), "max");
    }

    proptest! {
        #[test]
        fn display_round_trips(n in any::<u64>()) {
            let s = SizeArg::Bytes(n);
            prop_assert_eq!(parse_size(&s.to_string()), Ok(s));
        }

        #[test]
        fn every_suffix_spelling_agrees(n in 0u64..1_000_000, unit in 0usize..4, spelling in 0usize..4) {
            let letter = ["K", "M", "G", "T"][unit];
            let suffix = [letter.to_string(), format!("{letter}i"), format!("{letter}iB"), format!("{letter}B")][spelling].clone();
            let expected = n.checked_mul(1u64 << (10 * (unit as u32 + 1)));
            let got = parse_size(&format!("{n}{suffix}")).ok().and_then(SizeArg::bytes);
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = parse_size(&s);
        }
    }
}
