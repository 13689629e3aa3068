//! Rewrites Flux manifests from removed API versions to the current ones, keeping comments and
//! formatting: version strings are replaced in place; fields the new versions dropped are
//! removed line by line; fields they renamed are rewritten as blocks.
//!
//! Versions: source `v1beta1`/`v1beta2` → `v1`; kustomize `v1beta1`/`v1beta2` → `v1`; image
//! `v1beta1`/`v1beta2` → `v1`; notification Provider/Alert → `v1beta3`, Receiver → `v1`; helm
//! `v2beta1`/`v2beta2` → `v2`. Patch targets naming an old toolkit version follow (else the
//! patch would no longer match once the object is migrated).
//!
//! Field changes: Kustomization `spec.validation` removed, `spec.patchesStrategicMerge` and
//! `spec.patchesJson6902` become `spec.patches` entries; GitRepository `spec.gitImplementation`
//! and `spec.accessFrom` removed; HelmRelease `spec.chart.spec.valuesFile` becomes `valuesFiles`.
//! What cannot be rewritten safely (a converted patch list next to an existing `patches`, Helm
//! post-renderer patches) is reported as a warning and left as it was.

mod text;

use std::path::{Path, PathBuf};

use flotilla_yaml::edit::{self, Edit, PathSegment, ScalarSite};

use text::{find_key, key_block, split_documents};

/// Why a file could not be migrated.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The path could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file is not valid YAML.
    #[error("{path}: not valid YAML: {reason}; fix the file or move it out of the path")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
}

/// Options of [`migrate_path`].
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Compute and report the changes, write nothing.
    pub dry_run: bool,
}

/// What changed in one text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// The new text.
    pub text: String,
    /// One line per change, as `line N: what`.
    pub changes: Vec<String>,
    /// What was left for a person to do.
    pub warnings: Vec<String>,
}

/// One changed file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its changes and warnings.
    pub migrated: Migrated,
}

/// The current version for a toolkit group/kind/version, if that version was removed.
pub fn upgrade(group: &str, kind: &str, version: &str) -> Option<&'static str> {
    let beta = matches!(version, "v1beta1" | "v1beta2");
    match (group, kind) {
        (
            "source.toolkit.fluxcd.io",
            "GitRepository" | "HelmRepository" | "HelmChart" | "Bucket" | "OCIRepository",
        ) if beta => Some("v1"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization") if beta => Some("v1"),
        (
            "image.toolkit.fluxcd.io",
            "ImageRepository" | "ImagePolicy" | "ImageUpdateAutomation",
        ) if beta => Some("v1"),
        ("notification.toolkit.fluxcd.io", "Provider" | "Alert") if beta => Some("v1beta3"),
        ("notification.toolkit.fluxcd.io", "Receiver") if beta || version == "v1beta3" => {
            Some("v1")
        }
        ("helm.toolkit.fluxcd.io", "HelmRelease") if matches!(version, "v2beta1" | "v2beta2") => {
            Some("v2")
        }
        _ => None,
    }
}

fn key(k: &str) -> PathSegment {
    PathSegment::Key(k.to_string())
}

/// Migrates one YAML text (any number of documents).
pub fn migrate_text(src: &str) -> Result<Migrated, flotilla_yaml::Error> {
    let sites = edit::scalars(src)?;
    let docs = split_documents(src);
    let mut edits: Vec<Edit> = Vec::new();
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    // Line ranges to delete or replace (0-based, end exclusive) with replacement text.
    let mut blocks: Vec<(usize, usize, String)> = Vec::new();
    let lines: Vec<&str> = src.split_inclusive('\n').collect();

    for doc in &docs {
        let in_doc = |s: &&ScalarSite| s.line > doc.start && s.line <= doc.end;
        let doc_sites: Vec<&ScalarSite> = sites.iter().filter(in_doc).collect();
        let top = |k: &str| doc_sites.iter().find(|s| s.path == [key(k)]).copied();
        // Patch targets naming removed toolkit versions, in Flux and kustomize kustomizations.
        for site in doc_sites
            .iter()
            .filter(|s| s.path.ends_with(&[key("target"), key("version")]))
        {
            let parent = &site.path[..site.path.len() - 1];
            let sibling = |k: &str| {
                let mut p = parent.to_vec();
                p.push(key(k));
                doc_sites
                    .iter()
                    .find(|s| s.path == p)
                    .map(|s| s.value.clone())
            };
            let (Some(group), Some(kind)) = (sibling("group"), sibling("kind")) else {
                continue;
            };
            if let Some(new) = upgrade(&group, &kind, &site.value) {
                changes.push(format!(
                    "line {}: patch target {group}/{} {kind} → {new}",
                    site.line, site.value
                ));
                edits.push(Edit {
                    site: (*site).clone(),
                    value: new.to_string(),
                });
            }
        }
        let (Some(api), Some(kind)) = (top("apiVersion"), top("kind")) else {
            continue;
        };
        let Some((group, version)) = api.value.split_once('/') else {
            continue;
        };
        let Some(new) = upgrade(group, &kind.value, version) else {
            continue;
        };
        let kind_name = kind.value.as_str();
        let name = doc_sites
            .iter()
            .find(|s| s.path == [key("metadata"), key("name")])
            .map_or(String::new(), |s| format!(" {}", s.value));
        changes.push(format!(
            "line {}: {kind_name}{name} {group}/{version} → {group}/{new}",
            api.line
        ));
        edits.push(Edit {
            site: api.clone(),
            value: format!("{group}/{new}"),
        });
        let removed: &[&str] = match (group, kind_name) {
            ("kustomize.toolkit.fluxcd.io", "Kustomization") => &["validation"],
            ("source.toolkit.fluxcd.io", "GitRepository") => &["gitImplementation", "accessFrom"],
            _ => &[],
        };
        for field in removed {
            if let Some(line) = find_key(&lines, doc, &["spec", field]) {
                let end = key_block(&lines, line, doc.end);
                changes.push(format!(
                    "line {}: removed spec.{field} (not in {group}/{new})",
                    line + 1
                ));
                blocks.push((line, end, String::new()));
            }
        }
        if group == "kustomize.toolkit.fluxcd.io" {
            text::convert_kustomize_patches(&lines, doc, &mut blocks, &mut changes, &mut warnings);
        }
        if group == "helm.toolkit.fluxcd.io" {
            text::convert_values_file(&lines, doc, &mut blocks, &mut changes);
            if find_key(&lines, doc, &["spec", "postRenderers"]).is_some() {
                warnings.push(format!(
                    "{kind_name}{name}: check spec.postRenderers by hand (kustomize patchesStrategicMerge/patchesJson6902 became patches in {group}/{new})"
                ));
            }
        }
    }
    if edits.is_empty() && blocks.is_empty() {
        return Ok(Migrated {
            text: src.to_string(),
            changes,
            warnings,
        });
    }
    // Scalar edits inside replaced blocks would be lost; blocks never hold apiVersion or
    // patch targets of the kinds edited above except converted patches, whose text is new.
    let text = edit::apply(src, &edits).map_err(|e| match e {
        edit::EditError::Parse(p) => p,
        other => flotilla_yaml::Error::Syntax {
            at: flotilla_yaml::Location {
                file: None,
                line: 0,
                column: 0,
            },
            message: other.to_string(),
        },
    })?;
    let text = text::replace_blocks(&text, &blocks);
    Ok(Migrated {
        text,
        changes,
        warnings,
    })
}

/// YAML files under `path` (or `path` itself), skipping hidden directories such as `.git`.
fn yaml_files(path: &Path) -> Result<Vec<PathBuf>, MigrateError> {
    let io = |p: &Path, e: std::io::Error| MigrateError::Io {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| io(path, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            out.extend(yaml_files(&p)?);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(p);
        }
    }
    Ok(out)
}

/// Migrates every YAML file under `path`. Every file is read and rewritten in memory first;
/// files are written only when all succeeded (and never with `dry_run`).
pub fn migrate_path(path: &Path, opts: &MigrateOptions) -> Result<Vec<FileReport>, MigrateError> {
    let mut reports = Vec::new();
    for file in yaml_files(path)? {
        let src = std::fs::read_to_string(&file).map_err(|e| MigrateError::Io {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        let migrated = match migrate_text(&src) {
            Ok(m) => m,
            // Templates (Helm charts) are not YAML until rendered; they are only an error when
            // they mention the toolkit APIs this would have rewritten.
            Err(e) if !src.contains("toolkit.fluxcd.io/") => Migrated {
                text: src,
                changes: Vec::new(),
                warnings: vec![format!("skipped: not valid YAML ({e})")],
            },
            Err(e) => {
                return Err(MigrateError::Parse {
                    path: file.clone(),
                    reason: e.to_string(),
                })
            }
        };
        if !migrated.changes.is_empty() || !migrated.warnings.is_empty() {
            reports.push(FileReport {
                path: file,
                migrated,
            });
        }
    }
    if !opts.dry_run {
        for r in &reports {
            if r.migrated.changes.is_empty() {
                continue;
            }
            std::fs::write(&r.path, &r.migrated.text).map_err(|e| MigrateError::Io {
                path: r.path.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests;
