//! Hex, SHA-256 and HMAC helpers shared by providers (signing) and receivers (verifying).

use ring::hmac;
use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Bytes of a hex string (either case); `None` when it is not hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Lowercase hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Hash functions accepted in `<algorithm>=<hex>` signature headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl HmacAlgorithm {
    fn ring(self) -> hmac::Algorithm {
        match self {
            HmacAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            HmacAlgorithm::Sha256 => hmac::HMAC_SHA256,
            HmacAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(HmacAlgorithm::Sha1),
            "sha256" => Some(HmacAlgorithm::Sha256),
            "sha512" => Some(HmacAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// Lowercase hex HMAC of `data` keyed with `key`.
pub(crate) fn hmac_hex(algorithm: HmacAlgorithm, key: &[u8], data: &[u8]) -> String {
    let key = hmac::Key::new(algorithm.ring(), key);
    hex(hmac::sign(&key, data).as_ref())
}

/// Checks a `<algorithm>=<hex>` signature header (as GitHub, Bitbucket Server and Flux's
/// generic-hmac send it) against `data`, in constant time.
pub(crate) fn verify_prefixed_signature(header: &str, key: &[u8], data: &[u8]) -> bool {
    let Some((name, digest)) = header.trim().split_once('=') else {
        return false;
    };
    let (Some(algorithm), Some(tag)) = (HmacAlgorithm::from_name(name), unhex(digest)) else {
        return false;
    };
    verify(algorithm, key, data, &tag)
}

/// Checks a bare hex HMAC (Nexus) against `data`, in constant time.
pub(crate) fn verify_hex_signature(
    algorithm: HmacAlgorithm,
    header: &str,
    key: &[u8],
    data: &[u8],
) -> bool {
    unhex(header.trim()).is_some_and(|tag| verify(algorithm, key, data, &tag))
}

fn verify(algorithm: HmacAlgorithm, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let key = hmac::Key::new(algorithm.ring(), key);
    hmac::verify(&key, data, tag).is_ok()
}

/// Compares two secrets without leaking where they differ through timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0x00, 0xab, 0x10]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(
                HmacAlgorithm::Sha256,
                b"Jefe",
                b"what do ya want for nothing?"
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn prefixed_signatures_verify() {
        let sig = format!("sha1={}", hmac_hex(HmacAlgorithm::Sha1, b"k", b"body"));
        assert!(verify_prefixed_signature(&sig, b"k", b"body"));
        assert!(!verify_prefixed_signature(&sig, b"other", b"body"));
        assert!(!verify_prefixed_signature("md5=00", b"k", b"body"));
        assert!(!verify_prefixed_signature("", b"k", b"body"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
    }
}
