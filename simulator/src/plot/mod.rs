//! `--plot`: a hand-written SVG of each replayed trace. Per trace: a bar
//! chart of kills and collateral kills per algorithm, one of the mean slack
//! ratio per algorithm, and per algorithm a line chart of demand (solid)
//! against simulated limit (dashed) over time for its most affected
//! cgroups. Lines are already downsampled (at most one point per bucket).

mod svg;

use crate::replay::{AlgoSeries, Series};
use crate::report::{format_ratio, TraceReport};

use svg::Svg;

const WIDTH: f64 = 960.0;
const BAR_H: f64 = 220.0;
const LINE_H: f64 = 200.0;
const COLORS: [&str; 3] = ["#1f77b4", "#d62728", "#2ca02c"];

/// The SVG document for `reports`, with `series[k]` the plotted lines of
/// `reports[k]` (missing entries draw no lines).
pub fn render(reports: &[TraceReport], series: &[Vec<AlgoSeries>]) -> String {
    let mut s = Svg::default();
    let mut y = 10.0;
    for (k, r) in reports.iter().enumerate() {
        y = trace_section(&mut s, r, series.get(k).map_or(&[][..], Vec::as_slice), y);
    }
    s.finish(WIDTH, y + 10.0)
}

fn trace_section(s: &mut Svg, r: &TraceReport, series: &[AlgoSeries], y0: f64) -> f64 {
    s.text(
        10.0,
        y0 + 16.0,
        16,
        "start",
        &format!("{} ({} samples replayed)", r.trace, r.replayed.samples),
    );
    let y = y0 + 30.0;
    let n = r.results.len().max(1) as f64;
    // Kills and collateral kills.
    let half = WIDTH / 2.0 - 20.0;
    let max_kills = r
        .results
        .iter()
        .map(|a| a.tally.kills)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    bar_axes(
        s,
        10.0,
        y,
        half,
        "kills (dark) and collateral kills (light)",
        &max_kills.to_string(),
    );
    let slot = (half - 60.0) / n;
    for (i, a) in r.results.iter().enumerate() {
        let x = 60.0 + slot * i as f64;
        let plot_h = BAR_H - 60.0;
        let hk = plot_h * a.tally.kills as f64 / max_kills;
        let hc = plot_h * a.tally.collateral_kills as f64 / max_kills;
        let base = y + 20.0 + plot_h;
        s.rect(x + 4.0, base - hk, slot * 0.4, hk, "#444444");
        s.rect(x + 4.0 + slot * 0.4, base - hc, slot * 0.4, hc, "#aaaaaa");
        s.text(x + slot / 2.0, base + 14.0, 11, "middle", a.algo);
        s.text(
            x + 4.0 + slot * 0.2,
            base - hk - 3.0,
            10,
            "middle",
            &a.tally.kills.to_string(),
        );
    }
    // Mean slack ratio.
    let x0 = WIDTH / 2.0 + 10.0;
    bar_axes(s, x0, y, half, "mean slack ratio", "1");
    for (i, a) in r.results.iter().enumerate() {
        let x = x0 + 50.0 + slot * i as f64;
        let plot_h = BAR_H - 60.0;
        let ratio = a.tally.mean_slack_ratio().clamp(0.0, 1.0);
        let h = plot_h * ratio;
        let base = y + 20.0 + plot_h;
        s.rect(x + 4.0, base - h, slot * 0.6, h, "#8c564b");
        s.text(x + slot / 2.0, base + 14.0, 11, "middle", a.algo);
        s.text(
            x + 4.0 + slot * 0.3,
            base - h - 3.0,
            10,
            "middle",
            &format_ratio(ratio),
        );
    }
    let mut y = y + BAR_H;
    for a in series {
        y = line_chart(s, a, y);
    }
    y + 10.0
}

fn bar_axes(s: &mut Svg, x: f64, y: f64, w: f64, title: &str, top: &str) {
    s.text(x + w / 2.0, y + 12.0, 12, "middle", title);
    let left = x + 45.0;
    let base = y + BAR_H - 40.0;
    s.line(left, y + 20.0, left, base, "#000000");
    s.line(left, base, x + w, base, "#000000");
    s.text(left - 4.0, y + 24.0, 10, "end", top);
    s.text(left - 4.0, base, 10, "end", "0");
}

fn line_chart(s: &mut Svg, a: &AlgoSeries, y: f64) -> f64 {
    let lines: Vec<&Series> = a.series.iter().filter(|l| !l.points.is_empty()).collect();
    if lines.is_empty() {
        return y;
    }
    let (left, right) = (80.0, WIDTH - 20.0);
    let (top, bottom) = (y + 24.0, y + LINE_H - 30.0);
    let t_min = lines.iter().map(|l| l.points[0].time_ns).min().unwrap_or(0);
    let t_max = lines
        .iter()
        .filter_map(|l| l.points.last())
        .map(|p| p.time_ns)
        .max()
        .unwrap_or(0);
    let v_max = lines
        .iter()
        .flat_map(|l| l.points.iter())
        .map(|p| p.demand.max(p.limit.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let fx = |t: u64| left + (right - left) * (t - t_min) as f64 / (t_max - t_min).max(1) as f64;
    let fy = |v: u64| bottom - (bottom - top) * v as f64 / v_max as f64;
    s.text(
        WIDTH / 2.0,
        y + 14.0,
        12,
        "middle",
        &format!(
            "{}: demand (solid) and limit (dashed), most affected cgroups",
            a.algo
        ),
    );
    s.line(left, top, left, bottom, "#000000");
    s.line(left, bottom, right, bottom, "#000000");
    s.text(
        left - 4.0,
        top + 4.0,
        10,
        "end",
        &format!("{} MiB", v_max >> 20),
    );
    s.text(left - 4.0, bottom, 10, "end", "0");
    for (k, l) in lines.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let demand: Vec<(f64, f64)> = l
            .points
            .iter()
            .map(|p| (fx(p.time_ns), fy(p.demand)))
            .collect();
        s.polyline(&demand, color, None);
        let limit: Vec<(f64, f64)> = l
            .points
            .iter()
            .filter_map(|p| p.limit.map(|v| (fx(p.time_ns), fy(v))))
            .collect();
        s.polyline(&limit, color, Some("6,3"));
        let legend_y = top + 12.0 * k as f64;
        s.text(
            right - 24.0,
            legend_y,
            10,
            "end",
            &format!("{} ({} kills)", l.cgroup, l.kills),
        );
        s.polyline(
            &[(right - 20.0, legend_y - 3.0), (right, legend_y - 3.0)],
            color,
            None,
        );
    }
    y + LINE_H
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Point;
    use crate::report::sample::report;

    #[test]
    fn the_document_is_well_formed_and_names_every_algorithm() {
        let series = vec![AlgoSeries {
            algo: "static",
            series: vec![Series {
                cgroup: "/a<&>".into(),
                kills: 3,
                points: (0..5)
                    .map(|i| Point {
                        time_ns: i * 10,
                        demand: i << 20,
                        limit: Some(3 << 20),
                    })
                    .collect(),
            }],
        }];
        let doc = render(&[report("t&.bin")], &[series]);
        assert!(doc.starts_with("<?xml"));
        assert!(doc.contains("<polyline"));
        assert!(doc.contains("/a&lt;&amp;&gt; (3 kills)"));
        assert!(doc.contains("t&amp;.bin"));
        assert!(svg::tests::well_formed(&doc), "{doc}");
        assert!(doc.contains(">proportional<"));
    }
}
