//! Decoding of the Kubernetes protobuf envelope for the kinds `kubectl create <kind>` sends
//! that way (Namespace, ConfigMap, Secret, ServiceAccount, Service, ResourceQuota,
//! Deployment, Job, CronJob, RBAC roles and bindings, PriorityClass, PodDisruptionBudget,
//! Ingress), table-driven ([`tables`]). Other kinds, and fields the tables do not know
//! carrying a value, get 415 with a hint to send JSON; responses are always JSON, which
//! protobuf clients accept.

mod tables;

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::errors::ApiError;

use tables::{Fields, KINDS};

/// How one field of a message turns into JSON.
#[derive(Clone, Copy)]
enum F {
    Str(&'static str),
    /// A pointer bool: kept when false.
    Bool(&'static str),
    /// An `omitempty` bool: dropped when false.
    Flag(&'static str),
    /// An `omitempty` integer: dropped when zero.
    Int(&'static str),
    /// A pointer or required integer: kept when zero.
    IntKeep(&'static str),
    /// `intstr.IntOrString`: type 1 (0 int, 1 string), intVal 2, strVal 3.
    IntOrString(&'static str),
    MapStr(&'static str),
    /// map<string, bytes>: JSON carries the values base64-encoded.
    MapBytes(&'static str),
    /// map<string, Quantity>: JSON carries the quantities' strings.
    MapQuantity(&'static str),
    RepStr(&'static str),
    Msg(&'static str, Fields),
    RepMsg(&'static str, Fields),
    /// An embedded struct whose fields JSON puts in the parent (`IngressRuleValue`).
    Inline(Fields),
    /// Read-only or server-owned (status, creationTimestamp): ignored.
    Skip,
}

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

/// Whether a field holds only zero values: Go's encoder writes every non-pointer field,
/// and JSON leaves those out, so such fields need no table entry.
fn is_zero(w: &Wire<'_>) -> bool {
    match w {
        Wire::Varint(v) => *v == 0,
        Wire::Bytes(b) => {
            b.is_empty()
                || fields(b).is_ok_and(|f| !f.is_empty() && f.iter().all(|(_, w)| is_zero(w)))
        }
    }
}

fn int_or_string(b: &[u8]) -> Result<Value, ApiError> {
    let (mut ty, mut int, mut s) = (0, 0i64, String::new());
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Varint(v)) => ty = v,
            (2, Wire::Varint(v)) => int = signed(v),
            (3, Wire::Bytes(x)) => s = text(x)?,
            _ => {}
        }
    }
    Ok(if ty == 1 { json!(s) } else { json!(int) })
}

/// Go writes negative int32/int64 values as 64-bit two's complement varints.
fn signed(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

fn push(out: &mut Map<String, Value>, name: &str, item: Value) {
    let list = out.entry(name).or_insert_with(|| json!([]));
    if let Some(a) = list.as_array_mut() {
        a.push(item);
    }
}

fn message(b: &[u8], schema: Fields, at: &str) -> Result<Value, ApiError> {
    let mut out = Map::new();
    decode_into(&mut out, b, schema, at)?;
    Ok(Value::Object(out))
}

fn decode_into(
    out: &mut Map<String, Value>,
    b: &[u8],
    schema: Fields,
    at: &str,
) -> Result<(), ApiError> {
    for (n, w) in fields(b)? {
        let Some((_, f)) = schema.iter().find(|(num, _)| *num == n) else {
            if is_zero(&w) {
                continue;
            }
            return Err(ApiError::UnsupportedMediaType(format!(
                "protobuf field {n} of {at} is not decoded by this server; send the object as JSON instead"
            )));
        };
        let child = |name: &str| format!("{at}.{name}");
        match (*f, w) {
            (F::Skip, _) => {}
            (F::Str(name), Wire::Bytes(x)) => {
                let s = text(x)?;
                if !s.is_empty() {
                    out.insert(name.into(), json!(s));
                }
            }
            (F::Bool(name), Wire::Varint(v)) => {
                out.insert(name.into(), json!(v != 0));
            }
            (F::Flag(name), Wire::Varint(v)) => {
                if v != 0 {
                    out.insert(name.into(), json!(true));
                }
            }
            (F::Int(name), Wire::Varint(v)) => {
                if v != 0 {
                    out.insert(name.into(), json!(signed(v)));
                }
            }
            (F::IntKeep(name), Wire::Varint(v)) => {
                out.insert(name.into(), json!(signed(v)));
            }
            (F::IntOrString(name), Wire::Bytes(x)) => {
                out.insert(name.into(), int_or_string(x)?);
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
            (F::MapQuantity(name), Wire::Bytes(x)) => {
                let (k, v) = entry(x)?;
                let q = message(&v, &[(1, F::Str("q"))], &child(name))?;
                let m = out.entry(name).or_insert_with(|| json!({}));
                m[k] = q.get("q").cloned().unwrap_or_else(|| json!("0"));
            }
            (F::RepStr(name), Wire::Bytes(x)) => push(out, name, json!(text(x)?)),
            (F::Msg(name, sub), Wire::Bytes(x)) => {
                out.insert(name.into(), message(x, sub, &child(name))?);
            }
            (F::RepMsg(name, sub), Wire::Bytes(x)) => {
                let item = message(x, sub, &child(name))?;
                push(out, name, item);
            }
            (F::Inline(sub), Wire::Bytes(x)) => decode_into(out, x, sub, at)?,
            _ => return Err(bad("a field has an unexpected wire type")),
        }
    }
    Ok(())
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
            "protobuf bodies are not decoded for {kind} ({api_version}); send JSON instead (for example: kubectl create {} ... --dry-run=client -o yaml | kubectl apply -f -)",
            kind.to_lowercase()
        )));
    };
    let mut obj = message(raw, schema, &kind)?;
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
            field(
                1,
                &[field(1, b"apps/v1"), field(2, b"StatefulSet")].concat(),
            ),
        ]
        .concat();
        assert!(matches!(
            decode(&other),
            Err(ApiError::UnsupportedMediaType(_))
        ));
        assert!(decode(b"k8s\0\x0a\xff").is_err());
        // A field no table knows: fine while it holds a zero value, refused otherwise.
        let with = |extra: Vec<u8>| {
            let obj = [field(1, &meta), extra].concat();
            [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &obj)].concat()
        };
        assert!(decode(&with(field(9, b""))).is_ok());
        assert!(decode(&with(vec![9 << 3, 0])).is_ok());
        assert!(matches!(
            decode(&with(field(9, b"x"))),
            Err(ApiError::UnsupportedMediaType(m)) if m.contains("field 9 of Secret")
        ));
    }
}
