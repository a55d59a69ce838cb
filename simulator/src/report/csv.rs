//! The CSV report: a header, then one row per trace and algorithm
//! (RFC 4180 quoting of the trace's path where needed).

use super::{format_ratio, mode_name, TraceReport};

/// The header line.
pub const HEADER: &str = "trace,algo,mode,replayed_from,replayed_to,replayed_samples,oom_events,kills,collateral_kills,adjustments,bytes_added,bytes_reclaimed,mean_slack_ratio,floor_violations";

/// Renders the header and every row, each line ending in `\n`.
pub fn render(reports: &[TraceReport]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in reports {
        for a in &r.results {
            let t = &a.tally;
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                field(&r.trace),
                a.algo,
                mode_name(a.mode),
                r.replayed.from,
                r.replayed.to,
                r.replayed.samples,
                t.oom_events,
                t.kills,
                t.collateral_kills,
                t.adjustments,
                t.bytes_added,
                t.bytes_reclaimed,
                format_ratio(t.mean_slack_ratio()),
                t.floor_violations
            ));
        }
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::report;
    use super::*;

    #[test]
    fn one_row_per_trace_and_algorithm() {
        let text = render(&[report("a.bin"), report("b,\"c\".bin")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "a.bin,static,react,10,20,30,6,5,1,3,33554432,4096,0.333333,0"
        );
        assert!(lines[4].starts_with("\"b,\"\"c\"\".bin\",proportional,"));
        let cols = HEADER.split(',').count();
        assert!(lines[1..3].iter().all(|l| l.split(',').count() == cols));
    }
}
