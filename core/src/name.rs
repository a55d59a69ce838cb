//! Cgroup names: hierarchy paths with a leading `/`, as `/proc/PID/cgroup`
//! shows them. `/` is the hierarchy root (the *global cgroup* when it is the
//! recorded root), `/apps/web` a cgroup below it.

use std::fmt;

/// Longest cgroup name accepted, in bytes (the kernel's PATH_MAX).
pub const MAX_NAME_LEN: usize = 4096;

/// Why a string is not a valid cgroup name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("cgroup name is empty")]
    Empty,
    /// The name does not start with `/`.
    #[error("cgroup name {0:?} does not start with '/'")]
    NoLeadingSlash(String),
    /// A component is `.` or `..`.
    #[error("cgroup name {0:?} has a '.' or '..' component")]
    DotComponent(String),
    /// A component is empty (`//` or a trailing `/`).
    #[error("cgroup name {0:?} has an empty component")]
    EmptyComponent(String),
    /// The name holds a NUL byte or another control character.
    #[error("cgroup name {0:?} holds a control character")]
    ControlChar(String),
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("cgroup name is {0} bytes long, more than the {MAX_NAME_LEN} allowed")]
    TooLong(usize),
}

/// A validated cgroup name: starts with `/`, no empty, `.` or `..`
/// components, no control characters, at most [`MAX_NAME_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CgroupName(String);

impl CgroupName {
    /// The hierarchy root, `/`.
    pub fn root() -> Self {
        CgroupName("/".to_string())
    }

    /// Validates `s` as a cgroup name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(s.len()));
        }
        if !s.starts_with('/') {
            return Err(NameError::NoLeadingSlash(s.to_string()));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(NameError::ControlChar(s.to_string()));
        }
        if s == "/" {
            return Ok(Self::root());
        }
        for comp in s[1..].split('/') {
            match comp {
                "" => return Err(NameError::EmptyComponent(s.to_string())),
                "." | ".." => return Err(NameError::DotComponent(s.to_string())),
                _ => {}
            }
        }
        Ok(CgroupName(s.to_string()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the hierarchy root `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The path components below the root (`/a/b` gives `["a", "b"]`).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The parent cgroup, or `None` for the root.
    pub fn parent(&self) -> Option<CgroupName> {
        if self.is_root() {
            return None;
        }
        let cut = self.0.rfind('/').unwrap_or(0);
        Some(if cut == 0 {
            Self::root()
        } else {
            CgroupName(self.0[..cut].to_string())
        })
    }

    /// The child named `component` (a single path component, validated).
    pub fn join(&self, component: &str) -> Result<CgroupName, NameError> {
        let joined = if self.is_root() {
            format!("/{component}")
        } else {
            format!("{}/{component}", self.0)
        };
        if component.contains('/') {
            return Err(NameError::EmptyComponent(joined));
        }
        Self::parse(&joined)
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_within(&self, other: &CgroupName) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// Depth below the root: `/` is 0, `/a` is 1, `/a/b` is 2.
    pub fn depth(&self) -> usize {
        self.components().count()
    }

    /// The longest common ancestor of two names.
    pub fn common_ancestor(&self, other: &CgroupName) -> CgroupName {
        let mut out = Self::root();
        for (a, b) in self.components().zip(other.components()) {
            if a != b {
                break;
            }
            out = out.join(a).expect("components of a valid name are valid");
        }
        out
    }
}

impl fmt::Display for CgroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CgroupName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> serde::Deserialize<'de> for CgroupName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CgroupName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in ["/", "/a", "/apps/web", "/a b/c-d_e.f", "/système"] {
            assert_eq!(CgroupName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_invalid_names() {
        assert_eq!(CgroupName::parse(""), Err(NameError::Empty));
        assert!(matches!(
            CgroupName::parse("a/b"),
            Err(NameError::NoLeadingSlash(_))
        ));
        assert!(matches!(
            CgroupName::parse("/a/../b"),
            Err(NameError::DotComponent(_))
        ));
        assert!(matches!(
            CgroupName::parse("/a/."),
            Err(NameError::DotComponent(_))
        ));
        assert!(matches!(
            CgroupName::parse("/a//b"),
            Err(NameError::EmptyComponent(_))
        ));
        assert!(matches!(
            CgroupName::parse("/a/"),
            Err(NameError::EmptyComponent(_))
        ));
        assert!(matches!(
            CgroupName::parse("/a\0b"),
            Err(NameError::ControlChar(_))
        ));
        assert!(matches!(
            CgroupName::parse(&format!("/{}", "x".repeat(5000))),
            Err(NameError::TooLong(_))
        ));
    }

    #[test]
    fn parent_join_within_and_ancestor() {
        let web = CgroupName::parse("/apps/web").unwrap();
        assert_eq!(web.parent().unwrap().as_str(), "/apps");
        assert_eq!(web.parent().unwrap().parent().unwrap(), CgroupName::root());
        assert_eq!(CgroupName::root().parent(), None);
        assert_eq!(CgroupName::root().join("x").unwrap().as_str(), "/x");
        assert!(web.join("..").is_err());
        assert!(web.join("a/b").is_err());
        let apps = CgroupName::parse("/apps").unwrap();
        assert!(web.is_within(&apps));
        assert!(!CgroupName::parse("/appsx").unwrap().is_within(&apps));
        assert!(web.is_within(&CgroupName::root()));
        let db = CgroupName::parse("/apps/db").unwrap();
        assert_eq!(web.common_ancestor(&db), apps);
        assert_eq!(web.depth(), 2);
    }
}
