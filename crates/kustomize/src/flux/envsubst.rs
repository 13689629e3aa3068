//! Flux's `${var}` expansion (fluxcd/pkg/envsubst): the same scanner rules, bash-style functions, `$$` escapes and strict mode.
//!
//! Only the braced form expands; `$var` stays as written. `$$` anywhere outside braces becomes
//! one `$` (so `$${var}` is the literal `${var}`). Inside a function's arguments `\/` and `\\`
//! escape a slash and a backslash. The scanner below keeps Flux's token rules (what ends a name,
//! what a default may contain) so that odd input fails or passes exactly where Flux's does.

/// Why an expansion failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvsubstError {
    /// Malformed `${...}` (Flux: "bad substitution" and its variants).
    #[error("{0}")]
    Syntax(&'static str),
    /// Strict mode: a variable with no value and no default.
    #[error("variable '{0}' is not set (strict mode)")]
    NotSet(String),
}

const BAD_SUBSTITUTION: &str = "bad substitution";
const MISSING_BRACE: &str = "missing closing brace";
const BAD_NAME: &str = "unable to parse variable name";
const BAD_FUNC_PARAM: &str = "unable to parse substitution within function";
const BAD_DEFAULT: &str = "unable to parse default function";
const TOO_DEEP: &str = "substitutions nested too deeply";

/// Deepest nesting of `${a:=${b:=...}}` accepted (guards the recursion).
const MAX_DEPTH: usize = 64;

const EOF: char = '\0';

const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;

const ESC_DOLLAR: u8 = 1;
const ESC_BACKSLASH: u8 = 2;
const ESC_ALL: u8 = ESC_DOLLAR | ESC_BACKSLASH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

/// Decides whether the `i`-th rune (1-based) of a token is part of it.
type Accept = fn(char, usize) -> bool;

struct Scanner {
    buf: Vec<char>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escape: u8,
    accept: Accept,
}

impl Scanner {
    fn read(&mut self) -> char {
        match self.buf.get(self.pos) {
            None => {
                self.width = 0;
                EOF
            }
            Some(&c) => {
                self.width = 1;
                self.pos += 1;
                c
            }
        }
    }

    fn unread(&mut self) {
        self.pos -= self.width;
    }

    /// Drops the escape character just read; the character after it joins the token as is.
    fn skip(&mut self) {
        self.buf.remove(self.pos - 1);
    }

    fn peek(&mut self) -> char {
        let r = self.read();
        self.unread();
        r
    }

    fn text(&self) -> String {
        self.buf[self.start..self.pos].iter().collect()
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let r = self.read();
        if r == EOF {
            Token::Eof
        } else if self.scan_lbrack(r) {
            Token::Lbrack
        } else if self.scan_rbrack(r) {
            Token::Rbrack
        } else if self.scan_ident(r) {
            Token::Ident
        } else {
            Token::Illegal
        }
    }

    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.scan_escaped(r) {
            self.skip();
        } else if !(self.accept)(r, self.pos - self.start) {
            return false;
        }
        loop {
            let r = self.read();
            if r == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(r) {
                self.unread();
                self.unread();
                break;
            }
            if self.scan_escaped(r) {
                self.skip();
                continue;
            }
            if !(self.accept)(r, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }

    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 {
            return false;
        }
        if r == '$' {
            if self.read() == '{' {
                return true;
            }
            self.unread();
        }
        false
    }

    fn scan_rbrack(&self, r: char) -> bool {
        self.mode & SCAN_RBRACK != 0 && r == '}'
    }

    fn scan_escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.escape & ESC_DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        r == '\\' && self.escape & ESC_BACKSLASH != 0 && matches!(self.peek(), '/' | '\\')
    }
}

fn accept_rune(_: char, _: usize) -> bool {
    true
}
fn accept_ident(r: char, _: usize) -> bool {
    r.is_alphabetic() || r.is_numeric() || r == '_'
}
fn accept_colon(r: char, _: usize) -> bool {
    r == ':'
}
fn accept_one_hash(r: char, i: usize) -> bool {
    r == '#' && i == 1
}
fn accept_not_closing(r: char, _: usize) -> bool {
    r != '}'
}
fn accept_hash_func(r: char, i: usize) -> bool {
    r == '#' && i < 3
}
fn accept_percent_func(r: char, i: usize) -> bool {
    r == '%' && i < 3
}
fn accept_default_func(r: char, i: usize) -> bool {
    (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
}
fn accept_replace_func(r: char, i: usize) -> bool {
    (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%'))
}
fn accept_one_equal(r: char, i: usize) -> bool {
    i == 1 && r == '='
}
fn accept_one_colon(r: char, i: usize) -> bool {
    i == 1 && r == ':'
}
fn reject_colon_close(r: char, _: usize) -> bool {
    r != ':' && r != '}'
}
fn accept_slash(r: char, _: usize) -> bool {
    r == '/'
}
fn accept_not_slash(r: char, _: usize) -> bool {
    r != '/'
}
fn accept_casing_func(r: char, i: usize) -> bool {
    (r == ',' || r == '^') && i < 3
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Func {
        param: String,
        name: String,
        args: Vec<Node>,
    },
}

struct Parser {
    s: Scanner,
    depth: usize,
}

type Parsed<T> = Result<T, EnvsubstError>;

fn syntax(m: &'static str) -> EnvsubstError {
    EnvsubstError::Syntax(m)
}

impl Parser {
    fn parse_all(&mut self) -> Parsed<Vec<Node>> {
        let mut nodes = Vec::new();
        loop {
            self.s.accept = accept_rune;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escape = ESC_DOLLAR;
            match self.s.scan() {
                Token::Ident => nodes.push(Node::Text(self.s.text())),
                Token::Eof => return Ok(nodes),
                Token::Lbrack => nodes.push(self.parse_func()?),
                _ => return Err(syntax(BAD_SUBSTITUTION)),
            }
        }
    }

    fn parse_func(&mut self) -> Parsed<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax(TOO_DEEP));
        }
        let r = self.parse_func_inner();
        self.depth -= 1;
        r
    }

    fn parse_func_inner(&mut self) -> Parsed<Node> {
        self.s.escape = ESC_ALL;
        if self.s.peek() == '#' {
            return self.parse_len_func();
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.text(),
            _ => return Err(syntax(BAD_NAME)),
        };
        match self.s.peek() {
            ':' => return self.parse_default_or_substr(name),
            '=' => return self.parse_default_func(name),
            ',' | '^' => return self.parse_casing_func(name),
            '/' => return self.parse_replace_func(name),
            '#' => return self.parse_remove_func(name, accept_hash_func),
            '%' => return self.parse_remove_func(name, accept_percent_func),
            _ => {}
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => Ok(Node::Func {
                param: name,
                name: String::new(),
                args: Vec::new(),
            }),
            _ => Err(syntax(MISSING_BRACE)),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> Parsed<Node> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.s.text())),
            _ => Err(syntax(BAD_FUNC_PARAM)),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> Parsed<Node> {
        self.s.read();
        let r = self.s.peek();
        self.s.unread();
        if matches!(r, '=' | '-' | '?' | '+') {
            self.parse_default_func(name)
        } else {
            self.parse_substr_func(name)
        }
    }

    fn op(&mut self, accept: Accept) -> Parsed<String> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Token::Ident => Ok(self.s.text()),
            _ => Err(syntax(BAD_SUBSTITUTION)),
        }
    }

    fn parse_substr_func(&mut self, param: String) -> Parsed<Node> {
        let name = self.op(accept_one_colon)?;
        let mut args = vec![self.parse_param(reject_colon_close, SCAN_IDENT)?];
        self.s.accept = accept_colon;
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => return Ok(Node::Func { param, name, args }),
            Token::Ident => {}
            _ => return Err(syntax(BAD_SUBSTITUTION)),
        }
        args.push(self.parse_param(accept_not_closing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_remove_func(&mut self, param: String, accept: Accept) -> Parsed<Node> {
        let name = self.op(accept)?;
        let args = vec![self.parse_param(accept_not_closing, SCAN_IDENT)?];
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_replace_func(&mut self, param: String) -> Parsed<Node> {
        let name = self.op(accept_replace_func)?;
        let mut args = Vec::new();
        // An empty pattern (`${v/#/x}`): the next rune is already the delimiter.
        if self.s.peek() == '/' {
            args.push(Node::Text(String::new()));
        } else {
            args.push(self.parse_param(accept_not_slash, SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.s.accept = accept_slash;
        self.s.mode = SCAN_IDENT;
        if self.s.scan() != Token::Ident {
            return Err(syntax(BAD_SUBSTITUTION));
        }
        if self.s.peek() == '}' {
            self.consume_rbrack()?;
            return Ok(Node::Func { param, name, args });
        }
        args.push(self.parse_param(accept_not_closing, SCAN_IDENT | SCAN_ESCAPE)?);
        self.consume_rbrack()?;
        Ok(Node::Func { param, name, args })
    }

    fn parse_default_func(&mut self, param: String) -> Parsed<Node> {
        let accept: Accept = if self.s.peek() == '=' {
            accept_one_equal
        } else {
            accept_default_func
        };
        let name = self.op(accept).map_err(|_| syntax(BAD_DEFAULT))?;
        let mut args = Vec::new();
        loop {
            if self.s.peek() == '}' {
                self.consume_rbrack()?;
                return Ok(Node::Func { param, name, args });
            }
            args.push(self.parse_param(accept_not_closing, SCAN_IDENT)?);
        }
    }

    fn parse_casing_func(&mut self, param: String) -> Parsed<Node> {
        let name = self.op(accept_casing_func)?;
        self.consume_rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn parse_len_func(&mut self) -> Parsed<Node> {
        let name = self.op(accept_one_hash)?;
        self.s.accept = accept_ident;
        self.s.mode = SCAN_IDENT;
        let param = match self.s.scan() {
            Token::Ident => self.s.text(),
            _ => return Err(syntax(BAD_SUBSTITUTION)),
        };
        self.consume_rbrack()?;
        Ok(Node::Func {
            param,
            name,
            args: Vec::new(),
        })
    }

    fn consume_rbrack(&mut self) -> Parsed<()> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() != Token::Rbrack {
            return Err(syntax(BAD_SUBSTITUTION));
        }
        Ok(())
    }
}

/// Expands `s`. `lookup` gives a variable's value, or `None` when it is not set; with `strict`
/// an unset variable used without a default is an error, otherwise it expands to "".
pub fn eval(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<String, EnvsubstError> {
    // Fast path: nothing to expand or unescape.
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let mut p = Parser {
        s: Scanner {
            buf: s.chars().collect(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escape: 0,
            accept: accept_rune,
        },
        depth: 0,
    };
    let nodes = p.parse_all()?;
    let mut out = String::with_capacity(s.len());
    for n in &nodes {
        eval_node(n, lookup, strict, &mut out)?;
    }
    Ok(out)
}

fn eval_node(
    n: &Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
    out: &mut String,
) -> Result<(), EnvsubstError> {
    match n {
        Node::Text(t) => out.push_str(t),
        Node::Func { param, name, args } => {
            // Arguments are expanded first, whether or not they end up used (as Flux does).
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                let mut b = String::new();
                eval_node(a, lookup, strict, &mut b)?;
                vals.push(b);
            }
            let v = match lookup(param) {
                Some(v) => v,
                None if strict && !is_default_op(name) => {
                    return Err(EnvsubstError::NotSet(param.clone()))
                }
                None => String::new(),
            };
            out.push_str(&apply(name, &v, &vals));
        }
    }
    Ok(())
}

fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

fn apply(name: &str, s: &str, args: &[String]) -> String {
    match name {
        "," => map_first(s, |c| c.to_lowercase()),
        ",," => map_all(s, |c| c.to_lowercase()),
        "^" => map_first(s, |c| c.to_uppercase()),
        "^^" => map_all(s, |c| c.to_uppercase()),
        "#" if args.is_empty() => s.len().to_string(),
        "#" => trim_prefix(s, &args[0], false),
        "##" => args
            .first()
            .map_or_else(|| s.to_string(), |a| trim_prefix(s, a, true)),
        "%" => args
            .first()
            .map_or_else(|| s.to_string(), |a| trim_suffix(s, a, false)),
        "%%" => args
            .first()
            .map_or_else(|| s.to_string(), |a| trim_suffix(s, a, true)),
        ":" => substr(s, args),
        "/#" => match args {
            [pat, rep] if s.starts_with(pat.as_str()) => s.replacen(pat.as_str(), rep, 1),
            _ => s.to_string(),
        },
        "/%" => match args {
            [pat, rep] => match s.strip_suffix(pat.as_str()) {
                Some(rest) => format!("{rest}{rep}"),
                None => s.to_string(),
            },
            _ => s.to_string(),
        },
        "/" => replace(s, args, Some(1)),
        "//" => replace(s, args, None),
        // Every default-style operator (and any unknown one) behaves as `:-` in Flux.
        _ => {
            if s.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                s.to_string()
            }
        }
    }
}

/// Go maps case rune by rune and keeps a rune whose mapping is not a single rune.
fn case_map<I: Iterator<Item = char> + ExactSizeIterator>(c: char, f: impl Fn(char) -> I) -> char {
    let mut it = f(c);
    if it.len() == 1 {
        it.next().unwrap_or(c)
    } else {
        c
    }
}

fn map_first<I: Iterator<Item = char> + ExactSizeIterator>(
    s: &str,
    f: impl Fn(char) -> I,
) -> String {
    let mut cs = s.chars();
    match cs.next() {
        None => String::new(),
        Some(c) => std::iter::once(case_map(c, f)).chain(cs).collect(),
    }
}

fn map_all<I: Iterator<Item = char> + ExactSizeIterator>(s: &str, f: impl Fn(char) -> I) -> String {
    s.chars().map(|c| case_map(c, &f)).collect()
}

fn replace(s: &str, args: &[String], n: Option<usize>) -> String {
    let (pat, rep) = match args {
        [] => return s.to_string(),
        [p] => (p.as_str(), ""),
        [p, r, ..] => (p.as_str(), r.as_str()),
    };
    match n {
        Some(n) => go_replacen(s, pat, rep, n),
        None => go_replacen(s, pat, rep, usize::MAX),
    }
}

/// Go's strings.Replace: an empty pattern matches before every rune and at the end.
fn go_replacen(s: &str, pat: &str, rep: &str, n: usize) -> String {
    if !pat.is_empty() {
        return s.replacen(pat, rep, n);
    }
    let mut out = String::new();
    let mut done = 0;
    for c in s.chars() {
        if done < n {
            out.push_str(rep);
            done += 1;
        }
        out.push(c);
    }
    if done < n {
        out.push_str(rep);
    }
    out
}

fn substr(s: &str, args: &[String]) -> String {
    let b = s.as_bytes();
    let len = b.len() as i64;
    let Some(Ok(mut pos)) = args.first().map(|a| a.parse::<i64>()) else {
        return s.to_string();
    };
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let slice =
        |from: i64, to: i64| String::from_utf8_lossy(&b[from as usize..to as usize]).into_owned();
    let Some(l) = args.get(1) else {
        return if pos < len {
            slice(pos, len)
        } else {
            String::new()
        };
    };
    let Ok(length) = l.parse::<i64>() else {
        return s.to_string();
    };
    if length < 0 {
        let end = len + length;
        return if end < pos {
            String::new()
        } else {
            slice(pos, end)
        };
    }
    if pos.saturating_add(length) >= len {
        return if pos < len {
            slice(pos, len)
        } else {
            String::new()
        };
    }
    slice(pos, pos + length)
}

/// Removes the shortest (or longest) prefix of `s` matching the glob `pat`.
fn trim_prefix(s: &str, pat: &str, longest: bool) -> String {
    let p: Vec<char> = pat.chars().collect();
    let cs: Vec<char> = s.chars().collect();
    let mut found: Option<usize> = None;
    // Candidate prefixes from longest to shortest, as Flux scans them; the empty one never counts.
    for end in (1..=cs.len()).rev() {
        match glob(&p, &cs[..end]) {
            Err(()) => return s.to_string(),
            Ok(true) => {
                found = Some(end);
                if longest {
                    break;
                }
            }
            Ok(false) => {}
        }
    }
    match found {
        Some(end) => cs[end..].iter().collect(),
        None => s.to_string(),
    }
}

/// Suffix trimming is prefix trimming on the reversed string with the reversed pattern.
fn trim_suffix(s: &str, pat: &str, longest: bool) -> String {
    let rs: String = s.chars().rev().collect();
    let rp: String = pat.chars().rev().collect();
    trim_prefix(&rs, &rp, longest).chars().rev().collect()
}

/// Shell glob as Flux's envsubst matches it: `*` any run of characters (slashes included), `?`
/// one character, `[...]` classes with `^` negation and ranges, `\` escapes. A malformed
/// pattern is an error.
fn glob(p: &[char], s: &[char]) -> Result<bool, ()> {
    let Some((&c, rest)) = p.split_first() else {
        return Ok(s.is_empty());
    };
    match c {
        '*' => {
            for i in 0..=s.len() {
                if glob(rest, &s[i..])? {
                    return Ok(true);
                }
            }
            // Check the rest of the pattern is well-formed even when nothing matched.
            glob(rest, &[]).map(|_| false)
        }
        '?' => match s.split_first() {
            Some((_, srest)) => glob(rest, srest),
            None => check_pattern(rest).map(|_| false),
        },
        '[' => {
            let (matched_fn, after) = class(rest)?;
            match s.split_first() {
                Some((&sc, srest)) if matched_fn(sc) => glob(after, srest),
                _ => check_pattern(after).map(|_| false),
            }
        }
        '\\' => {
            let Some((&lit, rest)) = rest.split_first() else {
                return Err(());
            };
            match s.split_first() {
                Some((&sc, srest)) if sc == lit => glob(rest, srest),
                _ => check_pattern(rest).map(|_| false),
            }
        }
        _ => match s.split_first() {
            Some((&sc, srest)) if sc == c => glob(rest, srest),
            _ => check_pattern(rest).map(|_| false),
        },
    }
}

fn check_pattern(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '[' => {
                let (_, after) = class(&p[i + 1..])?;
                i = p.len() - after.len();
            }
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

type ClassFn = Box<dyn Fn(char) -> bool>;

/// Parses a `[...]` class body (after the `[`); returns the matcher and the rest of the pattern.
fn class(p: &[char]) -> Result<(ClassFn, &[char]), ()> {
    let mut i = 0;
    let negate = p.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut ranges: Vec<(char, char)> = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = p.get(i) else {
            return Err(());
        };
        if c == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = class_char(p, &mut i)?;
        let hi = if p.get(i) == Some(&'-') {
            i += 1;
            class_char(p, &mut i)?
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
    let f: ClassFn = Box::new(move |c| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negate);
    Ok((f, &p[i..]))
}

fn class_char(p: &[char], i: &mut usize) -> Result<char, ()> {
    let c = *p.get(*i).ok_or(())?;
    if c == '\\' {
        let e = *p.get(*i + 1).ok_or(())?;
        *i += 2;
        return Ok(e);
    }
    // Go refuses an unescaped '-' or ']' where a class character is expected.
    if c == '-' || c == ']' {
        return Err(());
    }
    *i += 1;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(vars: &[(&str, &str)], input: &str) -> Result<String, EnvsubstError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        eval(input, &|k| m.get(k).cloned(), false)
    }

    fn strict(vars: &[(&str, &str)], input: &str) -> Result<String, EnvsubstError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        eval(input, &|k| m.get(k).cloned(), true)
    }

    // Cases from fluxcd/pkg envsubst's tests (tldp.org parameter-substitution examples).
    #[test]
    fn flux_expansion_cases() {
        let v = "abcdEFGH28ij";
        let p = "/home/bozo/ideas/thoughts.for.today";
        let z = "abcABC123ABCabc";
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (&[], "abcdEFGH28ij", "abcdEFGH28ij"),
            (&[("var01", v)], "${#var01}", "12"),
            (&[("var01", v)], "${var01^}", "AbcdEFGH28ij"),
            (&[("var01", v)], "${var01^^}", "ABCDEFGH28IJ"),
            (&[("var01", "ABCDEFGH28IJ")], "${var01,}", "aBCDEFGH28IJ"),
            (&[("var01", "ABCDEFGH28IJ")], "${var01,,}", "abcdefgh28ij"),
            (
                &[("path_name", p)],
                "${path_name:11}",
                "ideas/thoughts.for.today",
            ),
            (&[("path_name", p)], "${path_name:11:5}", "ideas"),
            (&[("var", "abc")], "${var=xyz}", "abc"),
            (&[], "${var=xyz}", "xyz"),
            (
                &[("default_var", "foo")],
                "something ${var=${default_var}}",
                "something foo",
            ),
            (
                &[("default_var", "foo1")],
                "foo: ${var=${default_var}-suffix}",
                "foo: foo1-suffix",
            ),
            (
                &[("default_var", "foo1")],
                "foo: ${var=prefix${default_var}-suffix}",
                "foo: prefixfoo1-suffix",
            ),
            (&[], "${var:=xyz}", "xyz"),
            (&[], "${var:-xyz}", "xyz"),
            (&[("stringZ", z)], "${stringZ/%abc/XYZ}", "abcABC123ABCXYZ"),
            (&[("stringZ", z)], "${stringZ/#abc/XYZ}", "XYZABC123ABCabc"),
            (
                &[("stringZ", "somevalue")],
                "${stringZ/#/prefix-}",
                "prefix-somevalue",
            ),
            (
                &[("stringZ", "somevalue")],
                "${stringZ/%/-suffix}",
                "somevalue-suffix",
            ),
            (&[("stringZ", z)], "${stringZ//abc/xyz}", "xyzABC123ABCxyz"),
            (&[("stringZ", z)], "${stringZ/abc/xyz}", "xyzABC123ABCabc"),
            (
                &[("filename", "bash.string.txt")],
                "${filename#*.}",
                "string.txt",
            ),
            (&[("filename", "path/to/file")], "${filename#*/}", "to/file"),
            (
                &[("filename", "/path/to/file")],
                "${filename#*/}",
                "path/to/file",
            ),
            (&[("filename", "bash.string.txt")], "${filename##*.}", "txt"),
            (&[("filename", "path/to/file")], "${filename##*/}", "file"),
            (&[("filename", "/path/to/file")], "${filename##*/}", "file"),
            (
                &[("filename", "bash.string.txt")],
                "${filename%.*}",
                "bash.string",
            ),
            (
                &[("filename", "bash.string.txt")],
                "${filename%%.*}",
                "bash",
            ),
            (&[("var01", v)], "${var=${var01^^}}", "ABCDEFGH28IJ"),
            (&[("var01", v)], "$${var01}", "${var01}"),
            (
                &[("var01", v)],
                "some text ${var01}$${var$${var01}$var01${var01}",
                "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
            ),
            (
                &[("default_var", "foo")],
                "something $${var=${default_var}}",
                "something ${var=foo}",
            ),
            (&[("stringZ", "foo/bar")], r"${stringZ/\//-}", "foo-bar"),
            (
                &[("stringZ", "foo/bar/baz")],
                r"${stringZ//\//-}",
                "foo-bar-baz",
            ),
            (
                &[("default_var", "foo")],
                r"\\something ${var=${default_var}}",
                r"\\something foo",
            ),
            (&[("stringZ", "foo.bar")], "${stringZ/./}", "foobar"),
        ];
        for (vars, input, want) in cases {
            assert_eq!(run(vars, input).as_deref(), Ok(*want), "input {input}");
        }
    }

    #[test]
    fn strict_mode() {
        assert_eq!(strict(&[("foo", "")], "${foo}").as_deref(), Ok(""));
        for input in [
            "${missing}",
            "${#missing}",
            "${missing^}",
            "${missing,,}",
            "${missing:0:10}",
            "${missing/a/b}",
            "${missing//a/b}",
            "${missing#p}",
            "${missing%%p}",
        ] {
            assert_eq!(
                strict(&[], input),
                Err(EnvsubstError::NotSet("missing".into())),
                "{input}"
            );
        }
        assert_eq!(
            strict(&[], "${missing:-fallback}").as_deref(),
            Ok("fallback")
        );
        assert_eq!(
            strict(&[], "${missing:=assigned}").as_deref(),
            Ok("assigned")
        );
        assert_eq!(
            strict(&[], "${missing=assigned}").as_deref(),
            Ok("assigned")
        );
        // A default's own variables are expanded (and checked) even when the outer one is set.
        assert_eq!(
            strict(&[("a", "x")], "${a:=${b}}"),
            Err(EnvsubstError::NotSet("b".into()))
        );
    }

    #[test]
    fn unbraced_and_escapes() {
        assert_eq!(
            run(&[("HOME", "x")], "$HOME and $1").as_deref(),
            Ok("$HOME and $1")
        );
        assert_eq!(run(&[], "cost: $$5").as_deref(), Ok("cost: $5"));
        assert_eq!(run(&[], "a $$$ b").as_deref(), Ok("a $$ b"));
        assert_eq!(run(&[], "trailing $").as_deref(), Ok("trailing $"));
    }

    #[test]
    fn malformed_expressions_fail() {
        for input in [
            "${foo",
            "${}",
            "${foo bar}",
            "${foo.bar}",
            "${var-x}",
            "${a:=b",
            "${x#}",
        ] {
            assert!(
                matches!(run(&[], input), Err(EnvsubstError::Syntax(_))),
                "{input}: {:?}",
                run(&[], input)
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let input = format!("{}x{}", "${a:=".repeat(10_000), "}".repeat(10_000));
        assert_eq!(run(&[], &input), Err(EnvsubstError::Syntax(TOO_DEEP)));
    }

    #[test]
    fn glob_classes() {
        let g = |p: &str, s: &str| {
            glob(
                &p.chars().collect::<Vec<_>>(),
                &s.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(g("[a-c]x", "bx"), Ok(true));
        assert_eq!(g("[^a-c]x", "bx"), Ok(false));
        assert_eq!(g("a?c", "abc"), Ok(true));
        assert_eq!(g("[a", "a"), Err(()));
    }
}
