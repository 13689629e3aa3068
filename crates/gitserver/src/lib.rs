//! A local Git host: git's own `http-backend` run as CGI behind a minimal HTTP/1.1 server on
//! 127.0.0.1, plain or TLS (a fresh CA), with basic auth (CodeCommit's HTTPS model) or bearer
//! auth. Used by `flotilla dev --example` and by the integration tests (through testkit).

mod http;

pub use http::{base64, HttpAuth, HttpGitServer, ServeError};
