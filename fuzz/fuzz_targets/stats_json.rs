//! Fuzz target: the stats-file loader (`cgsim --stats`, `cgact --stats`)
//! over arbitrary text, with two roots. An accepted file is written back
//! with `stats_file_to_json` and must load to the same records.
#![no_main]

use cgcal_core::name::CgroupName;
use cgcal_core::stats::{load_stats_json, stats_file_to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for root in ["/", "/apps"] {
        let root = CgroupName::parse(root).expect("a valid root");
        match load_stats_json(text, &root) {
            Ok(file) => {
                for (name, p) in file.iter() {
                    assert!(name.is_within(&root), "{name} accepted outside {root}");
                    assert!(p.min <= p.median && p.median <= p.max, "{name}: {p:?}");
                }
                let written = stats_file_to_json(&file);
                let again = load_stats_json(&written, &root).expect("written stats reload");
                assert_eq!(file, again, "stats file changed through a write and reload");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
