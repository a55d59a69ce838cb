//! The JSON report: exactly the object of SPEC §5 for one trace, keys in
//! the SPEC's order, one result per line; for several traces a JSON array
//! of those objects in the order the traces were given.

use std::fmt::Write;

use super::{format_ratio, mode_name, TraceReport};

/// Renders one object (one report) or an array (several), ending in a newline.
pub fn render(reports: &[TraceReport]) -> String {
    let mut out = String::new();
    match reports {
        [one] => object(&mut out, one, ""),
        many => {
            out.push_str("[\n");
            for (k, r) in many.iter().enumerate() {
                out.push_str("  ");
                object(&mut out, r, "  ");
                out.push_str(if k + 1 < many.len() { ",\n" } else { "\n" });
            }
            out.push(']');
        }
    }
    out.push('\n');
    out
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn object(out: &mut String, r: &TraceReport, indent: &str) {
    let _ = write!(
        out,
        "{{\n{indent}  \"trace\": {},\n{indent}  \"replayed\": {{\"from\": {}, \"to\": {}, \"samples\": {}}},\n{indent}  \"results\": [",
        quote(&r.trace),
        r.replayed.from,
        r.replayed.to,
        r.replayed.samples
    );
    for (k, a) in r.results.iter().enumerate() {
        let t = &a.tally;
        let _ = write!(
            out,
            "\n{indent}    {{\"algo\": {}, \"mode\": {}, \"oom_events\": {}, \"kills\": {}, \"collateral_kills\": {}, \"adjustments\": {}, \"bytes_added\": {}, \"bytes_reclaimed\": {}, \"mean_slack_ratio\": {}, \"floor_violations\": {}}}{}",
            quote(a.algo),
            quote(mode_name(a.mode)),
            t.oom_events,
            t.kills,
            t.collateral_kills,
            t.adjustments,
            t.bytes_added,
            t.bytes_reclaimed,
            format_ratio(t.mean_slack_ratio()),
            t.floor_violations,
            if k + 1 < r.results.len() { "," } else { "" }
        );
    }
    let _ = write!(out, "\n{indent}  ]\n{indent}}}");
}

#[cfg(test)]
mod tests {
    use super::super::sample::report;
    use super::*;

    #[test]
    fn one_trace_is_the_spec_object_with_keys_in_order() {
        let text = render(&[report("a \"b\".bin")]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["trace"], "a \"b\".bin");
        assert_eq!(v["replayed"]["samples"], 30);
        assert_eq!(v["results"][1]["algo"], "proportional");
        assert_eq!(v["results"][1]["mean_slack_ratio"].as_f64(), Some(0.125));
        let keys = [
            "\"algo\"",
            "\"mode\"",
            "\"oom_events\"",
            "\"kills\"",
            "\"collateral_kills\"",
            "\"adjustments\"",
            "\"bytes_added\"",
            "\"bytes_reclaimed\"",
            "\"mean_slack_ratio\"",
            "\"floor_violations\"",
        ];
        let line = text.lines().find(|l| l.contains("\"static\"")).unwrap();
        let pos: Vec<usize> = keys.iter().map(|k| line.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert!(text.contains("\"mean_slack_ratio\": 0.333333,"), "{text}");
        let top = ["\"trace\"", "\"replayed\"", "\"results\""].map(|k| text.find(k).unwrap());
        assert!(top[0] < top[1] && top[1] < top[2]);
    }

    #[test]
    fn several_traces_are_an_array() {
        let text = render(&[report("a.bin"), report("b.bin")]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[1]["trace"], "b.bin");
        assert_eq!(text, render(&[report("a.bin"), report("b.bin")]));
    }
}
