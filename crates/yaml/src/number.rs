//! Numbers printed as kubectl prints them: Go's `encoding/json` text re-read and re-printed by go-yaml v2.

/// Formats a JSON number the way it reaches kubectl's output.
///
/// kustomize marshals a float with `encoding/json` (plain decimal for 1e-6 <= |x| < 1e21,
/// exponent form otherwise); sigs.k8s.io/yaml then reads that text back with go-yaml v2, which
/// makes an integer of anything without `.`/`e` that fits int64 or uint64 and a float64 of the
/// rest, and prints floats with `strconv.FormatFloat(f, 'g', -1, 64)`.
pub(crate) fn format_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) => format_float(f),
        None => n.to_string(),
    }
}

/// See [`format_number`]; `f` is finite (JSON has no infinities).
pub(crate) fn format_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // encoding/json prints shortest digits padded with zeros, without '.' or exponent;
        // go-yaml v2 reads that text back as an integer when it fits int64 or uint64.
        let (digits, exp) = shortest_digits(f);
        let mut text = String::new();
        if f < 0.0 {
            text.push('-');
        }
        text.push_str(&digits);
        for _ in digits.len()..(exp as usize + 1) {
            text.push('0');
        }
        if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
            return text;
        }
    }
    format_g(f)
}

/// Shortest round-trip decimal digits of |f| (no leading zeros) and the decimal exponent of the
/// first digit. Rust's `{:e}` yields the same shortest digits as Go's shortest formatting.
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
pub(crate) fn format_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    // In shortest mode Go uses the exponent form when the exponent is < -4 or >= 6.
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else {
        // Plain decimal: the point sits after digit number exp+1.
        let dp = exp + 1;
        if dp <= 0 {
            out.push_str("0.");
            for _ in 0..(-dp) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let dp = dp as usize;
            if digits.len() <= dp {
                out.push_str(&digits);
                for _ in digits.len()..dp {
                    out.push('0');
                }
            } else {
                out.push_str(&digits[..dp]);
                out.push('.');
                out.push_str(&digits[dp..]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings observed from `kubectl kustomize` (kustomize v5.5.0).
    #[test]
    fn floats_print_like_kubectl() {
        let cases = [
            (1234567.5, "1.2345675e+06"),
            (123456.5, "123456.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e19, "10000000000000000000"),
            (1e18, "1000000000000000000"),
            (18446744073709551616.0, "1.8446744073709552e+19"),
            (-9223372036854775809.0, "-9.223372036854776e+18"),
            (3.0e6, "3000000"),
            (1.5e-5, "1.5e-05"),
            (1e21, "1e+21"),
            (1e20, "1e+20"),
            (1e23, "1e+23"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-07"),
            (0.1, "0.1"),
            (-0.0, "0"),
            (1.2345678901234568e29, "1.2345678901234568e+29"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float(f), want, "{f}");
        }
    }
}
