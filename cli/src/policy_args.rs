//! `--threshold`, `--bump-ratio`, `--min-bump`: the policy tunables shared
//! by `cgsim replay` and `cgact`.

use cgcal_core::policy::PolicyConfig;
use clap::Args;

use crate::value;

/// The policy tunables of SPEC §5 (the algorithm itself is chosen by each
/// program's own `--algo`, a list for cgsim and one name for cgact).
#[derive(Debug, Clone, Copy, PartialEq, Args)]
pub struct PolicyArgs {
    /// Fraction of the global cgroup's limit that may be in use before it has
    /// no headroom left to give, in (0, 1]
    #[arg(long, value_name = "RATIO", default_value = "0.9", value_parser = value::threshold)]
    pub threshold: f64,
    /// Smallest raise at an OOM as a fraction of the cgroup's limit, in [0, 1]
    #[arg(long, value_name = "RATIO", default_value = "0.2", value_parser = value::fraction)]
    pub bump_ratio: f64,
    /// Smallest raise at an OOM (512K, 32M, 1G; binary units)
    #[arg(long, value_name = "SIZE", default_value = "32M", value_parser = value::size_bytes)]
    pub min_bump: u64,
}

impl PolicyArgs {
    /// The policy configuration: these flags over the other defaults.
    pub fn to_config(&self) -> PolicyConfig {
        PolicyConfig {
            threshold: self.threshold,
            bump_ratio: self.bump_ratio,
            min_bump: self.min_bump,
            ..PolicyConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        policy: PolicyArgs,
    }

    #[test]
    fn defaults_are_the_spec_defaults() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.policy.to_config(), PolicyConfig::default());
    }

    #[test]
    fn out_of_range_values_are_usage_errors() {
        for args in [
            ["x", "--threshold", "1.5"],
            ["x", "--threshold", "0"],
            ["x", "--bump-ratio", "2"],
            ["x", "--min-bump", "max"],
            ["x", "--min-bump", "-1"],
        ] {
            let err = Cli::try_parse_from(args).err().unwrap();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(args[2]), "{err}");
        }
        let cli = Cli::try_parse_from(["x", "--min-bump", "64Mi", "--threshold", "1"]).unwrap();
        assert_eq!(cli.policy.min_bump, 64 << 20);
        assert_eq!(cli.policy.threshold, 1.0);
    }
}
