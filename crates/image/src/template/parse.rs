//! Parsing commit message templates: the lexer (actions, trim markers, comments) and the node tree.

use super::{TemplateError, Value};

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Range(Option<String>, Option<String>, Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
}

/// `$a := cmd | cmd`.
#[derive(Debug, Clone)]
pub(super) struct Pipe {
    pub(super) decl: Option<String>,
    pub(super) cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
pub(super) enum Arg {
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

pub(super) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
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
