//! ImagePolicy selection: filter tags by pattern, extract the compared part, pick the latest by semver, alphabetical or numerical order, as image-reflector-controller does.
//!
//! Choices that follow Flux: semver values are read strictly (`MAJOR.MINOR.PATCH`, optional `v`;
//! others are skipped) and the first of equal versions wins; numerical order refuses the whole
//! list when one value is not a number; alphabetical order is byte order. When `extract` maps
//! two tags to the same value the later tag in the list keeps it (Flux keeps the last one too,
//! but then iterates a Go map, so its tie-breaking between equal numbers is random; here it is
//! list order: among equal numbers the last one wins, as Flux's loop does).

use std::collections::HashMap;
use std::fmt;

use flotilla_source::semver::{Constraints, Version};
use regex::Regex;

/// Sort direction of alphabetical and numerical policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// The greatest value wins.
    #[default]
    Asc,
    /// The smallest value wins.
    Desc,
}

/// The ordering rule of an ImagePolicy (`spec.policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `semver.range`: the highest version inside the range.
    SemVer(String),
    /// `alphabetical.order`.
    Alphabetical(Order),
    /// `numerical.order`.
    Numerical(Order),
}

/// `spec.filterTags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// RE2 pattern tags must match (unanchored, as Go's `FindStringSubmatchIndex`).
    pub pattern: Option<String>,
    /// Template of the compared value: `$name`, `${name}`, `$1`; the whole tag when empty.
    pub extract: Option<String>,
}

/// Why a policy cannot be built or cannot pick a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `semver.range` does not parse (the policy is stalled until the spec changes).
    #[error("spec.policy.semver.range: {0}")]
    InvalidRange(#[from] flotilla_source::semver::ConstraintError),
    /// `filterTags.pattern` does not compile (the policy is stalled until the spec changes).
    #[error("spec.filterTags.pattern '{pattern}' is not a valid regular expression: {reason}")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// The parser's message.
        reason: String,
    },
    /// The repository has no tags (yet).
    #[error("no tags in the image repository's scan result; wait for a scan or check the ImageRepository")]
    NoTags,
    /// No tag matches `filterTags.pattern`.
    #[error("none of the {count} tags matches spec.filterTags.pattern '{pattern}'")]
    NoMatch {
        /// The pattern.
        pattern: String,
        /// How many tags were considered.
        count: usize,
    },
    /// No (strict semver) tag satisfies the range.
    #[error("no tag is a version inside the range '{range}' (tags must read as MAJOR.MINOR.PATCH, 'v' prefix allowed)")]
    NoVersionInRange {
        /// The range.
        range: String,
    },
    /// Numerical order met a value that is not a number.
    #[error("numerical policy: '{value}' (from tag '{tag}') is not a number; narrow spec.filterTags.pattern or extract the numeric part")]
    NotANumber {
        /// The compared value.
        value: String,
        /// The tag it came from.
        tag: String,
    },
}

/// A compiled policy: filter, extract and rule.
#[derive(Debug, Clone)]
pub struct Policy {
    rule: Compiled,
    filter: Option<Filter>,
}

#[derive(Debug, Clone)]
enum Compiled {
    SemVer(String, Constraints),
    Alphabetical(Order),
    Numerical(Order),
}

#[derive(Debug, Clone)]
struct Filter {
    pattern: String,
    regex: Regex,
    extract: String,
}

/// The tag a policy picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The tag as in the registry.
    pub tag: String,
    /// The value that was compared (the extracted part, or the tag).
    pub compared: String,
}

impl Selection {
    /// `status.observedPreviousRef`'s tag: the old `latestRef` tag when the choice changed,
    /// else whatever was recorded before (`kept`).
    pub fn previous(&self, old_latest: Option<&str>, kept: Option<&str>) -> Option<String> {
        match old_latest {
            Some(old) if old != self.tag => Some(old.to_string()),
            _ => kept.map(str::to_string),
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl Policy {
    /// Compiles the rule and the filter; errors are spec errors (stall, do not retry).
    pub fn new(rule: &Rule, filter: Option<&FilterSpec>) -> Result<Policy, PolicyError> {
        let rule = match rule {
            Rule::SemVer(range) => Compiled::SemVer(range.clone(), Constraints::parse(range)?),
            Rule::Alphabetical(o) => Compiled::Alphabetical(*o),
            Rule::Numerical(o) => Compiled::Numerical(*o),
        };
        let filter = match filter.and_then(|f| f.pattern.as_deref().map(|p| (p, f))) {
            None => None,
            Some((pattern, spec)) => {
                let regex = Regex::new(pattern).map_err(|e| PolicyError::InvalidPattern {
                    pattern: pattern.to_string(),
                    reason: e.to_string(),
                })?;
                Some(Filter {
                    pattern: pattern.to_string(),
                    regex,
                    extract: spec.extract.clone().unwrap_or_default(),
                })
            }
        };
        Ok(Policy { rule, filter })
    }

    /// Picks the latest tag among `tags` (in the store's order).
    pub fn latest<'a, I>(&self, tags: I) -> Result<Selection, PolicyError>
    where
        I: IntoIterator<Item = &'a str>,
    {
        // (compared value, original tag), in first-appearance order of the compared value.
        let mut items: Vec<(String, &'a str)> = Vec::new();
        let mut total = 0usize;
        match &self.filter {
            None => {
                for t in tags {
                    total += 1;
                    items.push((t.to_string(), t));
                }
            }
            Some(f) => {
                let mut seen: HashMap<String, usize> = HashMap::new();
                for t in tags {
                    total += 1;
                    let Some(caps) = f.regex.captures(t) else {
                        continue;
                    };
                    let value = if f.extract.is_empty() {
                        t.to_string()
                    } else {
                        let mut out = String::new();
                        caps.expand(&f.extract, &mut out);
                        out
                    };
                    match seen.get(&value) {
                        Some(&i) => items[i].1 = t,
                        None => {
                            seen.insert(value.clone(), items.len());
                            items.push((value, t));
                        }
                    }
                }
            }
        }
        if total == 0 {
            return Err(PolicyError::NoTags);
        }
        if items.is_empty() {
            let pattern = self
                .filter
                .as_ref()
                .map(|f| f.pattern.clone())
                .unwrap_or_default();
            return Err(PolicyError::NoMatch {
                pattern,
                count: total,
            });
        }
        let pick = match &self.rule {
            Compiled::SemVer(range, c) => {
                semver_latest(&items, c).ok_or_else(|| PolicyError::NoVersionInRange {
                    range: range.clone(),
                })?
            }
            Compiled::Alphabetical(order) => alphabetical_latest(&items, *order),
            Compiled::Numerical(order) => numerical_latest(&items, *order)?,
        };
        let (compared, tag) = &items[pick];
        Ok(Selection {
            tag: tag.to_string(),
            compared: compared.clone(),
        })
    }
}

/// Masterminds' `StrictNewVersion` after one leading `v` is dropped (fluxcd/pkg/version).
pub fn parse_strict(text: &str) -> Option<Version> {
    let s = text.strip_prefix('v').unwrap_or(text);
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let parts: Vec<&str> = s[..core_end].split('.').collect();
    if parts.len() != 3
        || parts.iter().any(|p| {
            p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
        })
    {
        return None;
    }
    Version::parse(s)
}

fn semver_latest(items: &[(String, &str)], c: &Constraints) -> Option<usize> {
    let mut best: Option<(usize, Version)> = None;
    for (i, (value, _)) in items.iter().enumerate() {
        let Some(v) = parse_strict(value) else {
            continue;
        };
        if !c.matches(&v) {
            continue;
        }
        let better = match &best {
            None => true,
            Some((_, b)) => v.precedence(b) == std::cmp::Ordering::Greater,
        };
        if better {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

fn alphabetical_latest(items: &[(String, &str)], order: Order) -> usize {
    let mut best = 0;
    for (i, (value, _)) in items.iter().enumerate().skip(1) {
        let b = &items[best].0;
        let better = match order {
            Order::Asc => value.as_bytes() > b.as_bytes(),
            Order::Desc => value.as_bytes() < b.as_bytes(),
        };
        if better {
            best = i;
        }
    }
    best
}

fn numerical_latest(items: &[(String, &str)], order: Order) -> Result<usize, PolicyError> {
    let mut best: Option<(usize, f64)> = None;
    for (i, (value, tag)) in items.iter().enumerate() {
        let n = parse_go_float(value).ok_or_else(|| PolicyError::NotANumber {
            value: value.clone(),
            tag: tag.to_string(),
        })?;
        let skip = match (&best, order) {
            (None, _) => false,
            (Some((_, p)), Order::Asc) => n < *p,
            (Some((_, p)), Order::Desc) => n > *p,
        };
        if !skip {
            best = Some((i, n));
        }
    }
    Ok(best.map(|(i, _)| i).unwrap_or(0))
}

/// Decimal numbers as Go's `strconv.ParseFloat` reads them (sign, fraction, exponent, inf/nan).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse().ok();
    }
    // Rust accepts forms Go refuses ("1." is fine in both; "e5" in neither); keep to digits.
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(
        rule: Rule,
        filter: Option<(&str, &str)>,
        tags: &[&str],
    ) -> Result<String, PolicyError> {
        let spec = filter.map(|(p, e)| FilterSpec {
            pattern: Some(p.to_string()),
            extract: (!e.is_empty()).then(|| e.to_string()),
        });
        let policy = Policy::new(&rule, spec.as_ref())?;
        policy.latest(tags.iter().copied()).map(|s| s.tag)
    }

    #[test]
    fn reference_scenario_build_10_beats_9() {
        let tags = [
            "main-d480788-7",
            "main-1a2b3c4-9",
            "main-abcdef0-10",
            "feature-0000000-99",
            "latest",
        ];
        let got = pick(
            Rule::Numerical(Order::Asc),
            Some(("^main-[a-f0-9]+-(?P<build>[0-9]+)", "$build")),
            &tags,
        );
        assert_eq!(got.expect("picks"), "main-abcdef0-10");
        let got = pick(
            Rule::Numerical(Order::Asc),
            Some(("^main-[a-f0-9]+-(?<build>[0-9]+)", "${build}")),
            &tags,
        );
        assert_eq!(got.expect("picks"), "main-abcdef0-10");
        // Alphabetically "9" sorts after "10": the reason numerical order exists.
        let got = pick(
            Rule::Alphabetical(Order::Asc),
            Some(("^main-[a-f0-9]+-(?P<build>[0-9]+)", "$build")),
            &tags,
        );
        assert_eq!(got.expect("picks"), "main-1a2b3c4-9");
        let sel = Selection {
            tag: "b".into(),
            compared: "b".into(),
        };
        assert_eq!(sel.previous(Some("a"), None).as_deref(), Some("a"));
        assert_eq!(sel.previous(Some("b"), Some("z")).as_deref(), Some("z"));
        assert_eq!(sel.previous(None, None), None);
    }

    // Cases from the behaviour documented for image-reflector-controller's policies.
    #[test]
    fn semver_strict_and_range() {
        let tags = [
            "1.0.0",
            "v1.2.3",
            "1.2",
            "1.10.0-rc.1",
            "2.0.0",
            "latest",
            "01.2.3",
        ];
        assert_eq!(
            pick(Rule::SemVer("1.x".into()), None, &tags).expect("picks"),
            "v1.2.3"
        );
        assert_eq!(
            pick(Rule::SemVer(">=1.0.0".into()), None, &tags).expect("picks"),
            "2.0.0"
        );
        assert_eq!(
            pick(Rule::SemVer(">=1.0.0-0".into()), None, &tags).expect("picks"),
            "2.0.0"
        );
        assert_eq!(
            pick(Rule::SemVer("~1.10.0-0".into()), None, &tags).expect("picks"),
            "1.10.0-rc.1"
        );
        // "1.2" is not strict semver, so the range 1.2.x has nothing but v1.2.3.
        assert!(pick(Rule::SemVer("~1.2".into()), None, &["1.2"]).is_err());
        // Equal versions: the first one wins.
        assert_eq!(
            pick(Rule::SemVer("*".into()), None, &["v1.0.0", "1.0.0+b"]).expect("picks"),
            "v1.0.0"
        );
        assert!(matches!(
            pick(Rule::SemVer(">= 3".into()), None, &tags),
            Err(PolicyError::NoVersionInRange { .. })
        ));
        assert!(matches!(
            Policy::new(&Rule::SemVer("~> a.b".into()), None),
            Err(PolicyError::InvalidRange(_))
        ));
    }

    #[test]
    fn alphabetical_and_numerical_orders() {
        let tags = [
            "RELEASE.2021-01-01",
            "RELEASE.2020-12-31",
            "RELEASE.2021-01-02",
        ];
        assert_eq!(
            pick(Rule::Alphabetical(Order::Asc), None, &tags).expect("picks"),
            "RELEASE.2021-01-02"
        );
        assert_eq!(
            pick(Rule::Alphabetical(Order::Desc), None, &tags).expect("picks"),
            "RELEASE.2020-12-31"
        );
        // Byte order: uppercase sorts before lowercase.
        assert_eq!(
            pick(Rule::Alphabetical(Order::Asc), None, &["b", "B", "a"]).expect("picks"),
            "b"
        );
        let nums = ["1", "10", "9", "-1", "1.5", "1e1"];
        assert_eq!(
            pick(Rule::Numerical(Order::Asc), None, &nums).expect("picks"),
            "1e1"
        );
        assert_eq!(
            pick(Rule::Numerical(Order::Desc), None, &nums).expect("picks"),
            "-1"
        );
        assert!(matches!(
            pick(Rule::Numerical(Order::Asc), None, &["1", "x2"]),
            Err(PolicyError::NotANumber { .. })
        ));
    }

    #[test]
    fn filter_errors_and_duplicates() {
        assert!(matches!(
            Policy::new(
                &Rule::Alphabetical(Order::Asc),
                Some(&FilterSpec {
                    pattern: Some("(".into()),
                    extract: None
                })
            ),
            Err(PolicyError::InvalidPattern { .. })
        ));
        assert!(matches!(
            pick(Rule::Alphabetical(Order::Asc), Some(("^x", "")), &["a"]),
            Err(PolicyError::NoMatch { .. })
        ));
        assert!(matches!(
            pick(Rule::Alphabetical(Order::Asc), None, &[]),
            Err(PolicyError::NoTags)
        ));
        // Two tags extract to "5": the later one keeps it.
        let got = pick(
            Rule::Numerical(Order::Asc),
            Some(("-(?P<n>[0-9]+)$", "$n")),
            &["a-5", "b-3", "c-5"],
        );
        assert_eq!(got.expect("picks"), "c-5");
        // A missing group expands to nothing, as Go's Expand does.
        let got = pick(
            Rule::Alphabetical(Order::Asc),
            Some(("^(a|b)", "$nope")),
            &["a", "b"],
        );
        assert_eq!(got.expect("picks"), "b");
    }

    #[test]
    fn strict_versions() {
        for ok in ["1.2.3", "v1.2.3", "0.0.0-rc.1+b", "10.20.30"] {
            assert!(parse_strict(ok).is_some(), "{ok}");
        }
        for bad in [
            "1.2", "v1", "1.2.3.4", "01.2.3", "1.02.3", "vv1.2.3", "1.2.3-01",
        ] {
            assert!(parse_strict(bad).is_none(), "{bad}");
        }
    }
}
