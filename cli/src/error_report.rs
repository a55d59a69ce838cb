//! How an error reaches the operator: its text on stderr and the exit code.

/// Exit code of a runtime error.
pub(crate) const EXIT_RUNTIME: u8 = 1;

/// The exit code for `err` (SPEC §2): clap's own code for a usage error
/// (2, or 0 for `--help` and `--version`), 1 for anything else.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<clap::Error>() {
        Some(usage) => u8::try_from(usage.exit_code()).unwrap_or(2),
        None => EXIT_RUNTIME,
    }
}

/// The text printed on stderr for `err`, without a trailing newline:
///
/// * a usage error: clap's message prefixed with `PROGRAM: `
///   (`cgrec: error: unexpected argument '--x' found` + usage lines);
/// * anything else: `PROGRAM: error: ` and the error's chain joined by
///   `": "`, skipping a cause whose text its parent already contains. A
///   [`crate::UserError`] renders as `WHAT (WHERE): HINT` in that chain.
pub fn render_error(program: &str, err: &anyhow::Error) -> String {
    if let Some(usage) = err.downcast_ref::<clap::Error>() {
        let text = usage.render().to_string();
        let text = text.trim_end();
        return if text.starts_with("error:") {
            format!("{program}: {text}")
        } else {
            text.to_string()
        };
    }
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|parent| parent.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    format!("{program}: error: {}", parts.join(": "))
}

/// True when the error comes from writing to a closed pipe
/// (`cgrec export t.bin | head`), which is not a failure worth reporting.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserError;
    use anyhow::Context;

    #[test]
    fn user_errors_render_in_the_spec_format() {
        let err = anyhow::Error::from(
            UserError::new("trace is truncated")
                .at("a.bin")
                .hint("re-record"),
        );
        assert_eq!(
            render_error("cgrec", &err),
            "cgrec: error: trace is truncated (a.bin): re-record"
        );
        assert_eq!(exit_code(&err), 1);
    }

    #[test]
    fn chains_are_joined_without_repeating_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::from(io)
            .context("open a.bin: no such file")
            .context("reading the trace");
        assert_eq!(
            render_error("cgsim", &err),
            "cgsim: error: reading the trace: open a.bin: no such file"
        );
        let err: anyhow::Result<()> = Err(UserError::new("bad")).context("loading stats");
        assert_eq!(
            render_error("cgact", &err.unwrap_err()),
            "cgact: error: loading stats: bad"
        );
    }

    #[test]
    fn usage_errors_keep_clap_text_and_exit_2() {
        let cmd = clap::Command::new("cgrec").arg(clap::Arg::new("x").long("x"));
        let err = anyhow::Error::from(cmd.try_get_matches_from(["cgrec", "--y"]).unwrap_err());
        let text = render_error("cgrec", &err);
        assert!(
            text.starts_with("cgrec: error: unexpected argument '--y'"),
            "{text}"
        );
        assert_eq!(exit_code(&err), 2);
        let help = clap::Command::new("cgrec")
            .try_get_matches_from(["cgrec", "--help"])
            .unwrap_err();
        assert_eq!(exit_code(&anyhow::Error::from(help)), 0);
    }

    #[test]
    fn detects_broken_pipes_anywhere_in_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe");
        assert!(is_broken_pipe(
            &anyhow::Error::from(io).context("writing csv")
        ));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
