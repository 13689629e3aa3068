//! Sorting git's failures into what a reconciler acts on (auth, host key, not found, unreachable).

/// What kind of failure git reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Credentials missing or refused.
    Auth,
    /// The SSH server's host key is not in known_hosts, or differs.
    HostKey,
    /// Repository, branch, tag or commit does not exist on the remote.
    NotFound,
    /// DNS, connection refused, TLS or network errors.
    Unreachable,
    /// The command ran past its deadline and was killed.
    Timeout,
    /// git could not be started.
    Spawn,
    /// Anything else.
    Other,
}

/// A failed git command with its scrubbed diagnostics.
#[derive(Debug, Clone)]
pub(crate) struct GitFailure {
    pub(crate) kind: Failure,
    /// `git fetch`, `git ls-remote`, ...
    pub(crate) operation: String,
    /// The last lines of git's stderr, already scrubbed of credentials.
    pub(crate) detail: String,
}

/// Classifies by git's (LC_ALL=C) stderr. Order matters: an SSH auth failure also says
/// "Could not read from remote repository", so auth is tested before reachability.
pub(crate) fn classify(stderr: &str) -> Failure {
    let s = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| s.contains(n));
    if any(&[
        "host key verification failed",
        "remote host identification has changed",
        "host key for",
        "host key is known for",
    ]) {
        return Failure::HostKey;
    }
    if any(&[
        "authentication failed",
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "permission denied (publickey",
        "permission denied, please try again",
        "returned error: 401",
        "returned error: 403",
        "invalid username or password",
        "invalid credentials",
        "load key",
        "invalid format",
    ]) {
        return Failure::Auth;
    }
    if any(&[
        "couldn't find remote ref",
        "not our ref",
        "repository not found",
        "' not found",
        "does not appear to be a git repository",
        "returned error: 404",
        "no such remote ref",
        "unadvertised object",
        "not a valid object",
    ]) {
        return Failure::NotFound;
    }
    if any(&[
        "could not resolve host",
        "connection refused",
        "failed to connect",
        "connection timed out",
        "network is unreachable",
        "no route to host",
        "could not read from remote repository",
        "connection reset",
        "ssl certificate problem",
        "server certificate verification failed",
        "unable to access",
        "connection closed by",
    ]) {
        return Failure::Unreachable;
    }
    Failure::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_messages() {
        assert_eq!(
            classify("fatal: Authentication failed for 'http://127.0.0.1:1/r.git/'"),
            Failure::Auth
        );
        assert_eq!(
            classify("git@127.0.0.1: Permission denied (publickey).\r\nfatal: Could not read from remote repository."),
            Failure::Auth
        );
        assert_eq!(
            classify(
                "Host key verification failed.\nfatal: Could not read from remote repository."
            ),
            Failure::HostKey
        );
        assert_eq!(
            classify("fatal: couldn't find remote ref refs/heads/nope"),
            Failure::NotFound
        );
        assert_eq!(
            classify("fatal: unable to access 'http://127.0.0.1:9/r/': Failed to connect to 127.0.0.1 port 9"),
            Failure::Unreachable
        );
    }
}
