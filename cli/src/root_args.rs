//! `--root PATH` and `--cgroup-version 1|2`, shared by `cgrec record` and
//! `cgact`.

use std::path::{Path, PathBuf};

use cgcal_core::trace::CgroupVersion;
use clap::{Args, ValueEnum};

/// Where the v1 memory hierarchy is mounted on common distributions.
pub const DEFAULT_V1_MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";
/// Where the unified (v2) hierarchy is mounted.
pub const DEFAULT_UNIFIED_ROOT: &str = "/sys/fs/cgroup";

/// `--cgroup-version` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CgroupVersionArg {
    /// cgroup v1 (the memory controller's own hierarchy)
    #[value(name = "1")]
    V1,
    /// cgroup v2 (the unified hierarchy)
    #[value(name = "2")]
    V2,
}

impl From<CgroupVersionArg> for CgroupVersion {
    fn from(v: CgroupVersionArg) -> Self {
        match v {
            CgroupVersionArg::V1 => CgroupVersion::V1,
            CgroupVersionArg::V2 => CgroupVersion::V2,
        }
    }
}

/// The hierarchy a program works on.
#[derive(Debug, Clone, Args)]
pub struct RootArgs {
    /// The cgroup directory to work under: the global cgroup; the cgroups
    /// managed or recorded are its descendants [default: /sys/fs/cgroup/memory
    /// if it exists, else /sys/fs/cgroup]
    #[arg(long, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// The cgroup version of --root [default: detected from its filesystem type]
    #[arg(long, value_enum, value_name = "VERSION")]
    pub cgroup_version: Option<CgroupVersionArg>,
}

/// A validated `--root` / `--cgroup-version` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupRoot {
    /// The hierarchy directory (as given or defaulted; not canonicalized).
    pub path: PathBuf,
    /// The forced version; `None`: detect from the filesystem type
    /// (`cgcal_core::cgroupfs::open_root` takes it as is).
    pub version: Option<CgroupVersion>,
}

impl RootArgs {
    /// Applies the defaults: `--root` defaults to the memory hierarchy's
    /// mount point, [`DEFAULT_V1_MEMORY_ROOT`] when that directory exists,
    /// else [`DEFAULT_UNIFIED_ROOT`].
    pub fn resolve(&self) -> CgroupRoot {
        let path = self.root.clone().unwrap_or_else(|| {
            let v1 = Path::new(DEFAULT_V1_MEMORY_ROOT);
            if v1.is_dir() {
                v1.to_path_buf()
            } else {
                PathBuf::from(DEFAULT_UNIFIED_ROOT)
            }
        });
        CgroupRoot {
            path,
            version: self.cgroup_version.map(CgroupVersion::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_values_win() {
        let args = RootArgs {
            root: Some(PathBuf::from("/tmp/x")),
            cgroup_version: Some(CgroupVersionArg::V2),
        };
        assert_eq!(
            args.resolve(),
            CgroupRoot {
                path: PathBuf::from("/tmp/x"),
                version: Some(CgroupVersion::V2)
            }
        );
    }

    #[test]
    fn default_is_a_mount_point_candidate() {
        let root = RootArgs {
            root: None,
            cgroup_version: None,
        }
        .resolve();
        assert!(
            root.path == Path::new(DEFAULT_V1_MEMORY_ROOT)
                || root.path == Path::new(DEFAULT_UNIFIED_ROOT)
        );
        assert_eq!(root.version, None);
    }
}
