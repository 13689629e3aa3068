//! One scalar node to a JSON value, honouring explicit tags as go-yaml v3 decodes into `interface{}`.

use base64::Engine as _;
use saphyr_parser::ScalarStyle;
use serde_json::{Number, Value};

use crate::resolve::{resolve_plain, Dialect, Resolved};

/// What a scalar can do as a mapping key.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum KeyKind {
    /// A `!!str` scalar: usable in any map.
    Str(String),
    /// A number, boolean, null, timestamp or binary: go-yaml v3 then builds a
    /// `map[interface{}]interface{}`, which kustomize cannot turn into JSON; only the top-level
    /// map (decoded into `map[string]interface{}`) accepts it, as its source text.
    Other(String),
    /// The merge key: plain `<<` without a tag (or with `!!merge`).
    Merge,
    /// A `<<` that is not a merge key (quoted or tagged): kyaml drops such entries.
    DroppedMerge,
    /// A sequence or mapping.
    Collection,
}

/// A scalar resolved: its JSON value and its key behaviour.
pub(super) struct Scalar {
    pub value: Value,
    pub key: KeyKind,
}

/// Why a scalar cannot be decoded.
pub(super) type ScalarError = String;

fn number_value(r: &Resolved) -> Result<Value, ScalarError> {
    Ok(match r {
        Resolved::Int(i) => Value::Number(Number::from(*i)),
        Resolved::Uint(u) => Value::Number(Number::from(*u)),
        Resolved::Float(f) => match Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => {
                let shown = if f.is_nan() {
                    "NaN"
                } else if *f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                return Err(format!(
                    "json: unsupported value: {shown} (kustomize cannot print .inf or .nan); \
                     quote it to keep it a string"
                ));
            }
        },
        _ => Value::Null,
    })
}

fn resolved_value(r: Resolved, text: &str) -> Result<Value, ScalarError> {
    Ok(match r {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => number_value(&r)?,
        Resolved::Timestamp(t) => Value::String(t),
        Resolved::Merge | Resolved::Str => Value::String(text.to_string()),
    })
}

/// Resolves one scalar; `tag` is the short form (`!!int`, `!local`) or `None` when untagged.
pub(super) fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    yaml11: bool,
) -> Result<Scalar, ScalarError> {
    let plain = style == ScalarStyle::Plain;
    let dialect = if yaml11 { Dialect::V2 } else { Dialect::V3 };
    if text == "<<" {
        let key = if plain && matches!(tag, None | Some("!!merge")) {
            KeyKind::Merge
        } else {
            KeyKind::DroppedMerge
        };
        return Ok(Scalar {
            value: Value::String(text.to_string()),
            key,
        });
    }
    let str_scalar = || Scalar {
        value: Value::String(text.to_string()),
        key: KeyKind::Str(text.to_string()),
    };
    Ok(match tag {
        None if plain => {
            let mut r = resolve_plain(text, dialect);
            if yaml11 && matches!(r, Resolved::Timestamp(_)) {
                // go-yaml v2 hands timestamps to interface{} targets as their text.
                r = Resolved::Str;
            }
            let key = match r {
                Resolved::Str | Resolved::Merge => KeyKind::Str(text.to_string()),
                _ => KeyKind::Other(text.to_string()),
            };
            Scalar {
                value: resolved_value(r, text)?,
                key,
            }
        }
        None | Some("!!str") => str_scalar(),
        Some("!!binary") => {
            let clean: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(clean.as_bytes())
                .map_err(|_| "!!binary value contains invalid base64 data".to_string())?;
            // JSON has no bytes: Go's encoder writes invalid UTF-8 as U+FFFD, as this does.
            let s = String::from_utf8_lossy(&bytes).into_owned();
            Scalar {
                value: Value::String(s.clone()),
                key: KeyKind::Other(s),
            }
        }
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp")) => {
            let r = resolve_plain(text, dialect);
            let ok = matches!(
                (t, &r),
                ("!!int", Resolved::Int(_) | Resolved::Uint(_))
                    | (
                        "!!float",
                        Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_)
                    )
                    | ("!!bool", Resolved::Bool(_))
                    | ("!!null", Resolved::Null)
                    | ("!!timestamp", Resolved::Timestamp(_))
            );
            if !ok {
                let found = match r {
                    Resolved::Int(_) | Resolved::Uint(_) => "!!int",
                    Resolved::Float(_) => "!!float",
                    Resolved::Bool(_) => "!!bool",
                    Resolved::Null => "!!null",
                    Resolved::Timestamp(_) => "!!timestamp",
                    _ => "!!str",
                };
                return Err(format!("cannot decode {found} `{text}` as a {t}"));
            }
            let r = match (t, r) {
                ("!!float", Resolved::Int(i)) => Resolved::Float(i as f64),
                ("!!float", Resolved::Uint(u)) => Resolved::Float(u as f64),
                (_, r) => r,
            };
            Scalar {
                value: resolved_value(r, text)?,
                key: KeyKind::Other(text.to_string()),
            }
        }
        Some(t @ ("!!map" | "!!seq")) => {
            return Err(format!("cannot decode scalar `{text}` as a {t}"));
        }
        // Any other tag (local `!foo`, unknown `!!x`): the text stays a string.
        Some(_) => str_scalar(),
    })
}
