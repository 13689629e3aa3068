//! Replacements: copy a field of a source object into fields of target objects.

use serde_json::Value;

use super::TransformError;
use crate::resource::Resource;
use crate::selector::Selector;

fn get_path<'a>(v: &'a Value, segs: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for s in segs {
        cur = step(cur, s)?;
    }
    Some(cur)
}

fn step<'a>(v: &'a Value, seg: &str) -> Option<&'a Value> {
    if let Some(inner) = seg.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        let (k, want) = inner.split_once('=')?;
        return v.as_array()?.iter().find(|e| {
            e.get(k)
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .as_deref()
                == Some(want)
        });
    }
    match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn set_path(
    v: &mut Value,
    segs: &[String],
    val: &Value,
    create: bool,
) -> Result<bool, TransformError> {
    if segs.is_empty() {
        *v = val.clone();
        return Ok(true);
    }
    let seg = &segs[0];
    if let Some(inner) = seg.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        let Some((k, want)) = inner.split_once('=') else {
            return Ok(false);
        };
        let Some(arr) = v.as_array_mut() else {
            return Ok(false);
        };
        let mut any = false;
        for e in arr.iter_mut() {
            let hit = e
                .get(k)
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .as_deref()
                == Some(want);
            if hit {
                any |= set_path(e, &segs[1..], val, create)?;
            }
        }
        return Ok(any);
    }
    if seg == "*" {
        let Some(arr) = v.as_array_mut() else {
            return Ok(false);
        };
        let mut any = false;
        for e in arr.iter_mut() {
            any |= set_path(e, &segs[1..], val, create)?;
        }
        return Ok(any);
    }
    match v {
        Value::Object(m) => {
            if !m.contains_key(seg.as_str()) {
                if !create {
                    return Ok(false);
                }
                m.insert(seg.clone(), Value::Object(Default::default()));
            }
            let child = m.get_mut(seg.as_str()).expect("present");
            set_path(child, &segs[1..], val, create)
        }
        Value::Array(a) => match seg.parse::<usize>() {
            Ok(i) if i < a.len() => set_path(&mut a[i], &segs[1..], val, create),
            _ => Ok(false),
        },
        Value::Null if create => {
            *v = Value::Object(Default::default());
            set_path(v, segs, val, create)
        }
        _ => Ok(false),
    }
}

fn delimited(old: &Value, new: &Value, opts: &Value) -> Value {
    let delim = opts.get("delimiter").and_then(Value::as_str).unwrap_or("");
    if delim.is_empty() {
        return new.clone();
    }
    let idx = opts.get("index").and_then(Value::as_i64).unwrap_or(0);
    let old_s = old.as_str().unwrap_or("");
    let new_s = match new {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut parts: Vec<String> = old_s.split(delim).map(str::to_string).collect();
    if idx < 0 {
        parts.insert(0, new_s);
    } else if (idx as usize) >= parts.len() {
        parts.push(new_s);
    } else {
        parts[idx as usize] = new_s;
    }
    Value::String(parts.join(delim))
}

/// Runs one replacement (already loaded: `source`, `targets`).
pub fn run(resources: &mut [Resource], rep: &Value) -> Result<(), TransformError> {
    let src = rep
        .get("source")
        .ok_or_else(|| TransformError::Invalid("replacement has no source".into()))?;
    let sel = Selector::from_value(src)?;
    let hits: Vec<usize> = (0..resources.len())
        .filter(|&i| sel.matches(&resources[i]))
        .collect();
    if hits.len() != 1 {
        return Err(TransformError::Invalid(format!(
            "{} matches for source selector; expected exactly one",
            if hits.is_empty() {
                "nothing".to_string()
            } else {
                hits.len().to_string()
            }
        )));
    }
    let fp = src
        .get("fieldPath")
        .and_then(Value::as_str)
        .unwrap_or("metadata.name");
    let segs = dotted(fp);
    let mut value = get_path(&resources[hits[0]].obj, &segs)
        .cloned()
        .ok_or_else(|| {
            TransformError::Invalid(format!(
                "fieldPath `{fp}` is missing for replacement source"
            ))
        })?;
    if let Some(opts) = src.get("options") {
        if let (Some(d), Value::String(s)) = (opts.get("delimiter").and_then(Value::as_str), &value)
        {
            let idx = opts.get("index").and_then(Value::as_i64).unwrap_or(0);
            let parts: Vec<&str> = s.split(d).collect();
            if idx < 0 || idx as usize >= parts.len() {
                return Err(TransformError::Invalid(format!(
                    "options.index {idx} is out of bounds for value {s}"
                )));
            }
            value = Value::String(parts[idx as usize].to_string());
        }
    }
    for t in rep
        .get("targets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let select = t.get("select").cloned().unwrap_or(Value::Null);
        let s = Selector::from_value(&select)?;
        let rejects: Vec<Selector> = t
            .get("reject")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Selector::from_value).collect::<Result<_, _>>())
            .transpose()?
            .unwrap_or_default();
        let opts = t.get("options").cloned().unwrap_or(Value::Null);
        let create = opts.get("create").and_then(Value::as_bool).unwrap_or(false);
        for r in resources.iter_mut() {
            if !s.matches(r) || rejects.iter().any(|x| x.matches(r)) {
                continue;
            }
            for fp in t
                .get("fieldPaths")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let fp = fp.as_str().unwrap_or("");
                let segs = dotted(fp);
                let old = get_path(&r.obj, &segs).cloned().unwrap_or(Value::Null);
                let newv = delimited(&old, &value, &opts);
                let done = set_path(&mut r.obj, &segs, &newv, create)?;
                if !done && !create {
                    return Err(TransformError::Invalid(format!(
                        "unable to find field \"{fp}\" in replacement target"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Splits a replacement field path on dots (bracketed parts kept whole).
pub fn dotted(fp: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in fp.chars() {
        match c {
            '[' => {
                depth += 1;
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
