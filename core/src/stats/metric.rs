//! Which value of a sample the statistics are computed over.

use std::fmt;
use std::str::FromStr;

use crate::trace::Sample;

/// The measured quantity of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    /// The recorded usage (`memory.usage_in_bytes` / `memory.current`).
    #[default]
    Usage,
    /// The working set: usage less inactive file bytes ([`Sample::working_set`]).
    WorkingSet,
}

/// The string is not a metric name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric {0:?}: expected usage or working-set")]
pub struct UnknownMetric(pub String);

impl Metric {
    /// The metric's value for one sample.
    pub fn of(self, sample: &Sample) -> u64 {
        match self {
            Metric::Usage => sample.usage,
            Metric::WorkingSet => sample.working_set(),
        }
    }

    /// The name as the command line spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Usage => "usage",
            Metric::WorkingSet => "working-set",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = UnknownMetric;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "usage" => Ok(Metric::Usage),
            "working-set" => Ok(Metric::WorkingSet),
            _ => Err(UnknownMetric(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_reads_values() {
        assert_eq!("usage".parse(), Ok(Metric::Usage));
        assert_eq!("working-set".parse(), Ok(Metric::WorkingSet));
        assert!("workingset".parse::<Metric>().is_err());
        assert_eq!(Metric::WorkingSet.to_string(), "working-set");
        let s = Sample {
            time_ns: 0,
            cgroup: 0,
            usage: 100,
            limit: None,
            inactive_file: Some(30),
            peak: None,
            failcnt: None,
        };
        assert_eq!(Metric::Usage.of(&s), 100);
        assert_eq!(Metric::WorkingSet.of(&s), 70);
    }
}
