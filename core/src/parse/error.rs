//! The error every parser of this module returns.

/// Why a command-line value was refused. Messages are lowercase, without a
/// final period, and name the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input was empty.
    #[error("empty {what}")]
    Empty {
        /// What was expected (`size`, `duration`, ...).
        what: &'static str,
    },
    /// The input had a minus sign where only non-negative values make sense.
    #[error("negative {what} '{input}' is not allowed")]
    Negative {
        /// What was expected.
        what: &'static str,
        /// The whole input.
        input: String,
    },
    /// The input is not of the expected shape.
    #[error("invalid {what} '{input}': expected {expected}")]
    Syntax {
        /// What was expected.
        what: &'static str,
        /// The whole input.
        input: String,
        /// A short description of the accepted syntax.
        expected: &'static str,
    },
    /// A unit or suffix that this value does not know.
    #[error("unknown unit '{unit}' in {what} '{input}': expected one of {expected}")]
    UnknownUnit {
        /// What was expected.
        what: &'static str,
        /// The whole input.
        input: String,
        /// The unit as written.
        unit: String,
        /// The accepted units.
        expected: &'static str,
    },
    /// The value does not fit in 64 bits.
    #[error("{what} '{input}' is too large")]
    Overflow {
        /// What was expected.
        what: &'static str,
        /// The whole input.
        input: String,
    },
    /// A fraction that does not denote a whole number of the base unit.
    #[error("{what} '{input}' is not a whole number of {base}")]
    Inexact {
        /// What was expected.
        what: &'static str,
        /// The whole input.
        input: String,
        /// The base unit (`bytes`, `nanoseconds`).
        base: &'static str,
    },
    /// A well-formed value outside its allowed range.
    #[error("{what} '{input}' is out of range: must be {range}")]
    OutOfRange {
        /// What was expected.
        what: &'static str,
        /// The whole input.
        input: String,
        /// The allowed range, as text (`in (0, 1]`).
        range: &'static str,
    },
}
