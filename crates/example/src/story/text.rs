//! Text the story writes and prints: the bootstrap sync objects, CI tags, short revisions, Go durations, shortened intervals.

use std::time::Duration;

use serde_json::{json, Value};

use super::FLUX_NS;

/// The GitRepository and Kustomization `flux-system` that bootstrap writes into gotk-sync.yaml.
pub(super) fn sync_objects(url: &str, interval: &str) -> [Value; 2] {
    [
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": FLUX_NS, "namespace": FLUX_NS},
            "spec": {"interval": interval, "ref": {"branch": "main"},
                     "secretRef": {"name": FLUX_NS}, "url": url},
        }),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": FLUX_NS, "namespace": FLUX_NS},
            "spec": {"interval": interval, "path": "./clusters/dev-cluster", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": FLUX_NS}},
        }),
    ]
}

pub(super) fn to_yaml(v: &Value) -> String {
    flotilla_yaml::to_string_multi(std::slice::from_ref(v))
}

/// `main-<sha7>-<build>`, the walkthrough's CodeBuild tag.
pub(super) fn ci_tag(sha: &str, build: u32) -> String {
    format!("main-{}-{build}", short(sha))
}

pub(super) fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

pub(super) fn short_rev(rev: &str) -> String {
    match rev.split_once("@sha1:") {
        Some((b, sha)) => format!("{b}@sha1:{}", short(sha)),
        None => rev.to_string(),
    }
}

/// Go duration text for `d` (whole seconds, else milliseconds).
pub(super) fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Every `interval:` and `retryInterval:` value replaced by `interval`, the rest untouched.
pub(super) fn shorten_intervals(text: &str, interval: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match ["interval: ", "retryInterval: "]
            .iter()
            .find(|k| trimmed.starts_with(*k))
        {
            Some(key) => {
                out.push_str(indent);
                out.push_str(key);
                out.push_str(interval);
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::files::FILES;

    #[test]
    fn intervals_are_shortened_and_nothing_else_changes() {
        let text = "spec:\n  interval: 10m0s\n  retryInterval: 5m0s\n  timeout: 5m\n  path: ./x\n";
        assert_eq!(
            shorten_intervals(text, "2s"),
            "spec:\n  interval: 2s\n  retryInterval: 2s\n  timeout: 5m\n  path: ./x\n"
        );
    }

    #[test]
    fn ci_tags_match_the_policy_pattern() {
        let tag = ci_tag("d480788aaaaaaaaa", 10);
        assert_eq!(tag, "main-d480788-10");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(go_duration(Duration::from_secs(2)), "2s");
    }

    #[test]
    fn every_example_file_is_compiled_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/eks-gitops");
        let mut on_disk = Vec::new();
        for top in ["fleet", "microservices", "app"] {
            collect(&root, &root.join(top), &mut on_disk);
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "regenerate crates/example/src/files.rs");
    }

    fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("example directory") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                collect(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("below root");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
}
