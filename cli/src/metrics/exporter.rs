//! Publishing a registry: the textfile-collector file (atomic rename) and
//! the optional HTTP endpoint.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prometheus_client::registry::Registry;

use super::MetricsArgs;
use crate::UserError;

/// Content type of the text the encoder writes (OpenMetrics text, which
/// Prometheus and node_exporter read).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Longest request head read from a scraper.
const MAX_REQUEST: usize = 8 * 1024;

/// How long a scraper may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The registry in the text exposition format.
pub fn encode_text(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

/// Publishes a registry to a file and/or over HTTP.
#[derive(Debug)]
pub struct MetricsExporter {
    registry: Arc<Registry>,
    file: Option<PathBuf>,
    listening: Option<std::net::SocketAddr>,
}

impl MetricsExporter {
    /// Starts publishing `registry` as `args` say; `None` when they ask for
    /// nothing. Binds the HTTP endpoint now (an error names the address)
    /// and writes the file once (an error names the file).
    pub fn start(
        args: &MetricsArgs,
        registry: Registry,
    ) -> anyhow::Result<Option<MetricsExporter>> {
        if !args.enabled() {
            return Ok(None);
        }
        let registry = Arc::new(registry);
        let listening = match args.metrics_listen {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr).map_err(|e| {
                    anyhow::Error::from(
                        UserError::new(format!("cannot serve metrics: {e}"))
                            .at(addr.to_string())
                            .hint("give a free address with --metrics-listen, e.g. 127.0.0.1:9417"),
                    )
                })?;
                let bound = listener.local_addr().unwrap_or(addr);
                let shared = Arc::clone(&registry);
                std::thread::Builder::new()
                    .name("metrics-http".into())
                    .spawn(move || serve(listener, &shared))
                    .context("cannot start the metrics thread")?;
                tracing::info!("serving metrics on http://{bound}/metrics");
                Some(bound)
            }
        };
        let exporter = MetricsExporter {
            registry,
            file: args.metrics_file.clone(),
            listening,
        };
        exporter.publish()?;
        Ok(Some(exporter))
    }

    /// The address the HTTP endpoint listens on, when it does.
    pub fn listening(&self) -> Option<std::net::SocketAddr> {
        self.listening
    }

    /// Rewrites the metrics file (when there is one) atomically: the text
    /// goes to `PATH.tmp`, which is renamed over `PATH`.
    pub fn publish(&self) -> anyhow::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let text = encode_text(&self.registry)
            .map_err(|_| anyhow::anyhow!("cannot encode the metrics"))?;
        write_atomically(path, text.as_bytes()).map_err(|e| {
            UserError::new(format!("cannot write the metrics file: {e}"))
                .at(path.display().to_string())
                .hint("give a writable path with --metrics-file (the textfile collector directory)")
                .into()
        })
    }
}

/// Writes `bytes` to `path.tmp` and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Answers scrapes one at a time, forever (the thread ends with the process).
fn serve(listener: TcpListener, registry: &Registry) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                if let Err(e) = answer(stream, registry) {
                    tracing::debug!("metrics scrape: {e}");
                }
            }
            Err(e) => tracing::debug!("metrics accept: {e}"),
        }
    }
}

/// Reads a request head (bounded, with a timeout) and answers `GET
/// /metrics` (or `/`) with the metrics, anything else with 404.
fn answer(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next(), parts.next());
    let ok = method == Some(b"GET") && matches!(target, Some(b"/metrics" | b"/"));
    let (status, ctype, body) = match ok {
        true => (
            "200 OK",
            CONTENT_TYPE,
            encode_text(registry).unwrap_or_default(),
        ),
        false => ("404 Not Found", "text/plain", "GET /metrics\n".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RecorderMetrics;
    use prometheus_client::registry::Registry;

    fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn file_is_replaced_atomically_and_http_serves_the_same_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cgrec.prom");
        let mut r = Registry::with_prefix("cgrec");
        let m = RecorderMetrics::register(&mut r);
        let args = MetricsArgs {
            metrics_file: Some(file.clone()),
            metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
            metrics_listen_public: false,
        };
        let e = MetricsExporter::start(&args, r).unwrap().unwrap();
        assert!(std::fs::read_to_string(&file)
            .unwrap()
            .contains("cgrec_samples_total 0"));
        m.samples.inc_by(3);
        e.publish().unwrap();
        assert!(std::fs::read_to_string(&file)
            .unwrap()
            .contains("cgrec_samples_total 3"));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no .tmp left"
        );
        let addr = e.listening().unwrap();
        let got = http_get(addr, "/metrics");
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(got.contains("cgrec_samples_total 3"), "{got}");
        assert!(http_get(addr, "/other").starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn nothing_asked_nothing_started_and_bad_paths_are_named() {
        let none = MetricsExporter::start(&MetricsArgs::default(), Registry::default()).unwrap();
        assert!(none.is_none());
        let args = MetricsArgs {
            metrics_file: Some(PathBuf::from("/nonexistent-dir/m.prom")),
            ..MetricsArgs::default()
        };
        let err = MetricsExporter::start(&args, Registry::default()).unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent-dir/m.prom"),
            "{err:#}"
        );
    }
}
