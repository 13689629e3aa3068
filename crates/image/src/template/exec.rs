//! Running a parsed template: variables, field chains, truthiness and the supported functions.

use std::fmt::Write as _;

use super::parse::{Arg, Node, Pipe};
use super::{display, TemplateError, Value};

pub(super) type Vars = Vec<(String, Value)>;

pub(super) fn exec(
    nodes: &[Node],
    dot: &Value,
    vars: &mut Vars,
    out: &mut String,
) -> Result<(), TemplateError> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = eval_pipe(p, dot, vars)?;
                if p.decl.is_none() {
                    out.push_str(&display(&v));
                }
            }
            Node::If(branches, alt) => {
                let mark = vars.len();
                let mut done = false;
                for (cond, body) in branches {
                    if truthy(&eval_pipe(cond, dot, vars)?) {
                        exec(body, dot, vars, out)?;
                        done = true;
                        break;
                    }
                }
                if !done {
                    exec(alt, dot, vars, out)?;
                }
                vars.truncate(mark);
            }
            Node::With(p, body, alt) => {
                let mark = vars.len();
                let v = eval_pipe(p, dot, vars)?;
                if truthy(&v) {
                    exec(body, &v, vars, out)?;
                } else {
                    exec(alt, dot, vars, out)?;
                }
                vars.truncate(mark);
            }
            Node::Range(k, v, p, body, alt) => {
                let mark = vars.len();
                let coll = eval_pipe(p, dot, vars)?;
                let items: Vec<(Value, Value)> = match coll {
                    Value::List(l) => l
                        .into_iter()
                        .enumerate()
                        .map(|(i, x)| (Value::Int(i as i64), x))
                        .collect(),
                    Value::Map(m) => m,
                    Value::Nil => Vec::new(),
                    other => {
                        return Err(TemplateError::Exec(format!(
                            "range can't iterate over {}",
                            display(&other)
                        )))
                    }
                };
                if items.is_empty() {
                    exec(alt, dot, vars, out)?;
                }
                for (key, val) in items {
                    let inner = vars.len();
                    if let Some(k) = k {
                        vars.push((k.clone(), key));
                    }
                    if let Some(v) = v {
                        vars.push((v.clone(), val.clone()));
                    }
                    exec(body, &val, vars, out)?;
                    vars.truncate(inner);
                }
                vars.truncate(mark);
            }
        }
    }
    Ok(())
}

fn eval_pipe(p: &Pipe, dot: &Value, vars: &mut Vars) -> Result<Value, TemplateError> {
    let mut last: Option<Value> = None;
    for cmd in &p.cmds {
        last = Some(eval_cmd(cmd, dot, vars, last)?);
    }
    let v = last.unwrap_or(Value::Nil);
    if let Some(name) = &p.decl {
        vars.push((name.clone(), v.clone()));
    }
    Ok(v)
}

fn eval_cmd(
    cmd: &[Arg],
    dot: &Value,
    vars: &mut Vars,
    piped: Option<Value>,
) -> Result<Value, TemplateError> {
    if let Arg::Func(name) = &cmd[0] {
        let mut args = Vec::new();
        for a in &cmd[1..] {
            args.push(eval_arg(a, dot, vars)?);
        }
        args.extend(piped);
        return call(name, args);
    }
    if cmd.len() > 1 || piped.is_some() {
        return Err(TemplateError::Exec(
            "can't give an argument to a non-function".to_string(),
        ));
    }
    eval_arg(&cmd[0], dot, vars)
}

fn eval_arg(a: &Arg, dot: &Value, vars: &mut Vars) -> Result<Value, TemplateError> {
    match a {
        Arg::Dot(chain) => walk(dot, chain),
        Arg::Var(name, chain) => {
            let v = vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| TemplateError::Exec(format!("undefined variable: {name}")))?;
            walk(&v, chain)
        }
        Arg::Lit(v) => Ok(v.clone()),
        Arg::Func(name) => call(name, Vec::new()),
        Arg::Sub(p, chain) => {
            let v = eval_pipe(p, dot, vars)?;
            walk(&v, chain)
        }
    }
}

fn walk(v: &Value, chain: &[String]) -> Result<Value, TemplateError> {
    let mut cur = v.clone();
    for f in chain {
        cur = match &cur {
            Value::Struct(fields, _) => match fields.iter().find(|(n, _)| n == f) {
                Some((_, v)) => v.clone(),
                None if f == "Updated" => {
                    return Err(TemplateError::Exec(
                        "'.Updated' was removed from the template data in Flux's v1 API; use '.Changed' (e.g. {{ range .Changed.Changes }}{{ .NewValue }}{{ end }})".to_string(),
                    ))
                }
                None => {
                    return Err(TemplateError::Exec(format!(
                        "can't evaluate field {f}; the data has {}",
                        fields.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    )))
                }
            },
            Value::Map(m) => m
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == f))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Nil),
            Value::Nil => Value::Nil,
            other => {
                return Err(TemplateError::Exec(format!(
                    "can't evaluate field {f} in {}",
                    display(other)
                )))
            }
        };
    }
    Ok(cur)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Nil => false,
        Value::Str(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::Struct(..) => true,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Nil => String::new(),
        other => display(other),
    }
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, TemplateError> {
    let want = |n: usize| -> Result<(), TemplateError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(TemplateError::Exec(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            )))
        }
    };
    let st = |i: usize| text(&args[i]);
    let v = match name {
        "and" => args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Nil),
        "or" => args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Nil),
        "not" => {
            want(1)?;
            Value::Bool(!truthy(&args[0]))
        }
        "eq" => Value::Bool(args.len() >= 2 && args[1..].iter().any(|a| a == &args[0])),
        "ne" => {
            want(2)?;
            Value::Bool(args[0] != args[1])
        }
        "lt" | "le" | "gt" | "ge" => {
            want(2)?;
            let ord = match (&args[0], &args[1]) {
                (Value::Int(a), Value::Int(b)) => a.cmp(b),
                (a, b) => text(a).cmp(&text(b)),
            };
            Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        "len" => {
            want(1)?;
            Value::Int(match &args[0] {
                Value::Str(s) => s.len(),
                Value::List(l) => l.len(),
                Value::Map(m) => m.len(),
                Value::Nil => 0,
                other => return Err(TemplateError::Exec(format!("len of {}", display(other)))),
            } as i64)
        }
        "index" => {
            let mut cur = args.first().cloned().unwrap_or(Value::Nil);
            for k in args.iter().skip(1) {
                cur = match (&cur, k) {
                    (Value::List(l), Value::Int(i)) => l
                        .get(usize::try_from(*i).unwrap_or(usize::MAX))
                        .cloned()
                        .ok_or_else(|| TemplateError::Exec(format!("index {i} out of range")))?,
                    (Value::Map(m), k) => m
                        .iter()
                        .find(|(mk, _)| mk == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Nil),
                    _ => return Err(TemplateError::Exec("index of a non-collection".into())),
                };
            }
            cur
        }
        "print" | "cat" => Value::Str(
            args.iter()
                .map(text)
                .collect::<Vec<_>>()
                .join(if name == "cat" { " " } else { "" }),
        ),
        "println" => Value::Str(format!(
            "{}\n",
            args.iter().map(text).collect::<Vec<_>>().join(" ")
        )),
        "printf" => {
            if args.is_empty() {
                return Err(TemplateError::Exec("printf needs a format".into()));
            }
            Value::Str(printf(&st(0), &args[1..]))
        }
        "toString" => {
            want(1)?;
            Value::Str(st(0))
        }
        "lower" | "upper" | "title" | "trim" | "quote" | "squote" | "nospace" => {
            want(1)?;
            let x = st(0);
            Value::Str(match name {
                "lower" => x.to_lowercase(),
                "upper" => x.to_uppercase(),
                "title" => x
                    .split(' ')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                "trim" => x.trim().to_string(),
                "quote" => serde_json::to_string(&x).unwrap_or_default(),
                "squote" => format!("'{x}'"),
                _ => x.chars().filter(|c| !c.is_whitespace()).collect(),
            })
        }
        "trimPrefix" | "trimSuffix" | "trimAll" | "contains" | "hasPrefix" | "hasSuffix"
        | "repeat" | "trunc" => {
            want(2)?;
            let (a, b) = (st(0), st(1));
            match name {
                "trimPrefix" => Value::Str(b.strip_prefix(a.as_str()).unwrap_or(&b).to_string()),
                "trimSuffix" => Value::Str(b.strip_suffix(a.as_str()).unwrap_or(&b).to_string()),
                "trimAll" => Value::Str(b.trim_matches(|c| a.contains(c)).to_string()),
                "contains" => Value::Bool(b.contains(&a)),
                "hasPrefix" => Value::Bool(b.starts_with(&a)),
                "hasSuffix" => Value::Bool(b.ends_with(&a)),
                "repeat" => Value::Str(b.repeat(a.parse().unwrap_or(0))),
                _ => {
                    let n: i64 = a.parse().unwrap_or(0);
                    let chars: Vec<char> = b.chars().collect();
                    let n_abs = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
                    Value::Str(if n >= 0 {
                        chars.iter().take(n_abs).collect()
                    } else {
                        chars[chars.len().saturating_sub(n_abs)..].iter().collect()
                    })
                }
            }
        }
        "replace" => {
            want(3)?;
            Value::Str(st(2).replace(&st(0), &st(1)))
        }
        "join" => {
            want(2)?;
            let items = match &args[1] {
                Value::List(l) => l.iter().map(text).collect::<Vec<_>>(),
                other => vec![text(other)],
            };
            Value::Str(items.join(&st(0)))
        }
        "split" => {
            want(2)?;
            Value::Map(
                st(1)
                    .split(st(0).as_str())
                    .enumerate()
                    .map(|(i, p)| (Value::Str(format!("_{i}")), Value::Str(p.to_string())))
                    .collect(),
            )
        }
        "default" => {
            want(2)?;
            if truthy(&args[1]) {
                args[1].clone()
            } else {
                args[0].clone()
            }
        }
        "first" | "last" => {
            want(1)?;
            match &args[0] {
                Value::List(l) => {
                    let x = if name == "first" { l.first() } else { l.last() };
                    x.cloned().unwrap_or(Value::Nil)
                }
                _ => Value::Nil,
            }
        }
        other => {
            return Err(TemplateError::Exec(format!(
                "function \"{other}\" not defined"
            )))
        }
    };
    Ok(v)
}

/// `%s %v %d %q %%` as Go's fmt writes them for strings and integers.
fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb) => match it.next() {
                Some(a) => match verb {
                    'q' => out.push_str(&serde_json::to_string(&text(a)).unwrap_or_default()),
                    _ => out.push_str(&text(a)),
                },
                None => {
                    let _ = write!(out, "%!{verb}(MISSING)");
                }
            },
            None => out.push_str("%!(NOVERB)"),
        }
    }
    out
}
