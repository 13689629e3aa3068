//! Lenient semantic versions as Masterminds' `NewVersion` reads Git tags (`v` prefix, `1.2` → `1.2.0`).

use std::cmp::Ordering;
use std::fmt;

/// A semantic version read leniently from a tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number (0 when the tag had none).
    pub minor: u64,
    /// Patch number (0 when the tag had none).
    pub patch: u64,
    /// Pre-release identifiers after `-`, empty for a release.
    pub pre: String,
    /// Build metadata after `+` (ignored in comparisons).
    pub build: String,
}

impl Version {
    /// Reads `v1.2.3-rc.1+build`, `1.2`, `v2` and the like; `None` when the text is not a version.
    pub fn parse(text: &str) -> Option<Version> {
        let s = text.strip_prefix('v').unwrap_or(text);
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, b),
            None => (s, ""),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, p),
            None => (rest, ""),
        };
        let dangling =
            (pre.is_empty() && rest.contains('-')) || (build.is_empty() && s.contains('+'));
        if dangling || !valid_identifiers(pre, true) || !valid_identifiers(build, false) {
            return None;
        }
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let minor = match parts.next() {
            Some(p) => number(p)?,
            None => 0,
        };
        let patch = match parts.next() {
            Some(p) => number(p)?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            build: build.to_string(),
        })
    }

    /// Semver precedence: numbers, then pre-release (a release sorts after its pre-releases).
    pub fn precedence(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn valid_identifiers(s: &str, pre: bool) -> bool {
    if s.is_empty() {
        return true;
    }
    s.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            // Numeric pre-release identifiers must not carry leading zeros (semver 2.0.0 §9).
            && !(pre && id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Pre-release order per semver §11: empty (release) is greatest; numeric ids sort numerically and
/// before alphanumeric ones; a shorter list sorts first when all shared ids are equal.
pub(crate) fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(nx), Ok(ny)) => nx.cmp(&ny),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_forms() {
        let v = Version::parse("v1.2").expect("v1.2 parses");
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
        assert_eq!(Version::parse("2").expect("2 parses").to_string(), "2.0.0");
        let v = Version::parse("1.2.3-rc.1+b5").expect("full form parses");
        assert_eq!((v.pre.as_str(), v.build.as_str()), ("rc.1", "b5"));
        for bad in [
            "", "v", "1.2.3.4", "x1", "1..2", "1.2.3-", "1.2.3-01", "latest", "1.a",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad} must not parse");
        }
    }

    #[test]
    fn precedence_follows_semver_11() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
        ];
        for w in order.windows(2) {
            let a = Version::parse(w[0]).expect("parses");
            let b = Version::parse(w[1]).expect("parses");
            assert_eq!(a.precedence(&b), Ordering::Less, "{} < {}", w[0], w[1]);
        }
    }
}
