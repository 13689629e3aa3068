//! Artifact revisions as Flux writes them: `main@sha1:<sha>`, `v1.2.3@sha1:<sha>`, `sha1:<sha>`,
//! and the legacy `main/<sha>` form of older Flux versions.

/// A revision split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revision<'a> {
    /// The reference (`main`, `v1.2.3`, `refs/pull/1/head`), absent for a bare commit.
    pub reference: Option<&'a str>,
    /// The digest algorithm (`sha1` for Git commits, `sha256` for OCI).
    pub algorithm: &'a str,
    /// The hex digest.
    pub digest: &'a str,
}

/// The revision of a Git commit: `<reference>@sha1:<sha>`, or `sha1:<sha>` without a reference.
pub fn git_revision(reference: Option<&str>, sha1: &str) -> String {
    match reference.filter(|r| !r.is_empty()) {
        Some(r) => format!("{r}@sha1:{sha1}"),
        None => format!("sha1:{sha1}"),
    }
}

/// Splits a revision; legacy `main/<sha>` and bare 40-hex `<sha>` forms are read as sha1.
/// Returns `None` for text that is none of these.
pub fn parse_revision(revision: &str) -> Option<Revision<'_>> {
    let (reference, rest) = match revision.rsplit_once('@') {
        Some((r, rest)) => (Some(r), rest),
        None => (None, revision),
    };
    if let Some((algorithm, digest)) = rest.split_once(':') {
        let valid = !algorithm.is_empty() && is_hex(digest);
        return valid.then_some(Revision {
            reference,
            algorithm,
            digest,
        });
    }
    if reference.is_some() {
        return None;
    }
    // Before Flux v2.0 Git revisions were `<branch>/<sha>` (or just the sha).
    let (legacy_ref, sha) = match revision.rsplit_once('/') {
        Some((r, sha)) => (Some(r), sha),
        None => (None, revision),
    };
    (sha.len() == 40 && is_hex(sha)).then_some(Revision {
        reference: legacy_ref,
        algorithm: "sha1",
        digest: sha,
    })
}

/// Whether two revisions name the same content: equal digests (and algorithms), whatever the
/// reference or format.
pub fn same_revision(a: &str, b: &str) -> bool {
    match (parse_revision(a), parse_revision(b)) {
        (Some(x), Some(y)) => x.algorithm == y.algorithm && x.digest.eq_ignore_ascii_case(y.digest),
        _ => a == b,
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "8b2a5c7e3d9f0a1b2c3d4e5f60718293a4b5c6d7";

    #[test]
    fn formats_git_revisions() {
        assert_eq!(git_revision(Some("main"), SHA), format!("main@sha1:{SHA}"));
        assert_eq!(
            git_revision(Some("refs/pull/420/head"), SHA),
            format!("refs/pull/420/head@sha1:{SHA}")
        );
        assert_eq!(git_revision(None, SHA), format!("sha1:{SHA}"));
    }

    #[test]
    fn parses_current_and_legacy_forms() {
        let current = format!("main@sha1:{SHA}");
        assert_eq!(
            parse_revision(&current),
            Some(Revision {
                reference: Some("main"),
                algorithm: "sha1",
                digest: SHA
            })
        );
        let legacy = format!("main/{SHA}");
        assert_eq!(parse_revision(&legacy), parse_revision(&current));
        assert_eq!(
            parse_revision(&format!("sha1:{SHA}")).map(|r| r.reference),
            Some(None)
        );
        assert!(parse_revision("main@sha1:not-hex").is_none());
        assert!(parse_revision("v1.2.3").is_none());
        assert!(same_revision(&legacy, &format!("sha1:{SHA}")));
        assert!(!same_revision(
            &current,
            "main@sha1:0000000000000000000000000000000000000000"
        ));
    }
}
