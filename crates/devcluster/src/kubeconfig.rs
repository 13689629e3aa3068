//! The kubeconfig file kubectl and client libraries read to reach this server.

use std::io::Write;
use std::path::Path;

/// One cluster, user and context, all named `flotilla-dev`, with bearer-token auth.
pub fn render(server_url: &str, token: &str, ca_pem: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    // The token is quoted: an all-hex token could otherwise read as a YAML number.
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server_url}\n  name: flotilla-dev\nusers:\n- name: flotilla-dev\n  user:\n    token: \"{token}\"\ncontexts:\n- context:\n    cluster: flotilla-dev\n    user: flotilla-dev\n    namespace: default\n  name: flotilla-dev\ncurrent-context: flotilla-dev\npreferences: {{}}\n"
    )
}

/// Writes the file readable by its owner only (it holds the token).
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
