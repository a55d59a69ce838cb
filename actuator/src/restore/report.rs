//! The restore report: a table (cgroup, before, original, after, status,
//! reason) or one JSON document.

use std::fmt::Write;

use super::apply::{Outcome, Status};
use super::plan::Limit;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, one cgroup a line
    Table,
    /// One JSON document: {"dry_run": .., "cgroups": [..]}
    Json,
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Restored => "restored",
        Status::WouldRestore => "would_restore",
        Status::Unchanged => "unchanged",
        Status::Skipped => "skipped",
        Status::Gone => "gone",
    }
}

/// Renders the outcomes in `format`, newline-terminated.
pub fn render(outcomes: &[Outcome], format: Format, dry_run: bool) -> String {
    match format {
        Format::Json => {
            let doc = serde_json::json!({ "dry_run": dry_run, "cgroups": outcomes });
            format!("{doc}\n")
        }
        Format::Table => {
            let rows: Vec<[String; 6]> = outcomes
                .iter()
                .map(|o| {
                    [
                        o.cgroup.clone(),
                        Limit(o.before).to_string(),
                        Limit(o.original).to_string(),
                        match o.status {
                            Status::Gone => "-".to_string(),
                            _ => Limit(o.after).to_string(),
                        },
                        status_name(o.status).to_string(),
                        o.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let header =
                ["CGROUP", "BEFORE", "ORIGINAL", "AFTER", "STATUS", "REASON"].map(String::from);
            let mut widths = [0usize; 5];
            for row in std::iter::once(&header).chain(&rows) {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.len());
                }
            }
            let mut text = String::new();
            for row in std::iter::once(&header).chain(&rows) {
                let line = format!(
                    "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:<w4$}  {}",
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    row[5],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3],
                    w4 = widths[4],
                );
                let _ = writeln!(text, "{}", line.trim_end());
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status, reason: Option<&str>) -> Outcome {
        Outcome {
            cgroup: "/r/a".into(),
            before: Some(8192),
            original: None,
            after: Some(4096),
            status,
            reason: reason.map(String::from),
        }
    }

    #[test]
    fn table_and_json_carry_every_column() {
        let out = [
            outcome(Status::Skipped, Some("usage 1 above")),
            outcome(Status::Gone, None),
        ];
        let table = render(&out, Format::Table, false);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("CGROUP") && lines[0].ends_with("REASON"),
            "{table}"
        );
        assert!(
            lines[1].contains("8192")
                && lines[1].contains("max")
                && lines[1].contains("skipped  usage 1 above"),
            "{table}"
        );
        assert!(lines[2].ends_with("gone"), "{table}");
        let json: serde_json::Value =
            serde_json::from_str(&render(&out, Format::Json, true)).unwrap();
        assert_eq!(json["dry_run"], true);
        assert_eq!(json["cgroups"][0]["status"], "skipped");
        assert_eq!(json["cgroups"][0]["original"], serde_json::Value::Null);
        assert_eq!(json["cgroups"][1].get("reason"), None);
    }
}
