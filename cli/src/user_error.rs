//! Errors written for the operator: what went wrong, where, and what to do.

use std::fmt;

/// An error meant for the operator, printed as
/// `PROGRAM: error: WHAT (WHERE): HINT` (the parts in parentheses and after
/// the colon only when given). Commands return it through `anyhow`;
/// [`crate::run_main`] finds it and exits 1.
///
/// ```
/// use cgcal_cli::UserError;
/// let e = UserError::new("trace is truncated")
///     .at("/tmp/a.bin, byte 4096")
///     .hint("the recorder was killed; data up to the last chunk was kept");
/// assert_eq!(
///     e.to_string(),
///     "trace is truncated (/tmp/a.bin, byte 4096): the recorder was killed; data up to the last chunk was kept"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// What went wrong, lowercase, no final period.
    pub what: String,
    /// Where: a path, a byte offset, a cgroup, a subcommand.
    pub where_: Option<String>,
    /// What the operator can do about it.
    pub hint: Option<String>,
}

impl UserError {
    /// An error with only its `what` part.
    pub fn new(what: impl Into<String>) -> Self {
        UserError {
            what: what.into(),
            where_: None,
            hint: None,
        }
    }

    /// Sets where it happened.
    pub fn at(mut self, where_: impl Into<String>) -> Self {
        self.where_ = Some(where_.into());
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(where_) = &self.where_ {
            write!(f, " ({where_})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, ": {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

/// The error of a subcommand that is not written yet: prints
/// `PROGRAM: error: not implemented yet (COMMAND): tracked in TRACKER` and
/// exits 1.
///
/// ```
/// let e = cgcal_cli::not_implemented("cgsim replay", "issue #4");
/// assert_eq!(e.to_string(), "not implemented yet (cgsim replay): tracked in issue #4");
/// ```
pub fn not_implemented(command: &str, tracker: &str) -> anyhow::Error {
    UserError::new("not implemented yet")
        .at(command)
        .hint(format!("tracked in {tracker}"))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_only_the_parts_given() {
        assert_eq!(UserError::new("no trace").to_string(), "no trace");
        assert_eq!(
            UserError::new("no trace").at("a.bin").to_string(),
            "no trace (a.bin)"
        );
        assert_eq!(
            UserError::new("no trace")
                .hint("record one first")
                .to_string(),
            "no trace: record one first"
        );
    }
}
