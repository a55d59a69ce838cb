//! The shipped systemd units pass `systemd-analyze verify` (issue 9):
//! `recorder/cgrec.service` and `actuator/cgact.service`, each copied with
//! its `ExecStart` binary pointed at the one just built (verify checks that
//! it exists). Any line verify prints about the unit (an unknown key, a bad
//! value, a missing binary) fails the test, since verify exits 0 on
//! warnings. The example `recorder/cgrec.env` is loaded as the unit's
//! environment file, and every option the unit and the example give is one
//! `cgrec record --help` lists. SKIP where systemd-analyze is absent.

use std::path::Path;
use std::process::Command;

use cgcal_testkit::bin_path;

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs `systemd-analyze verify` on `unit` with `/usr/local/bin/PROG`
/// replaced by the built binary; `None` (after a SKIP line) without systemd-analyze.
fn verify(unit: &str, prog: &str, env_file: Option<&Path>) -> Option<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(repo(unit)).unwrap();
    text = text.replace(
        &format!("/usr/local/bin/{prog}"),
        bin_path(prog).to_str().unwrap(),
    );
    if let Some(env) = env_file {
        text = text.replace(
            "EnvironmentFile=-/etc/cgrec/cgrec.env",
            &format!("EnvironmentFile={}", env.display()),
        );
    }
    let name = Path::new(unit).file_name().unwrap();
    let path = tmp.path().join(name);
    std::fs::write(&path, text).unwrap();
    let out = match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            println!("SKIP: systemd-analyze cannot run ({e}): {unit} not verified");
            return None;
        }
    };
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let about_unit: Vec<&str> = all
        .lines()
        .filter(|l| l.contains(name.to_str().unwrap()) || l.contains(prog))
        .collect();
    assert!(out.status.success(), "{unit}: {all}");
    assert!(about_unit.is_empty(), "{unit}: {about_unit:#?}");
    Some(all)
}

#[test]
fn cgrec_unit_verifies_with_the_example_configuration() {
    if verify(
        "recorder/cgrec.service",
        "cgrec",
        Some(&repo("recorder/cgrec.env")),
    )
    .is_none()
    {
        return;
    }
    // Every option of the unit's defaults and of the example exists.
    let help = Command::new(bin_path("cgrec"))
        .args(["record", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let unit = std::fs::read_to_string(repo("recorder/cgrec.service")).unwrap();
    let env = std::fs::read_to_string(repo("recorder/cgrec.env")).unwrap();
    let opts: Vec<&str> = unit
        .lines()
        .chain(env.lines())
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap().trim_end_matches('"'))
        .collect();
    assert!(opts.len() > 10, "{opts:?}");
    for o in opts {
        assert!(help.contains(o), "cgrec record has no {o}");
    }
}

#[test]
fn cgact_unit_verifies() {
    verify("actuator/cgact.service", "cgact", None);
}
