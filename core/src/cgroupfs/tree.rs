//! The directory tree of a hierarchy, shared by the v1 and v2 backends:
//! name-to-directory resolution with symlink refusal, the walk, mkdir and
//! rmdir.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::control_file::map_io;
use super::error::CgroupFsError;
use crate::name::CgroupName;

/// Most cgroups a walk returns (a guard against runaway trees).
pub(crate) const MAX_CGROUPS: usize = 1 << 20;

/// A hierarchy's root directory and the cgroup name it has.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    root_dir: PathBuf,
    root_name: CgroupName,
}

impl Tree {
    /// A tree rooted at `root_dir`, whose cgroup name is `root_name`.
    pub(crate) fn new(root_dir: PathBuf, root_name: CgroupName) -> Self {
        Tree {
            root_dir,
            root_name,
        }
    }

    /// The root cgroup's name.
    pub(crate) fn root_name(&self) -> &CgroupName {
        &self.root_name
    }

    /// The root directory.
    pub(crate) fn root_dir(&self) -> &Path {
        &self.root_dir
    }

    /// The directory of `name`: refuses names outside the root and any
    /// existing component below the root that is a symlink or not a
    /// directory. Components that do not exist are allowed (the caller's
    /// operation then reports [`CgroupFsError::Gone`]).
    pub(crate) fn dir_of(&self, name: &CgroupName) -> Result<PathBuf, CgroupFsError> {
        if !name.is_within(&self.root_name) {
            return Err(CgroupFsError::OutsideRoot {
                name: name.clone(),
                root: self.root_name.clone(),
            });
        }
        let mut dir = self.root_dir.clone();
        let mut exists = true;
        for comp in name.components().skip(self.root_name.depth()) {
            dir.push(comp);
            if !exists {
                continue;
            }
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(CgroupFsError::Symlink { path: dir });
                }
                Ok(m) if !m.is_dir() => {
                    return Err(CgroupFsError::Gone {
                        cgroup: name.clone(),
                    })
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => exists = false,
                Err(e) => {
                    return Err(CgroupFsError::Io {
                        path: dir,
                        source: e,
                    })
                }
            }
        }
        Ok(dir)
    }

    /// The directory of an existing cgroup, [`CgroupFsError::Gone`] otherwise.
    pub(crate) fn existing_dir(&self, name: &CgroupName) -> Result<PathBuf, CgroupFsError> {
        let dir = self.dir_of(name)?;
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(dir),
            Ok(_) => Err(CgroupFsError::Gone {
                cgroup: name.clone(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(CgroupFsError::Gone {
                cgroup: name.clone(),
            }),
            Err(e) => Err(CgroupFsError::Io {
                path: dir,
                source: e,
            }),
        }
    }

    /// True when the cgroup exists and its path is acceptable.
    pub(crate) fn exists(&self, name: &CgroupName) -> bool {
        self.existing_dir(name).is_ok()
    }

    /// The root and all its descendant directories, sorted by name.
    /// Directories that vanish mid-walk, symlinks and directories whose name
    /// is not a valid cgroup name are skipped.
    pub(crate) fn list(&self) -> Result<Vec<CgroupName>, CgroupFsError> {
        let root_dir = self.existing_dir(&self.root_name)?;
        let mut out = vec![self.root_name.clone()];
        let mut stack = vec![(root_dir, self.root_name.clone())];
        while let Some((dir, name)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if is_vanished(&e) && name != self.root_name => continue,
                Err(e) if is_vanished(&e) => {
                    return Err(CgroupFsError::Gone { cgroup: name });
                }
                Err(e) => {
                    return Err(CgroupFsError::Io {
                        path: dir,
                        source: e,
                    })
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) if is_vanished(&e) => break,
                    Err(e) => {
                        return Err(CgroupFsError::Io {
                            path: dir,
                            source: e,
                        })
                    }
                };
                // d_type, not following symlinks.
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if !is_dir {
                    continue;
                }
                let Some(comp) = entry.file_name().to_str().map(str::to_string) else {
                    tracing::warn!(path = ?entry.path(), "skipping non-UTF-8 cgroup directory");
                    continue;
                };
                let child = match name.join(&comp) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(path = ?entry.path(), error = %e, "skipping cgroup directory with an invalid name");
                        continue;
                    }
                };
                if out.len() >= MAX_CGROUPS {
                    return Err(CgroupFsError::TooLarge {
                        path: self.root_dir.clone(),
                        max: MAX_CGROUPS,
                    });
                }
                out.push(child.clone());
                stack.push((entry.path(), child));
            }
        }
        out.sort();
        Ok(out)
    }

    /// mkdir of the cgroup (the parent must exist).
    pub(crate) fn create(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        let dir = self.dir_of(name)?;
        match fs::create_dir(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(CgroupFsError::AlreadyExists {
                    cgroup: name.clone(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(CgroupFsError::Gone {
                cgroup: name.parent().unwrap_or_else(CgroupName::root),
            }),
            Err(e) => Err(map_io(e, &dir, name)),
        }
    }

    /// rmdir of the cgroup.
    pub(crate) fn remove(&self, name: &CgroupName) -> Result<(), CgroupFsError> {
        let dir = self.existing_dir(name)?;
        fs::remove_dir(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => CgroupFsError::Gone {
                cgroup: name.clone(),
            },
            _ => map_io(e, &dir, name),
        })
    }
}

/// ENOENT or ENODEV: the directory went away.
fn is_vanished(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENODEV))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> CgroupName {
        CgroupName::parse(s).unwrap()
    }

    #[test]
    fn resolves_lists_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("top");
        fs::create_dir_all(root.join("x/y")).unwrap();
        fs::create_dir_all(dir.path().join("outside/secret")).unwrap();
        fs::write(root.join("memory.current"), "1\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
        let t = Tree::new(root.clone(), name("/top"));
        assert_eq!(t.dir_of(&name("/top/x/y")).unwrap(), root.join("x/y"));
        assert!(matches!(
            t.dir_of(&name("/other")),
            Err(CgroupFsError::OutsideRoot { .. })
        ));
        assert!(matches!(
            t.dir_of(&name("/top/link/secret")),
            Err(CgroupFsError::Symlink { .. })
        ));
        assert!(!t.exists(&name("/top/link")));
        assert!(t.exists(&name("/top/x")));
        assert!(!t.exists(&name("/top/nope")));
        let listed: Vec<String> = t.list().unwrap().iter().map(|n| n.to_string()).collect();
        assert_eq!(listed, ["/top", "/top/x", "/top/x/y"]);
    }

    #[test]
    fn create_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tree::new(dir.path().to_path_buf(), CgroupName::root());
        t.create(&name("/a")).unwrap();
        assert!(matches!(
            t.create(&name("/a")),
            Err(CgroupFsError::AlreadyExists { .. })
        ));
        assert!(t.create(&name("/b/c")).unwrap_err().is_gone());
        t.remove(&name("/a")).unwrap();
        assert!(t.remove(&name("/a")).unwrap_err().is_gone());
    }
}
