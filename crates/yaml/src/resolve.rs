//! Plain-scalar resolution as go-yaml resolves it: v3 (what kustomize reads) and v2 (what decides quoting on output).

/// A plain scalar after Go's resolution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// A timestamp, already formatted as Go's `time.Time` marshals to JSON (RFC 3339, nanoseconds trimmed).
    Timestamp(String),
    /// The merge key `<<`.
    Merge,
    Str,
}

/// Which go-yaml major version's resolver to imitate: they differ only in YAML 1.1 booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// go-yaml v3: `true`/`false` in three spellings are the only booleans.
    V3,
    /// go-yaml v2: also `y`, `yes`, `on`, `n`, `no`, `off` in three spellings.
    V2,
}

fn lookup(s: &str, dialect: Dialect) -> Option<Resolved> {
    let r = match s {
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" if dialect == Dialect::V2 => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" if dialect == Dialect::V2 => {
            Resolved::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Merge,
        _ => return None,
    };
    Some(r)
}

/// Resolves an untagged plain scalar the way go-yaml's `resolve("", s)` does.
pub(crate) fn resolve_plain(s: &str, dialect: Dialect) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    // go-yaml only consults its tables when the first byte hints at a non-string.
    let hint = match first {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return Resolved::Str,
    };
    if let Some(r) = lookup(s, dialect) {
        return r;
    }
    match hint {
        b'.' => match go_parse_float(s) {
            Some(f) => Resolved::Float(f),
            None => Resolved::Str,
        },
        b'D' | b'S' => {
            if let Some(ts) = parse_timestamp(s) {
                return Resolved::Timestamp(ts);
            }
            resolve_number(s).unwrap_or(Resolved::Str)
        }
        _ => Resolved::Str,
    }
}

/// Integer or float the way go-yaml tries them: underscores dropped, `strconv.ParseInt(s, 0, 64)`,
/// then `ParseUint`, then a YAML-style decimal float.
pub(crate) fn resolve_number(s: &str) -> Option<Resolved> {
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(Resolved::Int(i));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Resolved::Uint(u));
    }
    if is_yaml_style_float(&plain) {
        if let Some(f) = go_parse_float(&plain) {
            return Some(Resolved::Float(f));
        }
    }
    None
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Splits Go's base prefix off an unsigned literal: `0x`, `0b`, `0o`, or a leading `0` (octal).
fn base_and_digits(s: &str) -> (u32, &str) {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return (16, &s[2..]),
            b'b' | b'B' => return (2, &s[2..]),
            b'o' | b'O' => return (8, &s[2..]),
            _ => return (8, &s[1..]),
        }
    }
    (10, s)
}

/// Magnitude of an unsigned Go literal with base prefix; `None` on bad syntax or overflow.
fn parse_magnitude(s: &str) -> Option<u64> {
    let (base, digits) = base_and_digits(s);
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        v = v.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// `strconv.ParseInt(s, 0, 64)` on a string without underscores.
pub(crate) fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let m = parse_magnitude(rest)?;
    if neg {
        if m <= i64::MAX as u64 + 1 {
            Some((m as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(m).ok()
    }
}

/// `strconv.ParseUint(s, 0, 64)`: no sign allowed.
fn go_parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

/// Go's rule for underscores in number literals (`strconv.underscoreOK`).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let b = if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        &b[1..]
    } else {
        b
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseFloat(s, 64)` for decimal syntax (with Go's underscores), `inf`/`nan` words;
/// `None` on bad syntax or overflow. Hexadecimal floats are rejected: no caller can reach them.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let word = s[i..].to_ascii_lowercase();
    if word == "inf" || word == "infinity" {
        return Some(if b.first() == Some(&b'-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if word == "nan" {
        return Some(f64::NAN);
    }
    let mut saw_digits = false;
    let mut underscores = false;
    let mut saw_dot = false;
    while i < b.len() {
        match b[i] {
            b'_' => underscores = true,
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() || (underscores && !underscore_ok(s)) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let f: f64 = clean.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// The base-60 float pattern go-yaml v2 refuses to emit plain:
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]: one digit, or two digits with the first in 0-5.
        let d1 = i < b.len() && b[i].is_ascii_digit();
        let d2 = i + 1 < b.len() && b[i + 1].is_ascii_digit();
        if d1 && d2 && b[i] <= b'5' {
            i += 2;
        } else if d1 {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Whether go-yaml v2 would quote this string to keep it a string (it resolves to another type).
pub(crate) fn v2_needs_quotes(s: &str) -> bool {
    resolve_plain(s, Dialect::V2) != Resolved::Str && s != "<<" || is_base60_float(s)
}

// ---- timestamps: go-yaml's four layouts parsed with Go's time.Parse rules ----

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Go's `getnum(s, false)`: one or two digits.
    fn num12(&mut self) -> Option<u32> {
        let d0 = self.peek().filter(u8::is_ascii_digit)?;
        self.i += 1;
        match self.peek().filter(u8::is_ascii_digit) {
            Some(d1) => {
                self.i += 1;
                Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
            }
            None => Some(u32::from(d0 - b'0')),
        }
    }
    fn num_fixed2(&mut self) -> Option<u32> {
        let d0 = self.peek().filter(u8::is_ascii_digit)?;
        let d1 = self.b.get(self.i + 1).copied().filter(u8::is_ascii_digit)?;
        self.i += 2;
        Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Ts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    /// Offset from UTC in minutes; `None` is UTC.
    offset: Option<i32>,
}

/// Date part `YYYY-M-D` (layout "2006-1-2").
fn parse_date(c: &mut Cursor<'_>) -> Option<(i64, u32, u32)> {
    if c.b.len() < 4 || !c.b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year: i64 = std::str::from_utf8(&c.b[..4]).ok()?.parse().ok()?;
    c.i = 4;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.num12()?;
    if !(1..=12).contains(&month) || !c.eat(b'-') {
        return None;
    }
    let day = c.num12()?;
    Some((year, month, day))
}

/// Time part `15:4:5.999999999` (hour, minute, second of one or two digits, optional fraction).
fn parse_time(c: &mut Cursor<'_>) -> Option<(u32, u32, u32, u32)> {
    let hour = c.num12()?;
    if hour >= 24 || !c.eat(b':') {
        return None;
    }
    let min = c.num12()?;
    if min >= 60 || !c.eat(b':') {
        return None;
    }
    let sec = c.num12()?;
    if sec >= 60 {
        return None;
    }
    let mut nanos = 0;
    if matches!(c.peek(), Some(b'.' | b',')) && c.b.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
        c.i += 1;
        let start = c.i;
        while c.peek().is_some_and(|d| d.is_ascii_digit()) {
            c.i += 1;
        }
        // Go keeps the first nine digits and scales them to nanoseconds.
        let digits = &c.b[start..c.i.min(start + 9)];
        let mut v: u32 = 0;
        for d in digits {
            v = v * 10 + u32::from(d - b'0');
        }
        for _ in digits.len()..9 {
            v *= 10;
        }
        nanos = v;
    }
    Some((hour, min, sec, nanos))
}

fn try_layout(s: &str, sep: Option<u8>, zone: bool) -> Option<Ts> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let (year, month, day) = parse_date(&mut c)?;
    let (mut hour, mut min, mut sec, mut nanos, mut offset) = (0, 0, 0, 0, None);
    if let Some(sep) = sep {
        if sep == b' ' {
            // A space in a Go layout matches any run of spaces.
            if !c.eat(b' ') {
                return None;
            }
            while c.eat(b' ') {}
        } else if !c.eat(sep) {
            return None;
        }
        (hour, min, sec, nanos) = parse_time(&mut c)?;
        if zone {
            if c.eat(b'Z') {
                offset = None;
            } else {
                let rest = &c.b[c.i..];
                if rest.len() < 6 || rest[3] != b':' {
                    return None;
                }
                let sign = rest[0];
                let mut h = Cursor {
                    b: &rest[1..3],
                    i: 0,
                };
                let mut m = Cursor {
                    b: &rest[4..6],
                    i: 0,
                };
                let (hh, mm) = (h.num_fixed2()?, m.num_fixed2()?);
                if hh > 24 || mm > 60 {
                    return None;
                }
                let total = (hh * 60 + mm) as i32;
                offset = Some(match sign {
                    b'+' => total,
                    b'-' => -total,
                    _ => return None,
                });
                c.i += 6;
            }
        }
    }
    if !c.done() || day < 1 || day > days_in(month, year) {
        return None;
    }
    Some(Ts {
        year,
        month,
        day,
        hour,
        min,
        sec,
        nanos,
        offset,
    })
}

/// go-yaml's `parseTimestamp`: returns the value as Go's `time.Time` marshals to JSON.
pub(crate) fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    let ts = try_layout(s, Some(b'T'), true)
        .or_else(|| try_layout(s, Some(b't'), true))
        .or_else(|| try_layout(s, Some(b' '), false))
        .or_else(|| try_layout(s, None, false))?;
    Some(format_rfc3339_nano(&ts))
}

fn format_rfc3339_nano(t: &Ts) -> String {
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.min, t.sec
    );
    if t.nanos != 0 {
        let frac = format!("{:09}", t.nanos);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    match t.offset {
        None | Some(0) => out.push('Z'),
        Some(off) => {
            let sign = if off < 0 { '-' } else { '+' };
            let off = off.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", off / 60, off % 60));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values observed from `kubectl kustomize` (kustomize v5.5.0) on a ConfigMap
    // holding these plain scalars: what go-yaml v3 decoded them to.
    #[test]
    fn v3_numbers_as_kustomize_reads_them() {
        let cases: &[(&str, Resolved)] = &[
            ("0x1F", Resolved::Int(31)),
            ("012", Resolved::Int(10)),
            ("0o17", Resolved::Int(15)),
            ("1_000", Resolved::Int(1000)),
            ("1__0", Resolved::Int(10)),
            ("0x_1F", Resolved::Int(31)),
            ("0b101", Resolved::Int(5)),
            ("+12", Resolved::Int(12)),
            ("-0x1F", Resolved::Int(-31)),
            ("09", Resolved::Float(9.0)),
            ("0.", Resolved::Float(0.0)),
            (".5", Resolved::Float(0.5)),
            ("-.5e3", Resolved::Float(-500.0)),
            ("1e400", Resolved::Str),
            ("_1", Resolved::Str),
            (
                "12345678901234567890",
                Resolved::Uint(12_345_678_901_234_567_890),
            ),
            ("yes", Resolved::Str),
            ("nULL", Resolved::Str),
            ("2001-13-14", Resolved::Str),
            ("1:20", Resolved::Str),
        ];
        for (s, want) in cases {
            assert_eq!(&resolve_plain(s, Dialect::V3), want, "{s}");
        }
    }

    #[test]
    fn timestamps_format_like_go() {
        let cases = [
            ("2001-12-14", "2001-12-14T00:00:00Z"),
            (
                "2001-12-14T21:59:43.10-05:00",
                "2001-12-14T21:59:43.1-05:00",
            ),
            ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43.1Z"),
            ("2001-1-4", "2001-01-04T00:00:00Z"),
        ];
        for (s, want) in cases {
            assert_eq!(parse_timestamp(s).as_deref(), Some(want), "{s}");
        }
        assert_eq!(parse_timestamp("2001-02-29"), None);
        assert_eq!(parse_timestamp("2001-13-14"), None);
    }
}
