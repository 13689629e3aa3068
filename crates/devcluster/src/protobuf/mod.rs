//! Decoding of the Kubernetes protobuf envelope for the few kinds `kubectl create <kind>`
//! sends that way (Namespace, ConfigMap, Secret, ServiceAccount). Everything else gets 415
//! with a hint to send JSON; responses are always JSON, which protobuf clients accept.

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::errors::ApiError;

/// How one field of a message turns into JSON.
#[derive(Clone, Copy)]
enum F {
    Str(&'static str),
    Bool(&'static str),
    MapStr(&'static str),
    /// map<string, bytes>: JSON carries the values base64-encoded.
    MapBytes(&'static str),
    RepStr(&'static str),
    Msg(&'static str, &'static [(u64, F)]),
    RepMsg(&'static str, &'static [(u64, F)]),
}

const OWNER_REF: &[(u64, F)] = &[
    (1, F::Str("kind")),
    (3, F::Str("name")),
    (4, F::Str("uid")),
    (5, F::Str("apiVersion")),
    (6, F::Bool("controller")),
    (7, F::Bool("blockOwnerDeletion")),
];

const OBJECT_META: &[(u64, F)] = &[
    (1, F::Str("name")),
    (2, F::Str("generateName")),
    (3, F::Str("namespace")),
    (5, F::Str("uid")),
    (6, F::Str("resourceVersion")),
    (11, F::MapStr("labels")),
    (12, F::MapStr("annotations")),
    (13, F::RepMsg("ownerReferences", OWNER_REF)),
    (14, F::RepStr("finalizers")),
];

const LOCAL_REF: &[(u64, F)] = &[(1, F::Str("name"))];

/// A message: field numbers and how each becomes JSON.
type Fields = &'static [(u64, F)];

const KINDS: &[(&str, &str, Fields)] = &[
    (
        "v1",
        "ConfigMap",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::MapStr("data")),
            (3, F::MapBytes("binaryData")),
            (4, F::Bool("immutable")),
        ],
    ),
    (
        "v1",
        "Secret",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::MapBytes("data")),
            (3, F::Str("type")),
            (4, F::MapStr("stringData")),
            (5, F::Bool("immutable")),
        ],
    ),
    (
        "v1",
        "Namespace",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", &[(1, F::RepStr("finalizers"))])),
        ],
    ),
    (
        "v1",
        "ServiceAccount",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (3, F::Bool("automountServiceAccountToken")),
            (4, F::RepMsg("imagePullSecrets", LOCAL_REF)),
        ],
    ),
];

fn bad(what: &str) -> ApiError {
    ApiError::BadRequest(format!("the protobuf request body is malformed: {what}"))
}

/// One decoded field: number and either a varint or a length-delimited payload.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], i: &mut usize) -> Result<u64, ApiError> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i).ok_or_else(|| bad("truncated varint"))?;
        *i += 1;
        out |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(out);
        }
    }
    Err(bad("varint too long"))
}

fn fields(b: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ApiError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let w = match key & 7 {
            0 => Wire::Varint(varint(b, &mut i)?),
            2 => {
                let len = usize::try_from(varint(b, &mut i)?).map_err(|_| bad("length"))?;
                let end = i
                    .checked_add(len)
                    .filter(|e| *e <= b.len())
                    .ok_or_else(|| bad("length past the end"))?;
                let s = &b[i..end];
                i = end;
                Wire::Bytes(s)
            }
            1 => {
                i += 8;
                Wire::Varint(0)
            }
            5 => {
                i += 4;
                Wire::Varint(0)
            }
            _ => return Err(bad("unsupported wire type")),
        };
        out.push((key >> 3, w));
    }
    Ok(out)
}

fn text(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("a string is not UTF-8"))
}

fn entry(b: &[u8]) -> Result<(String, Vec<u8>), ApiError> {
    let mut k = String::new();
    let mut v = Vec::new();
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(x)) => k = text(x)?,
            (2, Wire::Bytes(x)) => v = x.to_vec(),
            _ => {}
        }
    }
    Ok((k, v))
}

fn message(b: &[u8], schema: &[(u64, F)]) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for (n, w) in fields(b)? {
        let Some((_, f)) = schema.iter().find(|(num, _)| *num == n) else {
            continue;
        };
        match (*f, w) {
            (F::Str(name), Wire::Bytes(x)) => {
                let s = text(x)?;
                if !s.is_empty() {
                    out.insert(name.into(), json!(s));
                }
            }
            (F::Bool(name), Wire::Varint(v)) => {
                out.insert(name.into(), json!(v != 0));
            }
            (F::MapStr(name), Wire::Bytes(x)) => {
                let (k, v) = entry(x)?;
                let m = out.entry(name).or_insert_with(|| json!({}));
                m[k] = json!(text(&v)?);
            }
            (F::MapBytes(name), Wire::Bytes(x)) => {
                let (k, v) = entry(x)?;
                let m = out.entry(name).or_insert_with(|| json!({}));
                m[k] = json!(base64::engine::general_purpose::STANDARD.encode(v));
            }
            (F::RepStr(name), Wire::Bytes(x)) => {
                let list = out.entry(name).or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(json!(text(x)?));
                }
            }
            (F::Msg(name, sub), Wire::Bytes(x)) => {
                out.insert(name.into(), message(x, sub)?);
            }
            (F::RepMsg(name, sub), Wire::Bytes(x)) => {
                let item = message(x, sub)?;
                let list = out.entry(name).or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(item);
                }
            }
            _ => return Err(bad("a field has an unexpected wire type")),
        }
    }
    Ok(Value::Object(out))
}

/// Decodes a `k8s\0`-prefixed protobuf body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| bad("missing the k8s protobuf prefix"))?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, w) in fields(rest)? {
        match (n, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm)? {
                    match (n, w) {
                        (1, Wire::Bytes(x)) => api_version = text(x)?,
                        (2, Wire::Bytes(x)) => kind = text(x)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let Some((_, _, schema)) = KINDS
        .iter()
        .find(|(av, k, _)| *av == api_version && *k == kind)
    else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "protobuf bodies are decoded only for Namespace, ConfigMap, Secret and ServiceAccount, not {kind} ({api_version}); send JSON instead (for example: kubectl create {} ... --dry-run=client -o yaml | kubectl apply -f -)",
            kind.to_lowercase()
        )));
    };
    let mut obj = message(raw, schema)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn field(n: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![((n << 3) | 2) as u8, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn secret_as_kubectl_sends_it() {
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let meta = [field(1, b"s"), field(2, b""), field(3, b"")].concat();
        let data = [field(1, b"k"), field(2, b"v")].concat();
        let obj = [field(1, &meta), field(2, &data), field(3, b"")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &obj)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}})
        );
        let other = [
            b"k8s\0".to_vec(),
            field(1, &[field(1, b"apps/v1"), field(2, b"Deployment")].concat()),
        ]
        .concat();
        assert!(matches!(
            decode(&other),
            Err(ApiError::UnsupportedMediaType(_))
        ));
        assert!(decode(b"k8s\0\x0a\xff").is_err());
    }
}
