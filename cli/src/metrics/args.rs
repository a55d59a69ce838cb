//! The metrics flags every long-running program flattens into its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory};

/// `--metrics-file`, `--metrics-listen`, `--metrics-listen-public`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct MetricsArgs {
    /// Write Prometheus metrics to this file (node_exporter textfile collector), replaced atomically at every flush
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP on this address (GET /metrics), e.g. 127.0.0.1:9417
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Allow --metrics-listen on an address other than loopback
    #[arg(long)]
    pub metrics_listen_public: bool,
}

impl MetricsArgs {
    /// Whether any metrics output is asked for.
    pub fn enabled(&self) -> bool {
        self.metrics_file.is_some() || self.metrics_listen.is_some()
    }

    /// Refuses a non-loopback `--metrics-listen` without
    /// `--metrics-listen-public` (a usage error of the program `C`).
    pub fn validate<C: CommandFactory>(&self) -> Result<(), clap::Error> {
        match self.metrics_listen {
            Some(addr) if !addr.ip().is_loopback() && !self.metrics_listen_public => {
                Err(crate::usage_error::<C>(
                    None,
                    format!(
                        "--metrics-listen {addr} is not a loopback address: the metrics would be served to the network; give --metrics-listen-public to mean it, or listen on 127.0.0.1"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Prog {
        #[command(flatten)]
        metrics: MetricsArgs,
    }

    fn parse(args: &[&str]) -> MetricsArgs {
        Prog::try_parse_from(std::iter::once("p").chain(args.iter().copied()))
            .unwrap()
            .metrics
    }

    #[test]
    fn non_loopback_listen_needs_the_explicit_flag() {
        assert!(!parse(&[]).enabled());
        assert!(parse(&["--metrics-listen", "127.0.0.1:9417"])
            .validate::<Prog>()
            .is_ok());
        assert!(parse(&["--metrics-listen", "[::1]:9417"])
            .validate::<Prog>()
            .is_ok());
        let err = parse(&["--metrics-listen", "0.0.0.0:9417"])
            .validate::<Prog>()
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--metrics-listen-public"), "{err}");
        let public = parse(&[
            "--metrics-listen",
            "0.0.0.0:9417",
            "--metrics-listen-public",
        ]);
        assert!(public.validate::<Prog>().is_ok() && public.enabled());
    }
}
