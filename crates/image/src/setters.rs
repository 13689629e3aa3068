//! `$imagepolicy` setters: rewrite the YAML values marked `# {"$imagepolicy": "ns:policy[:tag|:name|:digest]"}` under a directory, byte for byte elsewhere.
//!
//! Files are read only when their text contains the marker token (`*.yaml`, `*.yml` and
//! `Kustomization`, as kyaml's reader selects); a file is written only when a marked value
//! changes. A marked file that does not parse is skipped and reported, never rewritten.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use flotilla_yaml::edit::{self, Edit, PathSegment, ScalarSite, Style};

/// The marker token a file must contain to be parsed.
pub const MARKER: &str = "$imagepolicy";

/// The image a policy selected (`status.latestRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyImage {
    /// Image name, e.g. `ghcr.io/org/app`.
    pub name: String,
    /// Tag.
    pub tag: String,
    /// Digest (`sha256:...`), when the policy reflects digests.
    pub digest: Option<String>,
}

impl PolicyImage {
    /// `name:tag`, or `name:tag@digest`: what a whole-image marker writes.
    pub fn reference(&self) -> String {
        match self.digest.as_deref() {
            Some(d) if !d.is_empty() => format!("{}:{}@{d}", self.name, self.tag),
            _ => format!("{}:{}", self.name, self.tag),
        }
    }
}

/// The object a change was made in (kyaml's resource identifier; any field may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
}

/// One value rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The value before.
    pub old_value: String,
    /// The value written.
    pub new_value: String,
    /// The marker's policy reference as written (`ns:policy:tag`).
    pub setter: String,
}

/// A marked file left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Path relative to the update directory.
    pub file: String,
    /// The reason (parse error, block scalar...).
    pub reason: String,
}

/// A marker naming a policy that was not given (missing, or not selected by `policySelector`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnknownMarker {
    /// Path relative to the update directory.
    pub file: String,
    /// 1-based line of the marked value.
    pub line: usize,
    /// The marker's reference.
    pub setter: String,
}

/// What the setters did: Flux's `update.Result` (file → object → changes) plus what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateResult {
    /// Changes by file (relative to the update directory, `/`-separated), then by object,
    /// in file order.
    pub file_changes: BTreeMap<String, BTreeMap<ObjectId, Vec<Change>>>,
    /// Marked files that could not be updated.
    pub skipped: Vec<Skipped>,
    /// Markers whose policy was not in the given set.
    pub unknown_markers: Vec<UnknownMarker>,
    /// The policies (`ns:name`) some marker referred to and that exist.
    pub used_policies: BTreeSet<String>,
}

impl UpdateResult {
    /// True when no file changed.
    pub fn is_empty(&self) -> bool {
        self.file_changes.is_empty()
    }

    /// Every change, by file then object (Flux's `Result.Changes()`).
    pub fn changes(&self) -> Vec<Change> {
        self.file_changes
            .values()
            .flat_map(|objs| objs.values().flatten().cloned())
            .collect()
    }

    /// Changes by object regardless of file (Flux's `Result.Objects()`).
    pub fn objects(&self) -> BTreeMap<ObjectId, Vec<Change>> {
        let mut out: BTreeMap<ObjectId, Vec<Change>> = BTreeMap::new();
        for objs in self.file_changes.values() {
            for (id, changes) in objs {
                out.entry(id.clone())
                    .or_default()
                    .extend(changes.iter().cloned());
            }
        }
        out
    }
}

/// Why the setters could not run at all (per-file problems are [`UpdateResult::skipped`]).
#[derive(Debug, thiserror::Error)]
pub enum SetterError {
    /// The update directory is missing or unreadable.
    #[error("update path {path}: {source}; check spec.update.path")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Options of [`apply_setters`].
#[derive(Debug, Clone, Default)]
pub struct SetterOptions {
    /// Compute the result without writing files.
    pub dry_run: bool,
}

/// Rewrites marked values in the YAML files under `dir`. `policies` maps `namespace:name`
/// to the image each policy selected.
pub fn apply_setters(
    dir: &Path,
    policies: &BTreeMap<String, PolicyImage>,
    options: &SetterOptions,
) -> Result<UpdateResult, SetterError> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut result = UpdateResult::default();
    for path in files {
        let rel = rel_name(dir, &path);
        let bytes = fs::read(&path).map_err(|source| SetterError::File {
            path: path.clone(),
            source,
        })?;
        // Screening: only files with the token are parsed at all.
        if !contains(&bytes, MARKER.as_bytes()) {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            result.skipped.push(Skipped {
                file: rel,
                reason: "not UTF-8 text".to_string(),
            });
            continue;
        };
        match update_text(&text, &rel, policies, &mut result) {
            Err(reason) => result.skipped.push(Skipped { file: rel, reason }),
            Ok(None) => {}
            Ok(Some((new_text, changes))) => {
                if !options.dry_run {
                    fs::write(&path, new_text).map_err(|source| SetterError::File {
                        path: path.clone(),
                        source,
                    })?;
                }
                result.file_changes.insert(rel, changes);
            }
        }
    }
    Ok(result)
}

type FileChanges = BTreeMap<ObjectId, Vec<Change>>;

/// The new text and its changes, `None` when nothing changes, `Err(reason)` to skip the file.
fn update_text(
    text: &str,
    rel: &str,
    policies: &BTreeMap<String, PolicyImage>,
    result: &mut UpdateResult,
) -> Result<Option<(String, FileChanges)>, String> {
    let sites = edit::scalars(text).map_err(|e| format!("cannot parse YAML: {e}"))?;
    let mut ids: BTreeMap<usize, ObjectId> = BTreeMap::new();
    for s in &sites {
        let field = match s.path.as_slice() {
            [PathSegment::Key(k)] if k == "apiVersion" || k == "kind" => k.as_str(),
            [PathSegment::Key(m), PathSegment::Key(k)]
                if m == "metadata" && (k == "name" || k == "namespace") =>
            {
                k.as_str()
            }
            _ => continue,
        };
        let id = ids.entry(s.document).or_default();
        let slot = match field {
            "apiVersion" => &mut id.api_version,
            "kind" => &mut id.kind,
            "name" => &mut id.name,
            _ => &mut id.namespace,
        };
        *slot = s.value.clone();
    }
    let mut edits = Vec::new();
    let mut changes: FileChanges = BTreeMap::new();
    for site in &sites {
        let Some(setter) = site.line_comment.as_deref().and_then(marker_of) else {
            continue;
        };
        let (policy, field) = split_setter(&setter);
        let Some(image) = policies.get(&policy) else {
            result.unknown_markers.push(UnknownMarker {
                file: rel.to_string(),
                line: site.line,
                setter,
            });
            continue;
        };
        result.used_policies.insert(policy.clone());
        let new_value = match field {
            Field::Image => image.reference(),
            Field::Tag => image.tag.clone(),
            Field::Name => image.name.clone(),
            Field::Digest => match image.digest.as_deref() {
                Some(d) if !d.is_empty() => d.to_string(),
                // No digest reflected: leave the value as it is.
                _ => continue,
            },
            Field::Unknown(f) => {
                result.unknown_markers.push(UnknownMarker {
                    file: rel.to_string(),
                    line: site.line,
                    setter: format!("{policy}:{f}"),
                });
                continue;
            }
        };
        if new_value == site.value {
            continue;
        }
        if matches!(site.style, Style::Literal | Style::Folded) {
            return Err(format!(
                "line {}: the marked value is a block scalar (| or >); write it on one line",
                site.line
            ));
        }
        changes
            .entry(ids.get(&site.document).cloned().unwrap_or_default())
            .or_default()
            .push(Change {
                old_value: site.value.clone(),
                new_value: new_value.clone(),
                setter: setter.clone(),
            });
        edits.push(Edit {
            site: ScalarSite::clone(site),
            value: new_value,
        });
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let out = edit::apply(text, &edits).map_err(|e| e.to_string())?;
    Ok(Some((out, changes)))
}

enum Field {
    Image,
    Tag,
    Name,
    Digest,
    Unknown(String),
}

/// `ns:policy[:field]` → (`ns:policy`, field).
fn split_setter(setter: &str) -> (String, Field) {
    let parts: Vec<&str> = setter.splitn(3, ':').collect();
    match parts.as_slice() {
        [ns, name, field] => {
            let f = match *field {
                "tag" => Field::Tag,
                "name" => Field::Name,
                "digest" => Field::Digest,
                other => Field::Unknown(other.to_string()),
            };
            (format!("{ns}:{name}"), f)
        }
        _ => (setter.to_string(), Field::Image),
    }
}

/// The reference inside a `{"$imagepolicy": "..."}` comment.
fn marker_of(comment: &str) -> Option<String> {
    if !comment.contains(MARKER) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(comment.trim()).ok()?;
    v.get(MARKER)?.as_str().map(str::to_string)
}

fn is_candidate(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SetterError> {
    let entries = fs::read_dir(dir).map_err(|source| SetterError::Dir {
        path: if dir == root {
            root.to_path_buf()
        } else {
            dir.to_path_buf()
        },
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SetterError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        // Symlinks are not followed: a link could point outside the repository.
        let Ok(ft) = entry.file_type() else { continue };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if ft.is_dir() {
            if name != ".git" {
                collect(root, &entry.path(), out)?;
            }
        } else if ft.is_file() && is_candidate(&name) {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn rel_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> BTreeMap<String, PolicyImage> {
        let mut p = BTreeMap::new();
        p.insert(
            "ns:app".to_string(),
            PolicyImage {
                name: "ghcr.io/org/app".into(),
                tag: "main-abc-10".into(),
                digest: None,
            },
        );
        p
    }

    #[test]
    fn only_marked_values_change_and_crlf_is_kept() {
        let src = "# top\r\nimages:\r\n- name: app\r\n  newName: old # {\"$imagepolicy\": \"ns:app:name\"}\r\n  newTag: main-abc-9 # {\"$imagepolicy\": \"ns:app:tag\"}\r\n  other: main-abc-9\r\n";
        let mut r = UpdateResult::default();
        let (out, changes) = update_text(src, "k.yaml", &policies(), &mut r)
            .expect("parses")
            .expect("changes");
        assert_eq!(
            out,
            src.replace("newName: old", "newName: ghcr.io/org/app")
                .replace("newTag: main-abc-9 #", "newTag: main-abc-10 #")
        );
        let all: Vec<&Change> = changes.values().flatten().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].setter, "ns:app:tag");
        // Running again changes nothing.
        assert!(update_text(&out, "k.yaml", &policies(), &mut r)
            .expect("parses")
            .is_none());
    }

    #[test]
    fn unknown_policies_and_bad_files_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = "a: [unclosed # {\"$imagepolicy\": \"ns:app\"}\n";
        fs::write(dir.path().join("bad.yaml"), bad).expect("writes");
        let other = "image: x:1 # {\"$imagepolicy\": \"ns:missing\"}\n";
        fs::write(dir.path().join("other.yml"), other).expect("writes");
        fs::write(
            dir.path().join("notes.txt"),
            "image: x # {\"$imagepolicy\": \"ns:app\"}\n",
        )
        .expect("writes");
        let r = apply_setters(dir.path(), &policies(), &SetterOptions::default()).expect("runs");
        assert!(r.is_empty());
        assert_eq!(r.skipped.len(), 1);
        assert_eq!(r.skipped[0].file, "bad.yaml");
        assert_eq!(r.unknown_markers.len(), 1);
        assert_eq!(r.unknown_markers[0].setter, "ns:missing");
        assert_eq!(
            fs::read_to_string(dir.path().join("bad.yaml")).expect("reads"),
            bad
        );
    }
}
