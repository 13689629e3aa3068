//! Masterminds/semver v3 constraint syntax (what Flux's `ref.semver` accepts) and its matching rules.

use std::cmp::Ordering;

use super::version::{compare_pre, Version};

/// A parsed constraint string: `||`-separated alternatives of `,`/space-separated comparisons.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Comparator>>,
}

/// Why a constraint string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid semver constraint '{constraint}': {reason}")]
pub struct ConstraintError {
    /// The constraint text as given.
    pub constraint: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// No operator or `=`: exact, or a tilde range when a part is a wildcard or missing.
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    v: Version,
    /// Some part was a wildcard or missing (`1.2`, `1.x`, `*`).
    dirty: bool,
    /// The minor part was a wildcard or missing (`1`, `1.x`).
    minor_dirty: bool,
    /// Only the patch part was a wildcard or missing (`1.2`, `1.2.x`).
    patch_dirty: bool,
}

impl Constraints {
    /// Parses a constraint such as `>=1.0.0 <2.0.0`, `~1.2`, `^0.3 || 1.x`, `1.2 - 1.4.5`.
    pub fn parse(text: &str) -> Result<Constraints, ConstraintError> {
        let err = |reason: &str| ConstraintError {
            constraint: text.to_string(),
            reason: reason.to_string(),
        };
        if text.trim().is_empty() {
            return Err(err("it is empty; write a range such as '>=1.0.0' or '1.x'"));
        }
        let mut groups = Vec::new();
        for alt in text.split("||") {
            let group = parse_group(alt).map_err(|r| err(&r))?;
            groups.push(group);
        }
        Ok(Constraints { groups })
    }

    /// True when `v` satisfies at least one alternative.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|group| group.iter().all(|c| c.matches(v)))
    }
}

fn parse_group(alt: &str) -> Result<Vec<Comparator>, String> {
    let tokens = tokenize(alt)?;
    if tokens.is_empty() {
        return Err("an alternative between '||' is empty".to_string());
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (op, ver) = (&tokens[i].0, &tokens[i].1);
        // Hyphen range `A - B` means `>= A, <= B`.
        if op.is_empty()
            && tokens
                .get(i + 1)
                .is_some_and(|t| t.0 == "-" && t.1.is_empty())
        {
            let end = tokens
                .get(i + 2)
                .filter(|t| t.0.is_empty())
                .ok_or_else(|| format!("hyphen range after '{ver}' has no upper version"))?;
            out.push(comparator(">=", ver)?);
            out.push(comparator("<=", &end.1)?);
            i += 3;
            continue;
        }
        out.push(comparator(op, ver)?);
        i += 1;
    }
    Ok(out)
}

/// Splits into (operator, version) pairs; a lone `-` becomes its own token for hyphen ranges.
fn tokenize(s: &str) -> Result<Vec<(String, String)>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let is_op = |c: char| matches!(c, '=' | '!' | '<' | '>' | '~' | '^');
    let is_ver = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '*');
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        }
        if c == '-' && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) {
            out.push(("-".to_string(), String::new()));
            i += 1;
            continue;
        }
        let mut op = String::new();
        while i < chars.len() && is_op(chars[i]) {
            op.push(chars[i]);
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut ver = String::new();
        while i < chars.len() && is_ver(chars[i]) {
            ver.push(chars[i]);
            i += 1;
        }
        if ver.is_empty() {
            return Err(match chars.get(i) {
                Some(c) if !is_op(*c) => format!("unexpected character '{c}'"),
                _ => format!("operator '{op}' has no version after it"),
            });
        }
        out.push((op, ver));
    }
    Ok(out)
}

fn comparator(op: &str, ver: &str) -> Result<Comparator, String> {
    let op = match op {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        other => return Err(format!("unknown operator '{other}'")),
    };
    let body = ver.strip_prefix(['v', 'V']).unwrap_or(ver);
    let (rest, build) = match body.split_once('+') {
        Some((r, b)) => (r, b),
        None => (body, ""),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, p),
        None => (rest, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("'{ver}' is not a version"));
    }
    let is_x = |p: &str| matches!(p, "x" | "X" | "*");
    let num = |p: &str| -> Result<u64, String> {
        p.parse::<u64>()
            .map_err(|_| format!("'{ver}' is not a version ('{p}' is not a number)"))
    };
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let (mut major, mut minor, mut patch) = (0, 0, 0);
    if is_x(parts[0]) {
        dirty = true;
    } else {
        major = num(parts[0])?;
        match parts.get(1) {
            None => (dirty, minor_dirty) = (true, true),
            Some(p) if is_x(p) => (dirty, minor_dirty) = (true, true),
            Some(p) => {
                minor = num(p)?;
                match parts.get(2) {
                    None => (dirty, patch_dirty) = (true, true),
                    Some(p) if is_x(p) => (dirty, patch_dirty) = (true, true),
                    Some(p) => patch = num(p)?,
                }
            }
        }
    }
    let v = Version {
        major,
        minor,
        patch,
        pre: pre.to_string(),
        build: build.to_string(),
    };
    Ok(Comparator {
        op,
        v,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        let c = &self.v;
        // A pre-release only satisfies comparisons that themselves name a pre-release
        // (Masterminds: "pre-releases are not compatible" unless asked for).
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        let ord = v.precedence(c);
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v, ord),
            Op::TildeOrEqual => ord == Ordering::Equal,
            Op::Tilde => self.tilde(v, ord),
            Op::NotEqual => {
                if !self.dirty {
                    return ord != Ordering::Equal;
                }
                if v.major != c.major {
                    return true;
                }
                if self.minor_dirty {
                    return false;
                }
                if v.minor != c.minor {
                    return true;
                }
                if self.patch_dirty {
                    return compare_pre(&v.pre, &c.pre) != Ordering::Equal;
                }
                ord != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return ord == Ordering::Greater;
                }
                match v.major.cmp(&c.major) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal if self.minor_dirty => false,
                    Ordering::Equal if self.patch_dirty => v.minor > c.minor,
                    Ordering::Equal => ord == Ordering::Greater,
                }
            }
            Op::Less => ord == Ordering::Less,
            Op::GreaterEqual => ord != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return ord != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Caret => {
                if ord == Ordering::Less {
                    return false;
                }
                // `^*`: the major part is a wildcard, so any version qualifies.
                if self.dirty && !self.minor_dirty && !self.patch_dirty {
                    return true;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version, ord: Ordering) -> bool {
        let c = &self.v;
        if ord == Ordering::Less {
            return false;
        }
        // `~0.0.0` and `*`: anything at or above zero.
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        self.minor_dirty || v.minor == c.minor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, yes: &[&str], no: &[&str]) {
        let c = Constraints::parse(constraint).expect("constraint parses");
        for v in yes {
            let parsed = Version::parse(v).expect("version parses");
            assert!(c.matches(&parsed), "{constraint} should match {v}");
        }
        for v in no {
            let parsed = Version::parse(v).expect("version parses");
            assert!(!c.matches(&parsed), "{constraint} should not match {v}");
        }
    }

    // Cases follow the documented equivalences in Masterminds/semver's README.
    #[test]
    fn basic_operators() {
        check(
            ">= 1.2.3",
            &["1.2.3", "1.3.0", "2.0.0"],
            &["1.2.2", "1.3.0-beta"],
        );
        check(">1.2.3", &["1.2.4"], &["1.2.3"]);
        check("<1.2.3", &["1.2.2", "0.9.0"], &["1.2.3", "1.2.2-rc.1"]);
        check("<=1.2.3", &["1.2.3"], &["1.2.4"]);
        check("!=1.2.3", &["1.2.4"], &["1.2.3"]);
        check("=1.2.3", &["1.2.3", "v1.2.3+build"], &["1.2.4"]);
        check("1.2.3", &["1.2.3"], &["1.2.4"]);
    }

    #[test]
    fn and_or_lists() {
        check(
            ">= 1.2, < 3.0.0 || >= 4.2.3",
            &["1.2.0", "2.9.9", "4.2.3"],
            &["3.0.0", "4.2.2", "1.1.9"],
        );
        check(">=1.0.0 <2.0.0", &["1.0.0", "1.9.9"], &["2.0.0", "0.9.0"]);
    }

    #[test]
    fn hyphen_ranges() {
        check("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.4.6", "1.1.9"]);
        check("2.3.4 - 4.5", &["2.3.4", "4.5.9"], &["4.6.0"]);
    }

    #[test]
    fn wildcards() {
        check("1.2.x", &["1.2.0", "1.2.9"], &["1.3.0", "1.1.9"]);
        check(">= 1.2.x", &["1.2.0", "9.0.0"], &["1.1.9"]);
        check("<= 2.x", &["2.9.9", "1.0.0"], &["3.0.0"]);
        check("*", &["0.0.1", "10.2.3"], &["1.0.0-rc.1"]);
        check("!= 4.x", &["3.9.9", "5.0.0"], &["4.0.0", "4.9.1"]);
        check("> 1.x", &["2.0.0"], &["1.9.9"]);
    }

    #[test]
    fn tilde() {
        check("~1.2.3", &["1.2.3", "1.2.9"], &["1.3.0", "1.2.2"]);
        check("~1", &["1.0.0", "1.9.0"], &["2.0.0"]);
        check("~2.3", &["2.3.0", "2.3.9"], &["2.4.0"]);
        check("~1.x", &["1.5.0"], &["2.0.0"]);
    }

    #[test]
    fn caret() {
        check("^1.2.3", &["1.2.3", "1.9.0"], &["2.0.0", "1.2.2"]);
        check("^2.x", &["2.0.0", "2.9.0"], &["3.0.0"]);
        check("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0", "0.2.2"]);
        check("^0.2", &["0.2.0", "0.2.9"], &["0.3.0"]);
        check("^0.0.3", &["0.0.3"], &["0.0.4"]);
        check("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]);
        check("^0", &["0.0.0", "0.9.9"], &["1.0.0"]);
        check("^*", &["0.5.0", "3.0.0"], &["1.0.0-rc.1"]);
    }

    #[test]
    fn prereleases_only_when_asked() {
        check(">=1.2.3-0", &["1.2.3-beta", "1.3.0"], &["1.2.2"]);
        check(">=1.0.0", &["1.0.0"], &["1.1.0-rc.1"]);
    }

    #[test]
    fn bad_constraints_are_refused() {
        for bad in ["", ">=", "1.2.3.4", "~> a.b", "1.2 -", "=== 1"] {
            assert!(Constraints::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
