//! Map key order of go-yaml v2 (`keyList.Less`): letters compare by code point, runs of digits numerically.

use std::cmp::Ordering;

/// Go's `unicode.IsLetter`, approximated by Rust's Alphabetic property outside ASCII.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        c.is_alphabetic()
    }
}

/// Go's `unicode.IsDigit` (category Nd), approximated by Rust's numeric property outside ASCII.
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        c.is_numeric()
    }
}

/// go-yaml v2's `keyList.Less` for two string keys.
pub(crate) fn less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let n = ar.len().min(br.len());
    for i in 0..n {
        if ar[i] == br[i] {
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            // A zero inside a longer number (not a leading zero) counts from 1 up.
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Orders keys as go-yaml v2 emits them.
pub(crate) fn sort_keys<T>(keys: &mut [(&str, T)]) {
    keys.sort_by(|(a, _), (b, _)| {
        if less(a, b) {
            Ordering::Less
        } else if less(b, a) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_observed_from_kubectl() {
        // The order `kubectl kustomize` (kustomize v5.5.0) printed for these ConfigMap data keys.
        let want = [
            "", " ", "_a", "1", "2", "10", "A", "a b", "a-b", "a.b", "a/b", "a_b", "a1", "a01",
            "a9", "a09", "a009", "a10", "aB", "ab", "b", "f1", "f2", "f10", "f11", "x1y", "x1y9",
            "x1y10", "x01y", "é",
        ];
        let mut keys: Vec<(&str, ())> = want.iter().rev().map(|k| (*k, ())).collect();
        sort_keys(&mut keys);
        let got: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        assert_eq!(got, want);
    }
}
