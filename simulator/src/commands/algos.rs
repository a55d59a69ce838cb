//! `cgsim algos`: the registry's algorithms, one line each.

use std::io::{self, Write};

use anyhow::Context;
use cgcal_core::policy;

/// Lists the algorithms on stdout.
pub fn run() -> anyhow::Result<()> {
    write_list(&mut io::stdout().lock()).context("cannot write to stdout")
}

/// Writes `NAME  DESCRIPTION` lines, names padded to one column, in the
/// registry's order.
pub fn write_list(out: &mut dyn Write) -> io::Result<()> {
    let names = policy::all_names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for name in names {
        let describe = policy::by_name(name).map(|p| p.describe()).unwrap_or("");
        writeln!(out, "{name:<width$}  {describe}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_algorithm_once() {
        let mut out = Vec::new();
        write_list(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), policy::all_names().len());
        assert!(
            lines.iter().any(|l| l.starts_with("proportional ")),
            "{text}"
        );
        assert!(
            lines.iter().all(|l| l.split_whitespace().count() > 1),
            "{text}"
        );
    }
}
