//! RFC 6902 JSON patch (`application/json-patch+json`), applied atomically.

use serde_json::{Map, Value};

/// How strictly [`json_patch`] follows RFC 6902.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonPatchOptions {
    /// A `replace` of a member missing from an existing object adds it instead of failing.
    /// This is what evanphx/json-patch v4 does, the library behind kustomize's JSON 6902
    /// patches, `kubectl patch --type json` and the API server's JSON patch; a missing array
    /// index or parent still fails. `false` follows RFC 6902 strictly.
    pub lenient_replace: bool,
}

/// Why a JSON patch could not be applied. Every variant names the operation's position in the
/// patch (0-based) so the caller can point at the faulty line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPatchError {
    /// The patch document is not a JSON array of operations.
    #[error("a JSON patch must be a JSON array of operation objects, got {found}")]
    NotAnArray {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// An operation is not an object, lacks `op`, `path`, `from` or `value`, or names an unknown `op`.
    #[error("JSON patch operation {index}: {message}")]
    Malformed {
        /// Position of the operation in the patch.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A `path` or `from` is not a valid JSON pointer (RFC 6901).
    #[error("JSON patch operation {index} ({op}): invalid JSON pointer {pointer:?}: {reason}")]
    InvalidPointer {
        /// Position of the operation in the patch.
        index: usize,
        /// The operation name.
        op: String,
        /// The offending pointer.
        pointer: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The location the operation reads or writes does not exist in the document.
    #[error("JSON patch operation {index} ({op}): path {path:?} does not exist in the document")]
    PathNotFound {
        /// Position of the operation in the patch.
        index: usize,
        /// The operation name.
        op: String,
        /// The pointer that could not be resolved.
        path: String,
    },
    /// An array index is not a number, has leading zeros, or is out of range.
    #[error("JSON patch operation {index} ({op}): path {path:?}: {reason}")]
    BadArrayIndex {
        /// Position of the operation in the patch.
        index: usize,
        /// The operation name.
        op: String,
        /// The pointer holding the bad index.
        path: String,
        /// What is wrong with the index.
        reason: String,
    },
    /// A `test` operation found a different value.
    #[error(
        "JSON patch operation {index} (test): value at {path:?} is not equal to the expected value"
    )]
    TestFailed {
        /// Position of the operation in the patch.
        index: usize,
        /// The pointer tested.
        path: String,
    },
    /// A `move` whose `from` is a proper prefix of `path` (a value cannot move into itself).
    #[error(
        "JSON patch operation {index} (move): cannot move {from:?} into its own child {path:?}"
    )]
    MoveIntoChild {
        /// Position of the operation in the patch.
        index: usize,
        /// Source pointer.
        from: String,
        /// Destination pointer.
        path: String,
    },
}

/// Applies an RFC 6902 JSON patch to `doc`. Atomic: on error `doc` is left unchanged.
pub fn json_patch(
    doc: &mut Value,
    patch: &Value,
    options: &JsonPatchOptions,
) -> Result<(), JsonPatchError> {
    let ops = match patch {
        Value::Array(ops) => ops,
        other => {
            return Err(JsonPatchError::NotAnArray {
                found: type_name(other),
            })
        }
    };
    // Work on a copy so a failure half-way leaves the caller's document untouched.
    let mut work = doc.clone();
    for (index, op) in ops.iter().enumerate() {
        apply_one(&mut work, index, op, options)?;
    }
    *doc = work;
    Ok(())
}

/// Name of a JSON value's type, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Context of one operation, for building errors.
struct Ctx<'a> {
    index: usize,
    op: &'a str,
}

impl Ctx<'_> {
    fn not_found(&self, path: &str) -> JsonPatchError {
        JsonPatchError::PathNotFound {
            index: self.index,
            op: self.op.to_string(),
            path: path.to_string(),
        }
    }

    fn bad_index(&self, path: &str, reason: impl Into<String>) -> JsonPatchError {
        JsonPatchError::BadArrayIndex {
            index: self.index,
            op: self.op.to_string(),
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

fn apply_one(
    doc: &mut Value,
    index: usize,
    op: &Value,
    options: &JsonPatchOptions,
) -> Result<(), JsonPatchError> {
    let malformed = |message: String| JsonPatchError::Malformed { index, message };
    let obj = op.as_object().ok_or_else(|| {
        malformed(format!(
            "an operation must be an object, got {}",
            type_name(op)
        ))
    })?;
    let name = match obj.get("op") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(malformed("\"op\" must be a string".into())),
        None => return Err(malformed("missing \"op\"".into())),
    };
    let ctx = Ctx { index, op: name };
    let pointer_field = |field: &str| -> Result<(String, Vec<String>), JsonPatchError> {
        match obj.get(field) {
            Some(Value::String(s)) => Ok((s.clone(), parse_pointer(s, &ctx)?)),
            Some(_) => Err(malformed(format!("{name}: \"{field}\" must be a string"))),
            None => Err(malformed(format!("{name}: missing \"{field}\""))),
        }
    };
    let value_field = || -> Result<&Value, JsonPatchError> {
        obj.get("value")
            .ok_or_else(|| malformed(format!("{name}: missing \"value\"")))
    };
    match name {
        "add" => {
            let (path, tokens) = pointer_field("path")?;
            add(doc, &path, &tokens, value_field()?.clone(), &ctx)
        }
        "remove" => {
            let (path, tokens) = pointer_field("path")?;
            remove(doc, &path, &tokens, &ctx).map(drop)
        }
        "replace" => {
            let (path, tokens) = pointer_field("path")?;
            let value = value_field()?.clone();
            if options.lenient_replace
                && resolve(doc, &path, &tokens, &ctx).is_err()
                && parent_is_object(doc, &tokens)
            {
                return add(doc, &path, &tokens, value, &ctx);
            }
            *resolve_mut(doc, &path, &tokens, &ctx)? = value;
            Ok(())
        }
        "move" => {
            let (from, from_tokens) = pointer_field("from")?;
            let (path, tokens) = pointer_field("path")?;
            if from == path {
                // RFC 6902 allows a no-op move, but the source must still exist.
                resolve(doc, &from, &from_tokens, &ctx)?;
                return Ok(());
            }
            if tokens.len() > from_tokens.len() && tokens[..from_tokens.len()] == from_tokens[..] {
                return Err(JsonPatchError::MoveIntoChild { index, from, path });
            }
            let value = remove(doc, &from, &from_tokens, &ctx)?;
            add(doc, &path, &tokens, value, &ctx)
        }
        "copy" => {
            let (from, from_tokens) = pointer_field("from")?;
            let (path, tokens) = pointer_field("path")?;
            let value = resolve(doc, &from, &from_tokens, &ctx)?.clone();
            add(doc, &path, &tokens, value, &ctx)
        }
        "test" => {
            let (path, tokens) = pointer_field("path")?;
            let expected = value_field()?;
            let actual = resolve(doc, &path, &tokens, &ctx)?;
            if json_equal(actual, expected) {
                Ok(())
            } else {
                Err(JsonPatchError::TestFailed { index, path })
            }
        }
        other => Err(malformed(format!(
            "unknown op {other:?}; expected add, remove, replace, move, copy or test"
        ))),
    }
}

/// Whether the parent of the location `tokens` names exists and is an object.
fn parent_is_object(doc: &Value, tokens: &[String]) -> bool {
    let Some((_, parent)) = tokens.split_last() else {
        return false;
    };
    let mut cur = doc;
    for token in parent {
        cur = match cur {
            Value::Object(map) => match map.get(token) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(items) => match parse_index(token).and_then(|i| items.get(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    cur.is_object()
}

/// Splits an RFC 6901 pointer into unescaped reference tokens.
fn parse_pointer(pointer: &str, ctx: &Ctx<'_>) -> Result<Vec<String>, JsonPatchError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = |reason: &str| JsonPatchError::InvalidPointer {
        index: ctx.index,
        op: ctx.op.to_string(),
        pointer: pointer.to_string(),
        reason: reason.to_string(),
    };
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| invalid("must be empty or start with '/'"))?;
    rest.split('/')
        .map(|raw| {
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(invalid("'~' must be followed by '0' or '1'")),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

/// Parses an array index token: decimal digits without leading zeros.
fn parse_index(token: &str) -> Option<usize> {
    let digits_only = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

fn resolve<'v>(
    doc: &'v Value,
    path: &str,
    tokens: &[String],
    ctx: &Ctx<'_>,
) -> Result<&'v Value, JsonPatchError> {
    let mut cur = doc;
    for token in tokens {
        cur = match cur {
            Value::Object(map) => map.get(token).ok_or_else(|| ctx.not_found(path))?,
            Value::Array(items) => parse_index(token)
                .and_then(|i| items.get(i))
                .ok_or_else(|| ctx.not_found(path))?,
            _ => return Err(ctx.not_found(path)),
        };
    }
    Ok(cur)
}

fn resolve_mut<'v>(
    doc: &'v mut Value,
    path: &str,
    tokens: &[String],
    ctx: &Ctx<'_>,
) -> Result<&'v mut Value, JsonPatchError> {
    let mut cur = doc;
    for token in tokens {
        cur = match cur {
            Value::Object(map) => map.get_mut(token).ok_or_else(|| ctx.not_found(path))?,
            Value::Array(items) => parse_index(token)
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| ctx.not_found(path))?,
            _ => return Err(ctx.not_found(path)),
        };
    }
    Ok(cur)
}

fn add(
    doc: &mut Value,
    path: &str,
    tokens: &[String],
    value: Value,
    ctx: &Ctx<'_>,
) -> Result<(), JsonPatchError> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match resolve_mut(doc, path, parent_tokens, ctx)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                let i = parse_index(last).ok_or_else(|| {
                    ctx.bad_index(path, format!("{last:?} is not an array index"))
                })?;
                if i > items.len() {
                    return Err(ctx.bad_index(
                        path,
                        format!("index {i} is past the end of an array of {}", items.len()),
                    ));
                }
                i
            };
            items.insert(at, value);
            Ok(())
        }
        _ => Err(ctx.not_found(path)),
    }
}

fn remove(
    doc: &mut Value,
    path: &str,
    tokens: &[String],
    ctx: &Ctx<'_>,
) -> Result<Value, JsonPatchError> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        // Removing the whole document leaves nothing; JSON has no "nothing", so null stands in.
        return Ok(std::mem::take(doc));
    };
    match resolve_mut(doc, path, parent_tokens, ctx)? {
        Value::Object(map) => map.remove(last).ok_or_else(|| ctx.not_found(path)),
        Value::Array(items) => {
            let i = parse_index(last).ok_or_else(|| ctx.not_found(path))?;
            if i >= items.len() {
                return Err(ctx.not_found(path));
            }
            Ok(items.remove(i))
        }
        _ => Err(ctx.not_found(path)),
    }
}

/// JSON equality as RFC 6902 `test` defines it: numbers compare by value (1 equals 1.0).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => x == y && !(x.is_nan()),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => objects_equal(x, y),
        _ => a == b,
    }
}

fn objects_equal(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    x.len() == y.len()
        && x.iter()
            .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(doc: Value, patch: Value) -> Result<Value, JsonPatchError> {
        let mut doc = doc;
        json_patch(&mut doc, &patch, &JsonPatchOptions::default())?;
        Ok(doc)
    }

    #[test]
    fn rfc6902_appendix_a_examples() {
        // A.1 add an object member
        assert_eq!(
            apply(
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz","value":"qux"}])
            )
            .ok(),
            Some(json!({"baz":"qux","foo":"bar"}))
        );
        // A.2 add an array element
        assert_eq!(
            apply(
                json!({"foo":["bar","baz"]}),
                json!([{"op":"add","path":"/foo/1","value":"qux"}])
            )
            .ok(),
            Some(json!({"foo":["bar","qux","baz"]}))
        );
        // A.3 remove an object member
        assert_eq!(
            apply(
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"remove","path":"/baz"}])
            )
            .ok(),
            Some(json!({"foo":"bar"}))
        );
        // A.4 remove an array element
        assert_eq!(
            apply(
                json!({"foo":["bar","qux","baz"]}),
                json!([{"op":"remove","path":"/foo/1"}])
            )
            .ok(),
            Some(json!({"foo":["bar","baz"]}))
        );
        // A.5 replace a value
        assert_eq!(
            apply(
                json!({"baz":"qux","foo":"bar"}),
                json!([{"op":"replace","path":"/baz","value":"boo"}])
            )
            .ok(),
            Some(json!({"baz":"boo","foo":"bar"}))
        );
        // A.6 move a value
        assert_eq!(
            apply(
                json!({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}),
                json!([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])
            )
            .ok(),
            Some(json!({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}))
        );
        // A.7 move an array element
        assert_eq!(
            apply(
                json!({"foo":["all","grass","cows","eat"]}),
                json!([{"op":"move","from":"/foo/1","path":"/foo/3"}])
            )
            .ok(),
            Some(json!({"foo":["all","cows","eat","grass"]}))
        );
        // A.8 test success
        assert!(apply(
            json!({"baz":"qux","foo":["a",2,"c"]}),
            json!([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])
        )
        .is_ok());
        // A.9 test failure
        assert_eq!(
            apply(
                json!({"baz":"qux"}),
                json!([{"op":"test","path":"/baz","value":"bar"}])
            ),
            Err(JsonPatchError::TestFailed {
                index: 0,
                path: "/baz".into()
            })
        );
        // A.10 add a nested member object
        assert_eq!(
            apply(
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/child","value":{"grandchild":{}}}])
            )
            .ok(),
            Some(json!({"foo":"bar","child":{"grandchild":{}}}))
        );
        // A.12 add to a nonexistent target
        assert!(matches!(
            apply(
                json!({"foo":"bar"}),
                json!([{"op":"add","path":"/baz/bat","value":"qux"}])
            ),
            Err(JsonPatchError::PathNotFound { index: 0, .. })
        ));
        // A.14 ~ escape ordering
        assert!(apply(
            json!({"/":9,"~1":10}),
            json!([{"op":"test","path":"/~01","value":10}])
        )
        .is_ok());
        // A.15 comparing strings and numbers
        assert!(matches!(
            apply(
                json!({"/":9,"~1":10}),
                json!([{"op":"test","path":"/~01","value":"10"}])
            ),
            Err(JsonPatchError::TestFailed { .. })
        ));
        // A.16 add an array value
        assert_eq!(
            apply(
                json!({"foo":["bar"]}),
                json!([{"op":"add","path":"/foo/-","value":["abc","def"]}])
            )
            .ok(),
            Some(json!({"foo":["bar",["abc","def"]]}))
        );
    }

    #[test]
    fn copy_and_root_operations() {
        assert_eq!(
            apply(
                json!({"a":{"b":1}}),
                json!([{"op":"copy","from":"/a","path":"/c"}])
            )
            .ok(),
            Some(json!({"a":{"b":1},"c":{"b":1}}))
        );
        assert_eq!(
            apply(
                json!({"a":1}),
                json!([{"op":"replace","path":"","value":[1]}])
            )
            .ok(),
            Some(json!([1]))
        );
        assert_eq!(
            apply(
                json!({"a":1}),
                json!([{"op":"add","path":"","value":{"b":2}}])
            )
            .ok(),
            Some(json!({"b":2}))
        );
    }

    #[test]
    fn failure_leaves_document_unchanged_and_names_operation() {
        let mut doc = json!({"a":1,"list":[1,2]});
        let before = doc.clone();
        let err = json_patch(
            &mut doc,
            &json!([
                {"op":"add","path":"/b","value":2},
                {"op":"remove","path":"/list/5"}
            ]),
            &JsonPatchOptions::default(),
        )
        .err();
        assert_eq!(doc, before);
        assert_eq!(
            err,
            Some(JsonPatchError::PathNotFound {
                index: 1,
                op: "remove".into(),
                path: "/list/5".into()
            })
        );
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "JSON patch operation 1 (remove): path \"/list/5\" does not exist in the document"
                    .into()
            )
        );
    }

    #[test]
    fn replace_strict_and_lenient() {
        let patch = json!([{"op":"replace","path":"/spec/replicas","value":3}]);
        assert!(matches!(
            apply(json!({"spec":{}}), patch.clone()),
            Err(JsonPatchError::PathNotFound { index: 0, .. })
        ));
        let mut doc = json!({"spec":{}});
        json_patch(
            &mut doc,
            &patch,
            &JsonPatchOptions {
                lenient_replace: true,
            },
        )
        .ok();
        assert_eq!(doc, json!({"spec":{"replicas":3}}));
        // Lenient replace still needs the parent to exist.
        let mut doc = json!({});
        assert!(json_patch(
            &mut doc,
            &patch,
            &JsonPatchOptions {
                lenient_replace: true
            }
        )
        .is_err());
    }

    #[test]
    fn array_index_rules() {
        assert!(matches!(
            apply(
                json!({"l":[1]}),
                json!([{"op":"add","path":"/l/01","value":0}])
            ),
            Err(JsonPatchError::BadArrayIndex { .. })
        ));
        assert!(matches!(
            apply(
                json!({"l":[1]}),
                json!([{"op":"add","path":"/l/2","value":0}])
            ),
            Err(JsonPatchError::BadArrayIndex { .. })
        ));
        assert_eq!(
            apply(
                json!({"l":[1]}),
                json!([{"op":"add","path":"/l/1","value":0}])
            )
            .ok(),
            Some(json!({"l":[1,0]}))
        );
        assert!(matches!(
            apply(json!({"l":[1]}), json!([{"op":"remove","path":"/l/-"}])),
            Err(JsonPatchError::PathNotFound { .. })
        ));
    }

    #[test]
    fn malformed_operations() {
        for patch in [
            json!([{"path":"/a"}]),
            json!([{"op":"add","path":"/a"}]),
            json!([{"op":"move","path":"/a"}]),
            json!([{"op":"frobnicate","path":"/a"}]),
            json!(["add"]),
        ] {
            assert!(
                matches!(
                    apply(json!({}), patch.clone()),
                    Err(JsonPatchError::Malformed { index: 0, .. })
                ),
                "{patch}"
            );
        }
        assert!(matches!(
            apply(json!({}), json!({"op":"add"})),
            Err(JsonPatchError::NotAnArray { found: "object" })
        ));
        assert!(matches!(
            apply(json!({}), json!([{"op":"add","path":"a","value":1}])),
            Err(JsonPatchError::InvalidPointer { .. })
        ));
        assert!(matches!(
            apply(json!({}), json!([{"op":"add","path":"/a~2","value":1}])),
            Err(JsonPatchError::InvalidPointer { .. })
        ));
    }

    #[test]
    fn move_into_own_child_is_refused() {
        assert!(matches!(
            apply(
                json!({"a":{"b":{}}}),
                json!([{"op":"move","from":"/a","path":"/a/b/c"}])
            ),
            Err(JsonPatchError::MoveIntoChild { .. })
        ));
        // A sibling whose name merely starts the same is fine.
        assert_eq!(
            apply(
                json!({"a":1}),
                json!([{"op":"move","from":"/a","path":"/ab"}])
            )
            .ok(),
            Some(json!({"ab":1}))
        );
    }

    #[test]
    fn test_compares_numbers_by_value() {
        assert!(apply(
            json!({"n":1}),
            json!([{"op":"test","path":"/n","value":1.0}])
        )
        .is_ok());
        assert!(apply(
            json!({"o":{"a":[1,{"b":2}]}}),
            json!([{"op":"test","path":"/o","value":{"a":[1.0,{"b":2}]}}])
        )
        .is_ok());
    }
}
