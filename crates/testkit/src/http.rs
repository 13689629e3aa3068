//! The Git HTTP server of `flotilla-gitserver`, with fixture-style constructors that panic on failure.

use std::ops::Deref;
use std::path::Path;

pub use flotilla_gitserver::{base64, HttpAuth};

/// [`flotilla_gitserver::HttpGitServer`] started the way tests want it: a failure to start is
/// a test failure. Everything else (port, url, counters, `set_auth`) comes through `Deref`.
pub struct HttpGitServer(flotilla_gitserver::HttpGitServer);

impl HttpGitServer {
    /// Serves the repositories under `root` (URL path = path below root) over plain HTTP.
    pub fn start(root: &Path, auth: HttpAuth) -> HttpGitServer {
        HttpGitServer(flotilla_gitserver::HttpGitServer::start(root, auth).unwrap())
    }

    /// Serves over HTTPS with a certificate for 127.0.0.1 from a fresh CA; returns the CA (PEM).
    pub fn start_tls(root: &Path, auth: HttpAuth) -> (HttpGitServer, String) {
        let (server, ca) = flotilla_gitserver::HttpGitServer::start_tls(root, auth).unwrap();
        (HttpGitServer(server), ca)
    }
}

impl Deref for HttpGitServer {
    type Target = flotilla_gitserver::HttpGitServer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
