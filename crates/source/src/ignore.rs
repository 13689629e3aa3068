//! Gitignore-syntax exclusion rules as Flux applies them to artifacts: defaults, `.sourceignore`, `spec.ignore`.

/// Name of the per-directory ignore file Flux reads from the repository.
pub const SOURCEIGNORE_FILE: &str = ".sourceignore";

/// Always excluded (version-control files), whatever `spec.ignore` says.
const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Excluded unless `spec.ignore` is set (Flux: ExcludeExt, ExcludeCI, ExcludeExtra).
const EXCLUDE_DEFAULT: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// One path-component glob, pre-sorted into the cheap common shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Glob {
    /// No wildcard: plain equality.
    Literal(String),
    /// `*` followed by a wildcard-free suffix (`*.yaml`).
    Suffix(String),
    /// `**` (spans directories; only meaningful in anchored patterns).
    DoubleStar,
    /// Anything else, matched by the general matcher.
    General(String),
}

impl Glob {
    fn new(segment: &str) -> Glob {
        let special = |c: char| matches!(c, '*' | '?' | '[' | '\\');
        if segment == "**" {
            Glob::DoubleStar
        } else if !segment.contains(special) {
            Glob::Literal(segment.to_string())
        } else if let Some(rest) = segment.strip_prefix('*').filter(|r| !r.contains(special)) {
            Glob::Suffix(rest.to_string())
        } else {
            Glob::General(segment.to_string())
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Literal(l) => l == text,
            Glob::Suffix(s) => text.ends_with(s.as_str()),
            Glob::DoubleStar => true,
            Glob::General(g) => glob(g, text),
        }
    }
}

/// One gitignore line, scoped to the directory (`domain`) of the file it came from.
#[derive(Debug, Clone)]
pub struct Pattern {
    domain: Vec<String>,
    segments: Vec<Glob>,
    negate: bool,
    dir_only: bool,
    /// Patterns with a slash before their end match from the domain root; others match any component.
    anchored: bool,
}

/// Outcome of matching one path against one pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Exclude,
    Include,
}

impl Pattern {
    /// Parses one line of gitignore syntax; `None` for blanks and comments.
    /// `domain` is the directory (as path components) the rule applies under.
    pub fn parse(line: &str, domain: &[String]) -> Option<Pattern> {
        let mut s = line.trim_end_matches(['\r', '\n']);
        // Trailing spaces are ignored unless escaped with a backslash.
        while s.ends_with(' ') && !s.ends_with("\\ ") {
            s = &s[..s.len() - 1];
        }
        if s.is_empty() || s.starts_with('#') {
            return None;
        }
        let mut negate = false;
        if let Some(rest) = s.strip_prefix('!') {
            negate = true;
            s = rest;
        } else if s.starts_with("\\!") || s.starts_with("\\#") {
            s = &s[1..];
        }
        let mut dir_only = false;
        if let Some(rest) = s.strip_suffix('/') {
            dir_only = true;
            s = rest;
        }
        if s.is_empty() {
            return None;
        }
        let anchored = s.contains('/');
        let s = s.strip_prefix('/').unwrap_or(s);
        let segments: Vec<Glob> = s.split('/').map(Glob::new).collect();
        Some(Pattern {
            domain: domain.to_vec(),
            segments,
            negate,
            dir_only,
            anchored,
        })
    }

    fn verdict(&self, path: &[&str], is_dir: bool) -> Option<Verdict> {
        if path.len() <= self.domain.len() || !self.domain.iter().zip(path).all(|(d, p)| d == p) {
            return None;
        }
        let rel = &path[self.domain.len()..];
        let hit = if self.anchored {
            match_prefix(&self.segments, rel, is_dir, self.dir_only)
        } else {
            // A slash-free pattern matches a component at any depth; matching a parent
            // directory excludes everything beneath it.
            rel.iter().enumerate().any(|(i, comp)| {
                self.segments[0].matches(comp) && !(self.dir_only && i == rel.len() - 1 && !is_dir)
            })
        };
        hit.then_some(if self.negate {
            Verdict::Include
        } else {
            Verdict::Exclude
        })
    }
}

/// Anchored match of pattern segments against a leading part of `path` (`**` spans directories).
fn match_prefix(pat: &[Glob], path: &[&str], is_dir: bool, dir_only: bool) -> bool {
    let Some((first, rest)) = pat.split_first() else {
        // Pattern consumed: a directory-only rule needs the last matched component to be a
        // directory, which holds whenever more path follows it.
        return !(dir_only && path.is_empty() && !is_dir);
    };
    if *first == Glob::DoubleStar {
        if rest.is_empty() {
            return !path.is_empty();
        }
        return (0..=path.len()).any(|skip| match_prefix(rest, &path[skip..], is_dir, dir_only));
    }
    match path.split_first() {
        Some((comp, tail)) if first.matches(comp) => {
            if rest.is_empty() && dir_only && tail.is_empty() && !is_dir {
                return false;
            }
            match_prefix(rest, tail, is_dir, dir_only)
        }
        _ => false,
    }
}

/// Matches one path component against a glob: `*`, `?`, `[a-z]`, `[!x]`, `\` escapes.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    // Position to resume from after the last `*`: classic backtracking wildcard match.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(&p[pi..], t[ti]) {
                Some((true, len)) => Some(len),
                _ => None,
            },
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == t[ti]).then_some(2),
            Some(c) => (*c == t[ti]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches a bracket class at the start of `p`; returns (matched, length of the class).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if lo <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    // Unclosed bracket: git treats the pattern as not matching.
    None
}

/// The rule set for one artifact: Flux's defaults, `.sourceignore` files found while walking,
/// and `spec.ignore`, with later rules taking precedence as in gitignore.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    base: Vec<Pattern>,
    spec: Vec<Pattern>,
}

impl IgnoreRules {
    /// Rules for `spec.ignore` (`None` keeps Flux's default exclusions; `Some` replaces them,
    /// while `.git/` and friends stay excluded).
    pub fn new(spec_ignore: Option<&str>) -> IgnoreRules {
        let mut base: Vec<Pattern> = EXCLUDE_VCS
            .iter()
            .filter_map(|l| Pattern::parse(l, &[]))
            .collect();
        if spec_ignore.is_none() {
            base.extend(
                EXCLUDE_DEFAULT
                    .iter()
                    .filter_map(|l| Pattern::parse(l, &[])),
            );
        }
        let spec = spec_ignore
            .map(|text| parse_lines(text, &[]))
            .unwrap_or_default();
        IgnoreRules { base, spec }
    }

    /// Is `path` (components relative to the tree root) excluded, given the `.sourceignore`
    /// patterns in scope (`local`, outermost directory first)?
    pub fn is_excluded(&self, local: &[Pattern], path: &[&str], is_dir: bool) -> bool {
        let ordered = self
            .spec
            .iter()
            .rev()
            .chain(local.iter().rev())
            .chain(self.base.iter().rev());
        for p in ordered {
            if let Some(v) = p.verdict(path, is_dir) {
                return v == Verdict::Exclude;
            }
        }
        false
    }
}

/// Parses a whole ignore file's text, each rule scoped to `domain`.
pub fn parse_lines(text: &str, domain: &[String]) -> Vec<Pattern> {
    text.lines()
        .filter_map(|l| Pattern::parse(l, domain))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(rules: &IgnoreRules, local: &[Pattern], path: &str, is_dir: bool) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        rules.is_excluded(local, &parts, is_dir)
    }

    #[test]
    fn globs() {
        assert!(glob("*.yaml", "a.yaml"));
        assert!(!glob("*.yaml", "a.yml"));
        assert!(glob("a?c", "abc"));
        assert!(glob("[a-c]x", "bx"));
        assert!(!glob("[!a-c]x", "bx"));
        assert!(glob("\\*", "*"));
        assert!(glob("*a*b", "xxaxxb"));
        assert!(!glob("[abc", "a"));
    }

    #[test]
    fn flux_defaults() {
        let r = IgnoreRules::new(None);
        assert!(excluded(&r, &[], ".git", true));
        assert!(excluded(&r, &[], "img/logo.png", false));
        assert!(excluded(&r, &[], ".github", true));
        assert!(excluded(&r, &[], "deep/dir/.sops.yaml", false));
        assert!(!excluded(&r, &[], "deploy/app.yaml", false));
        // `.github/` is directory-only: a file of that name stays.
        assert!(!excluded(&r, &[], ".github", false));
        // spec.ignore replaces the defaults but not the VCS exclusions.
        let r = IgnoreRules::new(Some("*.txt\n"));
        assert!(!excluded(&r, &[], "img/logo.png", false));
        assert!(excluded(&r, &[], "notes.txt", false));
        assert!(excluded(&r, &[], ".gitignore", false));
    }

    #[test]
    fn anchoring_negation_and_domains() {
        let r = IgnoreRules::new(Some("/build\n*.md\n!README.md\ndocs/**/*.yaml\n"));
        assert!(excluded(&r, &[], "build", true));
        assert!(!excluded(&r, &[], "src/build", true));
        assert!(excluded(&r, &[], "a/b.md", false));
        assert!(!excluded(&r, &[], "a/README.md", false));
        assert!(excluded(&r, &[], "docs/x.yaml", false));
        assert!(excluded(&r, &[], "docs/a/b/x.yaml", false));
        assert!(!excluded(&r, &[], "other/x.yaml", false));
        let local = parse_lines("secret.yaml\n/top.yaml\n", &["apps".to_string()]);
        let r = IgnoreRules::new(None);
        assert!(excluded(&r, &local, "apps/x/secret.yaml", false));
        assert!(excluded(&r, &local, "apps/top.yaml", false));
        assert!(!excluded(&r, &local, "apps/x/top.yaml", false));
        assert!(!excluded(&r, &local, "secret.yaml", false));
    }
}
