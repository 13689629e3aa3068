//! A `kube::Client` that acts as a ServiceAccount: every request carries `Impersonate-User: system:serviceaccount:<ns>:<name>`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use kube::client::Body;

/// The user name Kubernetes gives a ServiceAccount.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// `base` impersonating `user` (header values that are not valid fail with `None`).
pub fn client_as(base: &kube::Client, user: &str) -> Option<kube::Client> {
    let user = HeaderValue::from_str(user).ok()?;
    let ns = base.default_namespace().to_string();
    Some(kube::Client::new(
        Impersonate {
            inner: base.clone(),
            user,
        },
        ns,
    ))
}

#[derive(Clone)]
struct Impersonate {
    inner: kube::Client,
    user: HeaderValue,
}

impl tower_service::Service<Request<Body>> for Impersonate {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        req.headers_mut()
            .insert("Impersonate-User", self.user.clone());
        let client = self.inner.clone();
        Box::pin(async move { client.send(req).await })
    }
}
