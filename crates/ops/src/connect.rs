//! Cluster access like kubectl: which kubeconfig, which context, which namespace, and errors
//! that say what to do when there is no cluster.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

/// The namespace commands use when neither `-n` nor the context names one (as Flux does).
pub const DEFAULT_NAMESPACE: &str = "flux-system";

/// Where to find the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `--kubeconfig`; else `KUBECONFIG` (paths joined with `:`), else `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`; else the kubeconfig's current context.
    pub context: Option<String>,
    /// `-n/--namespace`; else the context's namespace (unless it is `default`), else
    /// [`DEFAULT_NAMESPACE`].
    pub namespace: Option<String>,
}

/// A client for the chosen cluster and the namespace commands default to.
#[derive(Clone)]
pub struct Cluster {
    /// The API client.
    pub client: kube::Client,
    /// The namespace to use when a command is not given one.
    pub namespace: String,
    /// The API server URL (for messages).
    pub server: String,
    /// The context in use.
    pub context: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("context", &self.context)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No kubeconfig anywhere.
    #[error("no kubeconfig found (KUBECONFIG is not set and ~/.kube/config does not exist); start a cluster with `flotilla dev cluster` and set KUBECONFIG to the path it prints, or pass --kubeconfig")]
    NoKubeconfig,
    /// The kubeconfig file could not be read.
    #[error("cannot read kubeconfig {path}: {reason}; check the path given by --kubeconfig or KUBECONFIG")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The kubeconfig file is not a kubeconfig.
    #[error("kubeconfig {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No current context and none given.
    #[error(
        "kubeconfig {path} has no current-context; pass --context NAME (contexts: {contexts})"
    )]
    NoContext {
        /// The file.
        path: String,
        /// The contexts it has.
        contexts: String,
    },
    /// The context asked for is not in the kubeconfig.
    #[error("context {context:?} not found in kubeconfig {path}; available contexts: {contexts}")]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The file.
        path: String,
        /// The contexts it has.
        contexts: String,
    },
    /// The kubeconfig is fine but the client could not be built from it.
    #[error("cannot use context {context:?} of kubeconfig {path}: {reason}")]
    Config {
        /// The context.
        context: String,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Reads the kubeconfig, picks the context and namespace, and builds a client. Does not contact
/// the server (see [`describe_request_error`] for errors when it does not answer).
pub async fn connect(opts: &ClusterOptions) -> Result<Cluster, ConnectError> {
    let (kubeconfig, path) = load(opts.kubeconfig.as_deref())?;
    let names: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let list = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let context = match &opts.context {
        Some(c) => c.clone(),
        None => match kubeconfig.current_context.clone().filter(|c| !c.is_empty()) {
            Some(c) => c,
            None => {
                return Err(ConnectError::NoContext {
                    path: path.clone(),
                    contexts: list,
                })
            }
        },
    };
    let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context) else {
        return Err(ConnectError::UnknownContext {
            context,
            path,
            contexts: list,
        });
    };
    // `default` is what kubeconfig writers put in every context (the dev cluster too): taking
    // it would point every command away from flux-system, so it counts as unset, as in Flux.
    let context_namespace = named
        .context
        .as_ref()
        .and_then(|c| c.namespace.clone())
        .filter(|ns| !ns.is_empty() && ns != "default");
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ConnectError::Config {
            context: context.clone(),
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| ConnectError::Config {
        context: context.clone(),
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let namespace = opts
        .namespace
        .clone()
        .or(context_namespace)
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    Ok(Cluster {
        client,
        namespace,
        server: server.trim_end_matches('/').to_string(),
        context,
    })
}

/// The merged kubeconfig and a description of where it came from.
fn load(explicit: Option<&Path>) -> Result<(Kubeconfig, String), ConnectError> {
    if let Some(path) = explicit {
        return Ok((read(path)?, path.display().to_string()));
    }
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        let mut merged: Option<Kubeconfig> = None;
        let mut seen = Vec::new();
        for path in &paths {
            // kubectl skips files in KUBECONFIG that do not exist.
            if !path.exists() {
                continue;
            }
            let next = read(path)?;
            seen.push(path.display().to_string());
            merged = Some(match merged {
                None => next,
                Some(m) => m.merge(next).map_err(|e| ConnectError::Invalid {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?,
            });
        }
        return match merged {
            Some(k) => Ok((k, seen.join(":"))),
            None => Err(ConnectError::Read {
                path: PathBuf::from(&value),
                reason: "no such file (KUBECONFIG)".to_string(),
            }),
        };
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.map(|h| h.join(".kube").join("config")) {
        Some(path) if path.exists() => Ok((read(&path)?, path.display().to_string())),
        _ => Err(ConnectError::NoKubeconfig),
    }
}

fn read(path: &Path) -> Result<Kubeconfig, ConnectError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConnectError::Read {
        path: path.to_path_buf(),
        reason: io_reason(&e),
    })?;
    Kubeconfig::from_yaml(&text).map_err(|e| ConnectError::Invalid {
        path: path.display().to_string(),
        reason: match e {
            KubeconfigError::Parse(inner) => inner.to_string(),
            other => other.to_string(),
        }
        .lines()
        .next()
        .unwrap_or_default()
        .to_string(),
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// How a failed request is shown: one line, with a hint when the server could not be reached.
pub fn describe_request_error(cluster: &Cluster, err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => {
            if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            }
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                let t = s.to_string();
                if !text.contains(&t) {
                    text.push_str(": ");
                    text.push_str(&t);
                }
                source = s.source();
            }
            format!(
                "cannot reach the cluster at {} (context {:?}): {text}; is it running? (`flotilla dev cluster` starts one)",
                cluster.server, cluster.context
            )
        }
    }
}

/// Whether a request failed because the server could not be reached (as opposed to refusing it).
pub fn is_unreachable(err: &kube::Error) -> bool {
    !matches!(err, kube::Error::Api(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXTS: &str = "apiVersion: v1
kind: Config
clusters:
- name: a
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: one
  context:
    cluster: a
    user: u
- name: two
  context:
    cluster: a
    user: u
    namespace: apps
- name: three
  context:
    cluster: a
    user: u
    namespace: default
current-context: one
users:
- name: u
  user:
    token: t
";

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, text).expect("write kubeconfig");
        (dir, path)
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn namespace_comes_from_flag_then_context_then_flux_system() {
        let (_d, path) = write(CONTEXTS);
        let mut opts = ClusterOptions {
            kubeconfig: Some(path),
            ..ClusterOptions::default()
        };
        let c = block(connect(&opts)).expect("connect");
        assert_eq!(c.namespace, "flux-system");
        assert_eq!(c.context, "one");
        opts.context = Some("two".into());
        assert_eq!(block(connect(&opts)).expect("connect").namespace, "apps");
        opts.context = Some("three".into());
        assert_eq!(
            block(connect(&opts)).expect("connect").namespace,
            "flux-system"
        );
        opts.namespace = Some("x".into());
        assert_eq!(block(connect(&opts)).expect("connect").namespace, "x");
    }

    #[test]
    fn unknown_context_lists_the_known_ones() {
        let (_d, path) = write(CONTEXTS);
        let opts = ClusterOptions {
            kubeconfig: Some(path),
            context: Some("four".into()),
            ..ClusterOptions::default()
        };
        let err = block(connect(&opts)).expect_err("an error");
        assert!(matches!(err, ConnectError::UnknownContext { .. }));
        assert!(
            err.to_string()
                .contains("available contexts: one, two, three"),
            "{err}"
        );
    }

    #[test]
    fn missing_and_invalid_files_are_named() {
        let opts = ClusterOptions {
            kubeconfig: Some(PathBuf::from("/nonexistent/kc")),
            ..ClusterOptions::default()
        };
        let err = block(connect(&opts)).expect_err("an error");
        assert!(
            err.to_string()
                .starts_with("cannot read kubeconfig /nonexistent/kc: no such file"),
            "{err}"
        );
        let (_d, path) = write("clusters: [[[");
        let opts = ClusterOptions {
            kubeconfig: Some(path),
            ..ClusterOptions::default()
        };
        let err = block(connect(&opts)).expect_err("an error");
        assert!(matches!(err, ConnectError::Invalid { .. }), "{err}");
        assert!(!err.to_string().contains('\n'));
    }
}
