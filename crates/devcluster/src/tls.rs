//! TLS for the server: a self-signed certificate for 127.0.0.1/localhost, kept in the data
//! directory so kubeconfigs stay valid across restarts. (client-go only sends bearer tokens
//! over https, so plain http would leave kubectl unauthenticated.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why the server's certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing the certificate files in the data directory failed.
    #[error("certificate file {path}: {source}; delete tls.crt and tls.key to make new ones")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The stored certificate or key is not valid PEM, or rustls refused it.
    #[error("TLS set-up: {0}; delete tls.crt and tls.key in the data directory to make new ones")]
    Invalid(String),
}

/// The acceptor and the certificate (PEM) clients should trust.
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub cert_pem: String,
}

fn generate() -> Result<(String, String), TlsError> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ck =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Invalid(e.to_string()))?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

pub(crate) fn load_or_create(dir: Option<&Path>) -> Result<Tls, TlsError> {
    let (cert_pem, key_pem) = match dir {
        None => generate()?,
        Some(dir) => {
            let cp = dir.join("tls.crt");
            let kp = dir.join("tls.key");
            match (std::fs::read_to_string(&cp), std::fs::read_to_string(&kp)) {
                (Ok(c), Ok(k)) => (c, k),
                _ => {
                    let (c, k) = generate()?;
                    let io = |path: &Path| {
                        let path = path.to_path_buf();
                        move |source| TlsError::Io { path, source }
                    };
                    std::fs::create_dir_all(dir).map_err(io(dir))?;
                    std::fs::write(&cp, &c).map_err(io(&cp))?;
                    crate::kubeconfig::write(&kp, &k).map_err(io(&kp))?;
                    (c, k)
                }
            }
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Invalid(format!("certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| TlsError::Invalid(format!("private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        cert_pem,
    })
}
