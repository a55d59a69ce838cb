//! Choosing the backend: the filesystem magic of `--root` (statfs) and the
//! root's cgroup name from `/proc/self/mountinfo`.

use std::path::{Path, PathBuf};

use super::error::CgroupFsError;
use super::parse::{cgroup_name_in_mounts, parse_mountinfo};
use super::{CgroupFs, V1Fs, V2Fs};
use crate::name::CgroupName;
use crate::trace::CgroupVersion;

/// `f_type` of a cgroup v1 filesystem.
pub const CGROUP_SUPER_MAGIC: u64 = 0x0027_e0eb;
/// `f_type` of a cgroup2 filesystem.
pub const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The cgroup version a filesystem magic stands for, `None` for any other
/// filesystem.
pub fn version_of_magic(magic: u64) -> Option<CgroupVersion> {
    match magic {
        CGROUP_SUPER_MAGIC => Some(CgroupVersion::V1),
        CGROUP2_SUPER_MAGIC => Some(CgroupVersion::V2),
        _ => None,
    }
}

/// Canonicalizes `path`, checks it is on a cgroup filesystem and finds its
/// cgroup name: (directory, version from the magic, name).
pub(crate) fn probe(path: &Path) -> Result<(PathBuf, CgroupVersion, CgroupName), CgroupFsError> {
    let dir = std::fs::canonicalize(path).map_err(|e| CgroupFsError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let st = nix::sys::statfs::statfs(&dir).map_err(|e| CgroupFsError::Io {
        path: dir.clone(),
        source: e.into(),
    })?;
    // f_type is i64 on some targets, u32/u64 on others.
    #[allow(clippy::unnecessary_cast)]
    let magic = st.filesystem_type().0 as u64;
    let Some(version) = version_of_magic(magic) else {
        return Err(CgroupFsError::NotCgroupFs { path: dir, magic });
    };
    let name = hierarchy_name_of(&dir)?;
    Ok((dir, version, name))
}

/// The cgroup name of a directory on a mounted cgroup filesystem, from
/// `/proc/self/mountinfo` (`/sys/fs/cgroup/memory/a` gives `/a` when the
/// memory hierarchy is mounted at `/sys/fs/cgroup/memory` with root `/`).
/// `dir` must be absolute and canonical.
pub fn hierarchy_name_of(dir: &Path) -> Result<CgroupName, CgroupFsError> {
    let text = std::fs::read_to_string(MOUNTINFO).map_err(|e| CgroupFsError::Io {
        path: PathBuf::from(MOUNTINFO),
        source: e,
    })?;
    cgroup_name_in_mounts(&parse_mountinfo(&text), dir).ok_or_else(|| CgroupFsError::NoMount {
        path: dir.to_path_buf(),
    })
}

/// Opens the hierarchy at `path` (the `--root` directory) with the backend
/// its filesystem calls for, or the one `version` forces
/// (`Some(CgroupVersion::Unknown)` means autodetect too). Refuses a path
/// that is not on a cgroup or cgroup2 filesystem, and a hierarchy without
/// the memory controller.
pub fn open_root(
    path: &Path,
    version: Option<CgroupVersion>,
) -> Result<Box<dyn CgroupFs>, CgroupFsError> {
    let (dir, detected, name) = probe(path)?;
    let chosen = match version {
        Some(CgroupVersion::Unknown) | None => detected,
        Some(v) => v,
    };
    Ok(match chosen {
        CgroupVersion::V1 => Box::new(V1Fs::checked(dir, name)?),
        _ => Box::new(V2Fs::checked(dir, name)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_plain_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = match open_root(dir.path(), None) {
            Err(e) => e,
            Ok(_) => panic!("a tmpdir was accepted as a cgroup hierarchy"),
        };
        assert!(matches!(err, CgroupFsError::NotCgroupFs { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&dir.path().canonicalize().unwrap().display().to_string()));
        assert!(msg.contains("not on a cgroup filesystem"), "{msg}");
        assert!(msg.contains("/sys/fs/cgroup"), "{msg}");
        let forced = open_root(dir.path(), Some(CgroupVersion::V1));
        assert!(matches!(forced, Err(CgroupFsError::NotCgroupFs { .. })));
    }

    #[test]
    fn missing_path_names_the_path() {
        let err = open_root(Path::new("/nonexistent/cgcal"), None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/cgcal"), "{err}");
    }

    #[test]
    fn magics() {
        assert_eq!(version_of_magic(0x27e0eb), Some(CgroupVersion::V1));
        assert_eq!(version_of_magic(0x63677270), Some(CgroupVersion::V2));
        assert_eq!(version_of_magic(0x01021994), None);
    }
}
