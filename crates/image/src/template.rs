//! Commit message templates: the part of Go's text/template (and Sprig's string functions) that Flux users write, over Flux's documented template data.
//!
//! Supported: `{{ pipeline }}` with field chains on `.`/`$`/`$var`, string/number/bool
//! literals, parentheses and `|`; `if`/`else if`/`else`/`end`, `range` (with `$v :=` or
//! `$k, $v :=`, and `else`), `with`, `$x := ...`, `{{- -}}` trimming, `{{/* comments */}}`.
//! Functions: Go's `and or not eq ne lt le gt ge len index print printf println` and Sprig's
//! `lower upper title trim trimPrefix trimSuffix trimAll replace contains hasPrefix hasSuffix
//! join split quote squote default trunc first last nospace repeat cat toString`.
//! Maps range in sorted key order, as Go does.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::setters::{Change, ObjectId, UpdateResult};

/// Flux's default commit message when `messageTemplate` is empty.
pub const DEFAULT_MESSAGE: &str = "Update from image update automation";

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Missing (Go prints `<no value>`).
    Nil,
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A list.
    List(Vec<Value>),
    /// A map, keys in sorted order.
    Map(Vec<(Value, Value)>),
    /// A struct: named fields, and how it prints (Go's `String()` or `{f1 f2}`).
    Struct(Vec<(&'static str, Value)>, String),
}

/// Why a template cannot be parsed or run (a spec error: the automation stalls).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is malformed.
    #[error("spec.git.commit.messageTemplate: {0}")]
    Parse(String),
    /// Evaluation failed (missing field, bad function arguments).
    #[error("spec.git.commit.messageTemplate: {0}")]
    Exec(String),
}

/// The data Flux gives the template: `.AutomationObject`, `.Changed`, `.Values`.
pub fn template_data(
    namespace: &str,
    name: &str,
    changed: &UpdateResult,
    values: &BTreeMap<String, String>,
) -> Value {
    let automation = Value::Struct(
        vec![("Name", s(name)), ("Namespace", s(namespace))],
        format!("{namespace}/{name}"),
    );
    let objects_map = |m: &BTreeMap<ObjectId, Vec<Change>>| {
        Value::Map(
            m.iter()
                .map(|(id, ch)| {
                    (
                        object_value(id),
                        Value::List(ch.iter().map(change_value).collect()),
                    )
                })
                .collect(),
        )
    };
    let file_changes = Value::Map(
        changed
            .file_changes
            .iter()
            .map(|(f, objs)| (s(f), objects_map(objs)))
            .collect(),
    );
    let changed_v = Value::Struct(
        vec![
            ("FileChanges", file_changes),
            (
                "Changes",
                Value::List(changed.changes().iter().map(change_value).collect()),
            ),
            ("Objects", objects_map(&changed.objects())),
        ],
        "{map[...]}".to_string(),
    );
    let values = Value::Map(values.iter().map(|(k, v)| (s(k), s(v))).collect());
    Value::Struct(
        vec![
            ("AutomationObject", automation),
            ("Changed", changed_v),
            ("Values", values),
        ],
        String::new(),
    )
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn object_value(id: &ObjectId) -> Value {
    Value::Struct(
        vec![
            ("Name", s(&id.name)),
            ("Namespace", s(&id.namespace)),
            ("APIVersion", s(&id.api_version)),
            ("Kind", s(&id.kind)),
        ],
        format!(
            "{{{{{} {}}} {{{} {}}}}}",
            id.api_version, id.kind, id.name, id.namespace
        ),
    )
}

fn change_value(c: &Change) -> Value {
    Value::Struct(
        vec![
            ("OldValue", s(&c.old_value)),
            ("NewValue", s(&c.new_value)),
            ("Setter", s(&c.setter)),
        ],
        format!("{{{} {} {}}}", c.old_value, c.new_value, c.setter),
    )
}

/// Renders `template` over `data`; an empty template gives [`DEFAULT_MESSAGE`].
pub fn render(template: &str, data: &Value) -> Result<String, TemplateError> {
    if template.trim().is_empty() {
        return Ok(DEFAULT_MESSAGE.to_string());
    }
    let nodes = parse(template)?;
    let mut out = String::new();
    let mut vars = vec![("$".to_string(), data.clone())];
    exec(&nodes, data, &mut vars, &mut out)?;
    Ok(out)
}

// ---- parsing ----

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Range(Option<String>, Option<String>, Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
}

/// `$a := cmd | cmd`.
#[derive(Debug, Clone)]
struct Pipe {
    decl: Option<String>,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
enum Arg {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Lit(Value),
    Func(String),
    Sub(Box<Pipe>, Vec<String>),
}

enum Tok {
    Text(String),
    Act(String),
}

fn lex(src: &str) -> Result<Vec<Tok>, TemplateError> {
    let mut toks = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let t = if trim_next { rest.trim_start() } else { rest };
            toks.push(Tok::Text(t.to_string()));
            break;
        };
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_left =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            toks.push(Tok::Text(text.to_string()));
        }
        let body_start = if trim_left { &after[1..] } else { after };
        let close = find_close(body_start).ok_or_else(|| {
            TemplateError::Parse("unclosed action: a '{{' has no matching '}}'".to_string())
        })?;
        let mut body = &body_start[..close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            toks.push(Tok::Act(body.to_string()));
        }
        rest = &body_start[close + 2..];
    }
    Ok(toks)
}

/// Position of the `}}` closing an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() + 1 {
        match b.get(i)? {
            b'"' => {
                i += 1;
                while *b.get(i)? != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while *b.get(i)? != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let toks = lex(src)?;
    let mut pos = 0;
    let (nodes, end) = parse_list(&toks, &mut pos)?;
    if let Some(e) = end {
        return Err(TemplateError::Parse(format!("unexpected {{{{{e}}}}}")));
    }
    Ok(nodes)
}

/// Parses until `end`/`else` (returned) or the end of input.
fn parse_list(toks: &[Tok], pos: &mut usize) -> Result<(Vec<Node>, Option<String>), TemplateError> {
    let mut out = Vec::new();
    while *pos < toks.len() {
        let tok = &toks[*pos];
        *pos += 1;
        let act = match tok {
            Tok::Text(t) => {
                out.push(Node::Text(t.clone()));
                continue;
            }
            Tok::Act(a) => a.as_str(),
        };
        let (word, rest) = match act.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (act, ""),
        };
        match word {
            "end" | "else" => return Ok((out, Some(act.to_string()))),
            "if" => out.push(parse_if(rest, toks, pos)?),
            "range" => {
                let (k, v, pipe) = range_head(rest)?;
                let (body, end) = parse_list(toks, pos)?;
                let (alt, end) = match end.as_deref() {
                    Some("else") => parse_list(toks, pos)?,
                    _ => (Vec::new(), end),
                };
                expect_end(end, "range")?;
                out.push(Node::Range(k, v, pipe, body, alt));
            }
            "with" => {
                let pipe = parse_pipe(rest)?;
                let (body, end) = parse_list(toks, pos)?;
                let (alt, end) = match end.as_deref() {
                    Some("else") => parse_list(toks, pos)?,
                    _ => (Vec::new(), end),
                };
                expect_end(end, "with")?;
                out.push(Node::With(pipe, body, alt));
            }
            "define" | "template" | "block" | "break" | "continue" => {
                return Err(TemplateError::Parse(format!(
                    "'{word}' is not supported in commit message templates"
                )))
            }
            _ => out.push(Node::Action(parse_pipe(act)?)),
        }
    }
    Ok((out, None))
}

fn expect_end(end: Option<String>, what: &str) -> Result<(), TemplateError> {
    match end.as_deref() {
        Some("end") => Ok(()),
        _ => Err(TemplateError::Parse(format!(
            "'{what}' is missing its {{{{end}}}}"
        ))),
    }
}

fn parse_if(cond: &str, toks: &[Tok], pos: &mut usize) -> Result<Node, TemplateError> {
    let mut branches = vec![];
    let mut cond = parse_pipe(cond)?;
    loop {
        let (body, end) = parse_list(toks, pos)?;
        branches.push((cond, body));
        match end.as_deref() {
            Some("end") => return Ok(Node::If(branches, Vec::new())),
            Some("else") => {
                let (alt, end) = parse_list(toks, pos)?;
                expect_end(end, "if")?;
                return Ok(Node::If(branches, alt));
            }
            Some(e) if e.starts_with("else if ") => {
                cond = parse_pipe(&e["else if ".len()..])?;
            }
            _ => return Err(TemplateError::Parse("'if' is missing its {{end}}".into())),
        }
    }
}

type RangeHead = (Option<String>, Option<String>, Pipe);

fn range_head(rest: &str) -> Result<RangeHead, TemplateError> {
    if let Some((vars, pipe)) = rest.split_once(":=") {
        let names: Vec<String> = vars.split(',').map(|v| v.trim().to_string()).collect();
        if names.iter().any(|n| !n.starts_with('$')) {
            return Err(TemplateError::Parse(format!(
                "range variables must start with '$': {vars}"
            )));
        }
        let pipe = parse_pipe(pipe)?;
        return match names.as_slice() {
            [v] => Ok((None, Some(v.clone()), pipe)),
            [k, v] => Ok((Some(k.clone()), Some(v.clone()), pipe)),
            _ => Err(TemplateError::Parse(
                "range takes at most two variables".into(),
            )),
        };
    }
    Ok((None, None, parse_pipe(rest)?))
}

fn parse_pipe(src: &str) -> Result<Pipe, TemplateError> {
    let words = split_words(src)?;
    let mut decl = None;
    let mut words = &words[..];
    if words.len() >= 2 && words[1] == ":=" && words[0].starts_with('$') {
        decl = Some(words[0].clone());
        words = &words[2..];
    }
    let mut cmds = Vec::new();
    for cmd in words.split(|w| w == "|") {
        if cmd.is_empty() {
            return Err(TemplateError::Parse(format!("empty command in '{src}'")));
        }
        cmds.push(cmd.iter().map(|w| parse_arg(w)).collect::<Result<_, _>>()?);
    }
    if cmds.is_empty() {
        return Err(TemplateError::Parse("empty action {{}}".into()));
    }
    Ok(Pipe { decl, cmds })
}

/// Splits on whitespace, keeping strings and parenthesised groups whole and `|` separate.
fn split_words(src: &str) -> Result<Vec<String>, TemplateError> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '|' {
            out.push("|".into());
            i += 1;
            continue;
        }
        let mut depth = 0i32;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '"' => {
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                '`' => {
                    i += 1;
                    while i < chars.len() && chars[i] != '`' {
                        i += 1;
                    }
                }
                '(' => depth += 1,
                ')' => depth -= 1,
                c if depth == 0 && (c.is_whitespace() || c == '|') => break,
                _ => {}
            }
            i += 1;
        }
        if depth != 0 || i > chars.len() {
            return Err(TemplateError::Parse(format!(
                "unbalanced quotes or parentheses in '{src}'"
            )));
        }
        out.push(chars[start..i.min(chars.len())].iter().collect());
    }
    Ok(out)
}

fn fields(chain: &str) -> Vec<String> {
    chain
        .split('.')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_arg(w: &str) -> Result<Arg, TemplateError> {
    if let Some(inner) = w.strip_prefix('(') {
        let close = inner
            .rfind(')')
            .ok_or_else(|| TemplateError::Parse(format!("unbalanced parentheses in '{w}'")))?;
        let pipe = parse_pipe(&inner[..close])?;
        return Ok(Arg::Sub(Box::new(pipe), fields(&inner[close + 1..])));
    }
    if w.starts_with('.') {
        return Ok(Arg::Dot(fields(w)));
    }
    if let Some(v) = w.strip_prefix('$') {
        let (name, chain) = match v.find('.') {
            Some(i) => (&v[..i], &v[i..]),
            None => (v, ""),
        };
        return Ok(Arg::Var(format!("${name}"), fields(chain)));
    }
    if w.starts_with('"') {
        let s: String = serde_json::from_str(w)
            .map_err(|_| TemplateError::Parse(format!("bad string literal {w}")))?;
        return Ok(Arg::Lit(Value::Str(s)));
    }
    if let Some(raw) = w.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return Ok(Arg::Lit(Value::Str(raw.to_string())));
    }
    match w {
        "true" => return Ok(Arg::Lit(Value::Bool(true))),
        "false" => return Ok(Arg::Lit(Value::Bool(false))),
        "nil" => return Ok(Arg::Lit(Value::Nil)),
        _ => {}
    }
    if let Ok(n) = w.parse::<i64>() {
        return Ok(Arg::Lit(Value::Int(n)));
    }
    if w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && FUNCS.contains(&w) {
        return Ok(Arg::Func(w.to_string()));
    }
    Err(TemplateError::Parse(format!(
        "function \"{w}\" not defined"
    )))
}

const FUNCS: &[&str] = &[
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "lower",
    "upper",
    "title",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "trimAll",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "join",
    "split",
    "quote",
    "squote",
    "default",
    "trunc",
    "first",
    "last",
    "nospace",
    "repeat",
    "cat",
    "toString",
];

// ---- execution ----

type Vars = Vec<(String, Value)>;

fn exec(
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

/// How Go's fmt prints a value with `%v`.
pub fn display(v: &Value) -> String {
    match v {
        Value::Nil => "<no value>".to_string(),
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::List(l) => format!("[{}]", l.iter().map(display).collect::<Vec<_>>().join(" ")),
        Value::Map(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{}:{}", display(k), display(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Struct(_, shown) => shown.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Value {
        let mut r = UpdateResult::default();
        let id = ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "front-end".into(),
            namespace: "sock-shop".into(),
        };
        r.file_changes
            .entry("deploy/a.yaml".into())
            .or_default()
            .insert(
                id,
                vec![Change {
                    old_value: "0.3.13-rc1".into(),
                    new_value: "0.3.13-rc3".into(),
                    setter: "sock-shop:front-end:tag".into(),
                }],
            );
        let mut values = BTreeMap::new();
        values.insert("cluster".to_string(), "prod".to_string());
        template_data("flux-system", "auto", &r, &values)
    }

    #[test]
    fn flux_documented_templates() {
        // Go's trim markers: `{{ end -}}` also eats the blank line before "Objects:".
        let t = "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\nFiles:\n{{ range $filename, $_ := .Changed.FileChanges -}}\n- {{ $filename }}\n{{ end -}}\n\nObjects:\n{{ range $resource, $changes := .Changed.Objects -}}\n- {{ $resource.Kind }} {{ $resource.Name }}\n  Changes:\n{{- range $_, $change := $changes }}\n    - {{ $change.OldValue }} -> {{ $change.NewValue }}\n{{ end -}}\n{{ end -}}\n";
        let got = render(t, &data()).expect("renders");
        assert_eq!(
            got,
            "Automated image update\n\nAutomation name: flux-system/auto\n\nFiles:\n- deploy/a.yaml\nObjects:\n- Deployment front-end\n  Changes:\n    - 0.3.13-rc1 -> 0.3.13-rc3\n"
        );
        let t = "{{range .Changed.Changes}}{{print .NewValue}} {{end}}for {{ .Values.cluster | upper }}{{ if contains \"rc3\" (index .Changed.Changes 0).NewValue }} [rc]{{ else }} [final]{{ end }}";
        assert_eq!(
            render(t, &data()).expect("renders"),
            "0.3.13-rc3 for PROD [rc]"
        );
        assert_eq!(render("", &data()).expect("renders"), DEFAULT_MESSAGE);
        assert_eq!(
            render(
                "{{ printf \"%s/%s\" .AutomationObject.Namespace .AutomationObject.Name | lower }}",
                &data()
            )
            .expect("renders"),
            "flux-system/auto"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = render("{{ range .Updated.Images }}{{.}}{{end}}", &data()).expect_err("fails");
        assert!(e.to_string().contains(".Changed"), "{e}");
        assert!(matches!(
            render("{{ if .X }}", &data()),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            render("{{ nosuchfn . }}", &data()),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            render("{{ .Nope }}", &data()),
            Err(TemplateError::Exec(_))
        ));
        assert_eq!(
            render("{{ .Values.missing }}", &data()).expect("renders"),
            "<no value>"
        );
        assert_eq!(render("a {{/* c */}} b", &data()).expect("renders"), "a  b");
    }
}
