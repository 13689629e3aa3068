//! Request paths and query strings, parsed into what the server serves.

use std::collections::HashMap;

/// What a request path names.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/api/v1` or `/apis/<g>/<v>`
    ResourceList {
        group: String,
        version: String,
    },
    /// `/apis`
    Groups,
    /// `/apis/<g>`
    Group(String),
    OpenApiV2,
    /// `/openapi/v3` (None) or `/openapi/v3/<path>`
    OpenApiV3(Option<String>),
    /// Objects of a resource, one object, or one object's subresource.
    Resource(ResourcePath),
    NotFound,
}

/// The parts of a resource path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

pub fn route(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3(None),
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3(Some(rest.join("/"))),
        ["api", v] => Route::ResourceList {
            group: String::new(),
            version: v.to_string(),
        },
        ["apis", g, v] => Route::ResourceList {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut p = ResourcePath {
        group: group.into(),
        version: version.into(),
        ..Default::default()
    };
    let tail: &[&str] = match rest {
        // `namespaces/<ns>/<plural>...` is a namespaced path unless the third segment is a
        // namespace subresource (`namespaces/<ns>/status|finalize`).
        ["namespaces", ns, third, more @ ..]
            if !(group.is_empty()
                && more.is_empty()
                && matches!(*third, "status" | "finalize")) =>
        {
            p.namespace = Some(ns.to_string());
            &rest[2..]
        }
        _ => rest,
    };
    match tail {
        [plural] => p.plural = plural.to_string(),
        [plural, name] => {
            p.plural = plural.to_string();
            p.name = Some(name.to_string());
        }
        [plural, name, sub] => {
            p.plural = plural.to_string();
            p.name = Some(name.to_string());
            p.subresource = Some(sub.to_string());
        }
        _ => return Route::NotFound,
    }
    Route::Resource(p)
}

/// Decodes `%XX` escapes and `+` in a query component.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string as a map (last value wins; `dryRun` and friends are single-valued here).
pub fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(route("/api/v1/namespaces"), route("/api/v1/namespaces/"));
        let Route::Resource(p) = route("/api/v1/namespaces/default/configmaps/x") else {
            panic!("not a resource path")
        };
        assert_eq!(
            (p.namespace.as_deref(), p.plural.as_str(), p.name.as_deref()),
            (Some("default"), "configmaps", Some("x"))
        );
        let Route::Resource(p) = route("/api/v1/namespaces/default/status") else {
            panic!("not a resource path")
        };
        assert_eq!(
            (
                p.plural.as_str(),
                p.name.as_deref(),
                p.subresource.as_deref()
            ),
            ("namespaces", Some("default"), Some("status"))
        );
        let Route::Resource(p) = route("/apis/apps/v1/namespaces/a/deployments/d/scale") else {
            panic!("not a resource path")
        };
        assert_eq!(p.subresource.as_deref(), Some("scale"));
        assert_eq!(percent_decode("a%3Db%2Cc+d"), "a=b,c d");
    }
}
