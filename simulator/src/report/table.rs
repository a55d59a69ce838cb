//! The table report: per trace a title line, then aligned columns with one
//! row per algorithm (names left-aligned, numbers right-aligned).

use super::{format_ratio, mode_name, TraceReport};

const HEADERS: [&str; 10] = [
    "algo",
    "mode",
    "oom_events",
    "kills",
    "collateral",
    "adjustments",
    "bytes_added",
    "bytes_reclaimed",
    "mean_slack",
    "floor_violations",
];

/// Renders the reports as tables separated by a blank line.
pub fn render(reports: &[TraceReport]) -> String {
    let mut out = String::new();
    for (k, r) in reports.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}: replayed {} samples, {} .. {}\n",
            r.trace,
            r.replayed.samples,
            cgcal_core::parse::format_rfc3339_ns(r.replayed.from),
            cgcal_core::parse::format_rfc3339_ns(r.replayed.to),
        ));
        let rows: Vec<[String; 10]> = r
            .results
            .iter()
            .map(|a| {
                let t = &a.tally;
                [
                    a.algo.to_string(),
                    mode_name(a.mode).to_string(),
                    t.oom_events.to_string(),
                    t.kills.to_string(),
                    t.collateral_kills.to_string(),
                    t.adjustments.to_string(),
                    t.bytes_added.to_string(),
                    t.bytes_reclaimed.to_string(),
                    format_ratio(t.mean_slack_ratio()),
                    t.floor_violations.to_string(),
                ]
            })
            .collect();
        let mut widths = HEADERS.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: &[&str]| {
            let mut l = String::new();
            for (c, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if c > 0 {
                    l.push_str("  ");
                }
                if c < 2 {
                    l.push_str(&format!("{cell:<w$}"));
                } else {
                    l.push_str(&format!("{cell:>w$}"));
                }
            }
            l.truncate(l.trim_end().len());
            l.push('\n');
            l
        };
        out.push_str(&line(&HEADERS));
        for row in &rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            out.push_str(&line(&cells));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::sample::report;
    use super::*;

    #[test]
    fn columns_are_aligned_one_row_per_algorithm() {
        let text = render(&[report("a.bin")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("a.bin: replayed 30 samples"));
        assert!(lines[1].starts_with("algo "));
        assert!(lines[2].starts_with("static "));
        assert!(lines[3].starts_with("proportional "));
        // Right-aligned numbers end in the same column.
        let end_of = |l: &str, word: &str| l.find(word).unwrap() + word.len();
        assert_eq!(end_of(lines[1], "kills"), end_of(lines[2], " 5"));
        assert_eq!(lines[2].len(), lines[3].len());
    }
}
