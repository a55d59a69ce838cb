//! A minimal SVG writer: the few elements the plot uses, numbers with one
//! decimal, text escaped.

use std::fmt::Write;

/// An SVG body under construction.
#[derive(Debug, Default)]
pub struct Svg {
    body: String,
}

/// `s` with the XML special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Svg {
    /// A text anchored at (`x`, `y`).
    pub fn text(&mut self, x: f64, y: f64, size: u32, anchor: &str, text: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
            escape(text)
        );
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
            w.max(0.0),
            h.max(0.0)
        );
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}"/>"#
        );
    }

    /// A polyline through `points`, dashed when `dash` is given.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, dash: Option<&str>) {
        if points.is_empty() {
            return;
        }
        let mut p = String::with_capacity(points.len() * 12);
        for (k, (x, y)) in points.iter().enumerate() {
            if k > 0 {
                p.push(' ');
            }
            let _ = write!(p, "{x:.1},{y:.1}");
        }
        let dash = dash.map_or_else(String::new, |d| format!(r#" stroke-dasharray="{d}""#));
        let _ = writeln!(
            self.body,
            r#"<polyline points="{p}" fill="none" stroke="{stroke}" stroke-width="1"{dash}/>"#
        );
    }

    /// The whole document.
    pub fn finish(self, width: f64, height: f64) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\">\n<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\n{}</svg>\n",
            self.body
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// A loose well-formedness check: tags balance, attributes are quoted,
    /// no bare `&` or `<` in text.
    pub fn well_formed(doc: &str) -> bool {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = doc;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if text.contains('>') || !entities_ok(text) {
                return false;
            }
            let Some(close) = rest[open..].find('>') else {
                return false;
            };
            let tag = &rest[open + 1..open + close];
            rest = &rest[open + close + 1..];
            if tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.trim()) {
                    return false;
                }
            } else {
                if !tag.matches('"').count().is_multiple_of(2) {
                    return false;
                }
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        stack.is_empty() && rest.trim().is_empty()
    }

    fn entities_ok(text: &str) -> bool {
        text.match_indices('&').all(|(i, _)| {
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| text[i..].starts_with(e))
        })
    }

    #[test]
    fn checker_rejects_broken_documents() {
        assert!(well_formed("<a><b/>x &amp; y</a>"));
        assert!(!well_formed("<a><b></a>"));
        assert!(!well_formed("<a>x & y</a>"));
    }
}
