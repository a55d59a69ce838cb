//! The tunables every policy reads (SPEC §5 defaults, `cgact` flags).

/// One mebibyte in bytes.
pub const MIB: u64 = 1 << 20;

/// Tunables shared by every policy and by the safety rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Fraction of the global limit that may be in use before the global
    /// cgroup has no headroom left (`--threshold`, default 0.9), in (0, 1].
    pub threshold: f64,
    /// Minimum raise at an OOM as a fraction of the current limit
    /// (`--bump-ratio`, default 0.2).
    pub bump_ratio: f64,
    /// Minimum raise at an OOM in bytes (`--min-bump`, default 32 MiB).
    pub min_bump: u64,
    /// Smallest guard kept between a donor's usage and its new limit
    /// (default 4 MiB).
    pub guard_min: u64,
    /// Guard as a fraction of the donor's limit (default 0.05); the guard is
    /// the larger of this and [`PolicyConfig::guard_min`].
    pub guard_ratio: f64,
    /// Granularity of every limit the policies write (default 4096); the
    /// kernel stores limits in whole pages.
    pub page_size: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            threshold: 0.9,
            bump_ratio: 0.2,
            min_bump: 32 * MIB,
            guard_min: 4 * MIB,
            guard_ratio: 0.05,
            page_size: 4096,
        }
    }
}

/// Why a [`PolicyConfig`] is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The threshold is not a number in (0, 1].
    #[error("threshold {0} is not in (0, 1]")]
    Threshold(f64),
    /// A ratio is negative, infinite or NaN.
    #[error("{name} {value} is not a finite number >= 0")]
    Ratio {
        /// The field's name (`bump_ratio`, `guard_ratio`).
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// The page size is 0.
    #[error("page size is 0")]
    PageSize,
}

impl PolicyConfig {
    /// Checks the ranges: threshold in (0, 1], ratios finite and >= 0,
    /// page size > 0. Policies never panic on an unvalidated configuration,
    /// but their results are only meaningful on a valid one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(ConfigError::Threshold(self.threshold));
        }
        for (name, value) in [
            ("bump_ratio", self.bump_ratio),
            ("guard_ratio", self.guard_ratio),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::Ratio { name, value });
            }
        }
        if self.page_size == 0 {
            return Err(ConfigError::PageSize);
        }
        Ok(())
    }

    /// The page size, at least 1 (so arithmetic never divides by zero).
    pub fn page(&self) -> u64 {
        self.page_size.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_defaults_and_valid() {
        let c = PolicyConfig::default();
        assert_eq!(c.threshold, 0.9);
        assert_eq!(c.bump_ratio, 0.2);
        assert_eq!(c.min_bump, 33_554_432);
        assert_eq!(c.guard_min, 4_194_304);
        assert_eq!(c.guard_ratio, 0.05);
        assert_eq!(c.page_size, 4096);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn refuses_out_of_range_values() {
        let bad = |f: fn(&mut PolicyConfig)| {
            let mut c = PolicyConfig::default();
            f(&mut c);
            c.validate()
        };
        assert!(matches!(
            bad(|c| c.threshold = 0.0),
            Err(ConfigError::Threshold(_))
        ));
        assert!(matches!(
            bad(|c| c.threshold = 1.5),
            Err(ConfigError::Threshold(_))
        ));
        assert!(matches!(
            bad(|c| c.threshold = f64::NAN),
            Err(ConfigError::Threshold(_))
        ));
        assert_eq!(bad(|c| c.threshold = 1.0), Ok(()));
        assert!(matches!(
            bad(|c| c.bump_ratio = -0.1),
            Err(ConfigError::Ratio {
                name: "bump_ratio",
                ..
            })
        ));
        assert!(matches!(
            bad(|c| c.guard_ratio = f64::INFINITY),
            Err(ConfigError::Ratio {
                name: "guard_ratio",
                ..
            })
        ));
        assert_eq!(bad(|c| c.page_size = 0), Err(ConfigError::PageSize));
    }
}
