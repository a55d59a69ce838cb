//! Loading a Phase 1 statistics file given on the command line (`cgact
//! --stats`, `cgsim replay --stats`): read at most [`MAX_STATS_FILE_LEN`]
//! bytes (bounded even for a FIFO or `/dev/zero`, whose size says nothing),
//! validate with core's `load_stats_json` against the root (known keys,
//! integers, `min ≤ median ≤ max`, every name inside the root). Errors name
//! the file, and the validator's message names the cgroup and the key.

use std::io::Read;
use std::path::Path;

use crate::UserError;
use cgcal_core::name::CgroupName;
use cgcal_core::stats::{load_stats_json, StatsFile, MAX_STATS_FILE_LEN};

/// The validated stats file at `path` for the cgroups below `root`.
pub fn load_stats_file(path: &Path, root: &CgroupName) -> Result<StatsFile, UserError> {
    let at = path.display().to_string();
    let hint = format!("give the output of `cgrec stats` for the root {root}");
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(MAX_STATS_FILE_LEN as u64 + 1)
                .read_to_string(&mut text)
        })
        .map_err(|e| {
            UserError::new(format!("cannot read the stats file: {e}"))
                .at(at.clone())
                .hint(hint.clone())
        })?;
    load_stats_json(&text, root).map_err(|e| {
        UserError::new(format!("invalid stats file: {e}"))
            .at(at)
            .hint(hint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> CgroupName {
        CgroupName::parse("/r").unwrap()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn loads_a_valid_file() {
        let f = write(
            r#"{"/r/a": {"min_consumption": 1, "median_consumption": 2, "max_consumption": 3}}"#,
        );
        let s = load_stats_file(f.path(), &root()).unwrap();
        assert_eq!(
            s.get(&CgroupName::parse("/r/a").unwrap()).unwrap().median,
            2
        );
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let f = write(
            r#"{"/r/a": {"min_consumption": 1, "median_consumption": 2.5, "max_consumption": 3}}"#,
        );
        let e = load_stats_file(f.path(), &root()).unwrap_err().to_string();
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(
            e.contains("median_consumption") && e.contains("/r/a"),
            "{e}"
        );

        let outside = write(
            r#"{"/other": {"min_consumption": 1, "median_consumption": 2, "max_consumption": 3}}"#,
        );
        let e = load_stats_file(outside.path(), &root())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/other") && e.contains("not inside the root"),
            "{e}"
        );

        let e = load_stats_file(Path::new("/nonexistent/s.json"), &root())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/s.json") && e.contains("cgrec stats"),
            "{e}"
        );
    }
}
