//! Where the dispatcher finds Alerts, Providers (with their Secrets) and object labels: the
//! cluster ([`KubeResolver`]) or memory ([`StaticResolver`]).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use flotilla_api::{Alert, Provider};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::ResourceExt;

use crate::provider::{ProviderError, ProviderSecrets, ProviderSettings};

/// Why Alerts, a Provider or labels could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The API server refused or failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being read.
        what: String,
        /// The API error.
        source: kube::Error,
    },
    /// The Provider is unusable (missing Secret, unsupported type, …).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The API server does not serve the kind: its CRD is not installed.
    #[error("{what}: the server does not serve {resource}; install the notification CRDs (`flotilla install`)")]
    NotInstalled {
        /// What was being read.
        what: String,
        /// `plural.group/version`.
        resource: &'static str,
    },
}

/// A Provider lookup.
#[derive(Debug)]
pub enum ProviderLookup {
    /// Ready to send.
    Found(Box<ProviderSettings>),
    /// `spec.suspend: true`.
    Suspended,
    /// No such Provider.
    NotFound,
}

/// The source of Alerts, Providers and labels.
pub trait Resolver: Send + Sync + 'static {
    /// Every Alert (all namespaces: event sources may point across namespaces).
    fn alerts(&self) -> impl Future<Output = Result<Vec<Alert>, ResolveError>> + Send;
    /// The Provider `namespace/name` with its Secrets.
    fn provider(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<ProviderLookup, ResolveError>> + Send;
    /// The labels of the involved object (`None` when it is gone).
    fn labels(
        &self,
        object: &ObjectReference,
    ) -> impl Future<Output = Result<Option<BTreeMap<String, String>>, ResolveError>> + Send;
}

/// Reads Alerts, Providers, Secrets and labels from the cluster on every event.
#[derive(Clone)]
pub struct KubeResolver {
    client: kube::Client,
}

impl KubeResolver {
    /// A resolver using `client`.
    pub fn new(client: kube::Client) -> KubeResolver {
        KubeResolver { client }
    }
}

impl Resolver for KubeResolver {
    async fn alerts(&self) -> Result<Vec<Alert>, ResolveError> {
        let api: Api<Alert> = Api::all(self.client.clone());
        api.list(&ListParams::default())
            .await
            .map(|l| l.items)
            .map_err(|source| match &source {
                kube::Error::Api(status) if status.code == 404 => ResolveError::NotInstalled {
                    what: "listing Alerts".into(),
                    resource: "alerts.notification.toolkit.fluxcd.io/v1beta3",
                },
                _ => ResolveError::Kube {
                    what: "listing Alerts".into(),
                    source,
                },
            })
    }

    async fn provider(&self, namespace: &str, name: &str) -> Result<ProviderLookup, ResolveError> {
        let api: Api<Provider> = Api::namespaced(self.client.clone(), namespace);
        let provider = api
            .get_opt(name)
            .await
            .map_err(|source| ResolveError::Kube {
                what: format!("reading Provider {namespace}/{name}"),
                source,
            })?;
        match provider {
            None => Ok(ProviderLookup::NotFound),
            Some(p) if p.spec.suspend == Some(true) => Ok(ProviderLookup::Suspended),
            Some(p) => Ok(ProviderLookup::Found(Box::new(
                ProviderSettings::load(&self.client, &p).await?,
            ))),
        }
    }

    async fn labels(
        &self,
        object: &ObjectReference,
    ) -> Result<Option<BTreeMap<String, String>>, ResolveError> {
        let api_version = object.api_version.as_deref().unwrap_or("");
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let kind = object.kind.as_deref().unwrap_or("");
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let namespace = object.namespace.as_deref().unwrap_or("");
        let name = object.name.as_deref().unwrap_or("");
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource);
        let found = api
            .get_opt(name)
            .await
            .map_err(|source| ResolveError::Kube {
                what: format!("reading {kind} {namespace}/{name}"),
                source,
            })?;
        Ok(found.map(|o| o.labels().clone()))
    }
}

/// Alerts, Providers (with Secret data) and labels held in memory.
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    alerts: Vec<Alert>,
    providers: HashMap<(String, String), (Provider, ProviderSecrets)>,
    labels: HashMap<(String, String, String), BTreeMap<String, String>>,
}

impl StaticResolver {
    /// An empty resolver.
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Adds an Alert.
    pub fn with_alert(mut self, alert: Alert) -> StaticResolver {
        self.alerts.push(alert);
        self
    }

    /// Adds a Provider with the data of the Secrets it refers to.
    pub fn with_provider(mut self, provider: Provider, secrets: ProviderSecrets) -> StaticResolver {
        let key = (
            provider.namespace().unwrap_or_default(),
            provider.name_any(),
        );
        self.providers.insert(key, (provider, secrets));
        self
    }

    /// Sets the labels of object `kind namespace/name`.
    pub fn with_labels(
        mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        labels: BTreeMap<String, String>,
    ) -> StaticResolver {
        self.labels
            .insert((kind.into(), namespace.into(), name.into()), labels);
        self
    }
}

impl Resolver for StaticResolver {
    async fn alerts(&self) -> Result<Vec<Alert>, ResolveError> {
        Ok(self.alerts.clone())
    }

    async fn provider(&self, namespace: &str, name: &str) -> Result<ProviderLookup, ResolveError> {
        match self
            .providers
            .get(&(namespace.to_string(), name.to_string()))
        {
            None => Ok(ProviderLookup::NotFound),
            Some((p, _)) if p.spec.suspend == Some(true) => Ok(ProviderLookup::Suspended),
            Some((p, secrets)) => Ok(ProviderLookup::Found(Box::new(
                ProviderSettings::from_parts(p, secrets)?,
            ))),
        }
    }

    async fn labels(
        &self,
        object: &ObjectReference,
    ) -> Result<Option<BTreeMap<String, String>>, ResolveError> {
        let key = (
            object.kind.clone().unwrap_or_default(),
            object.namespace.clone().unwrap_or_default(),
            object.name.clone().unwrap_or_default(),
        );
        Ok(self.labels.get(&key).cloned())
    }
}
