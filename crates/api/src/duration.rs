//! Go-style durations as Flux writes them (`"1m0s"`, `"10m"`, `"1h30m"`): parsing, formatting and the spec type.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// CRD pattern for intervals (`spec.interval`, `spec.retryInterval`): hours allowed.
pub const INTERVAL_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// CRD pattern Flux uses for most timeouts: no hours unit.
pub const TIMEOUT_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not Go duration syntax (digits, optional fraction, unit; repeated).
    #[error(
        "invalid duration {text:?}: {why}; write it as Go does, e.g. \"90s\", \"10m\" or \"1h30m\""
    )]
    Syntax {
        /// The text given.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A unit other than ns, us, µs, ms, s, m, h.
    #[error("invalid duration {text:?}: unknown unit {unit:?}; use one of ns, us, ms, s, m, h")]
    UnknownUnit {
        /// The text given.
        text: String,
        /// The unit found.
        unit: String,
    },
    /// Larger than Go's `time.Duration` can hold (about 292 years).
    #[error("invalid duration {text:?}: larger than 2562047h47m16.854775807s, the most Go allows")]
    Overflow {
        /// The text given.
        text: String,
    },
    /// A negative duration where only non-negative ones make sense.
    #[error("invalid duration {text:?}: negative durations are not allowed here")]
    Negative {
        /// The text given.
        text: String,
    },
}

const NANOS_PER_MICRO: u128 = 1_000;
const NANOS_PER_MILLI: u128 = 1_000_000;
const NANOS_PER_SEC: u128 = 1_000_000_000;
const NANOS_PER_MIN: u128 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u128 = 60 * NANOS_PER_MIN;
/// Go's `time.Duration` is an int64 of nanoseconds.
const GO_MAX_NANOS: u128 = i64::MAX as u128;

/// Parses a Go duration (`time.ParseDuration` syntax) into signed nanoseconds.
///
/// Accepts an optional sign, then one or more `<number><unit>` parts where the number may have
/// a fraction (`1.5h`); `"0"` alone is allowed. Units: `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`.
pub fn parse_go_duration_nanos(text: &str) -> Result<i128, DurationError> {
    let syntax = |why| DurationError::Syntax {
        text: text.to_string(),
        why,
    };
    let mut rest = text;
    let mut negative = false;
    if let Some(r) = rest.strip_prefix('-') {
        negative = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(syntax("empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_num) = match after_int.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(syntax("expected a number before the unit"));
        }
        let unit_len = after_num
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after_num.len(), |(i, _)| i);
        let (unit, after_unit) = after_num.split_at(unit_len);
        let scale = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
            "ms" => NANOS_PER_MILLI,
            "s" => NANOS_PER_SEC,
            "m" => NANOS_PER_MIN,
            "h" => NANOS_PER_HOUR,
            "" => return Err(syntax("missing unit")),
            other => {
                return Err(DurationError::UnknownUnit {
                    text: text.to_string(),
                    unit: other.to_string(),
                })
            }
        };
        let overflow = || DurationError::Overflow {
            text: text.to_string(),
        };
        let int_value: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| overflow())?
        };
        let mut part = int_value.checked_mul(scale).ok_or_else(overflow)?;
        // Fraction digits beyond nanosecond precision cannot change the result; Go truncates too.
        let mut frac_scale = scale;
        for digit in frac_part.bytes() {
            frac_scale /= 10;
            if frac_scale == 0 {
                break;
            }
            part += u128::from(digit - b'0') * frac_scale;
        }
        total = total.checked_add(part).ok_or_else(overflow)?;
        if total > GO_MAX_NANOS + u128::from(negative) {
            return Err(overflow());
        }
        rest = after_unit;
    }
    let signed = i128::try_from(total).map_err(|_| DurationError::Overflow {
        text: text.to_string(),
    })?;
    Ok(if negative { -signed } else { signed })
}

/// Parses a non-negative Go duration into a [`Duration`].
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let nanos = parse_go_duration_nanos(text)?;
    let nanos = u128::try_from(nanos).map_err(|_| DurationError::Negative {
        text: text.to_string(),
    })?;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| DurationError::Overflow {
        text: text.to_string(),
    })?;
    let sub = u32::try_from(nanos % NANOS_PER_SEC).expect("remainder of division by 1e9 fits u32");
    Ok(Duration::new(secs, sub))
}

/// Formats a duration as Go's `time.Duration.String()` does: `"1h0m0s"`, `"1m30s"`, `"1.5s"`,
/// `"250ms"`, `"0s"`.
pub fn format_go_duration(duration: Duration) -> String {
    format_nanos(duration.as_nanos())
}

fn format_nanos(nanos: u128) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < NANOS_PER_SEC {
        // Below one second Go picks the largest unit that keeps an integer part.
        let (scale, unit) = if nanos < NANOS_PER_MICRO {
            (1, "ns")
        } else if nanos < NANOS_PER_MILLI {
            (NANOS_PER_MICRO, "\u{b5}s")
        } else {
            (NANOS_PER_MILLI, "ms")
        };
        return format!("{}{}", fraction(nanos, scale), unit);
    }
    let hours = nanos / NANOS_PER_HOUR;
    let minutes = (nanos % NANOS_PER_HOUR) / NANOS_PER_MIN;
    let seconds = fraction(nanos % NANOS_PER_MIN, NANOS_PER_SEC);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// `value / scale` written with the shortest exact decimal fraction.
fn fraction(value: u128, scale: u128) -> String {
    let int = value / scale;
    let rem = value % scale;
    if rem == 0 {
        return int.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

/// A duration field of a Flux spec, kept exactly as written (`"10m"` stays `"10m"`, never
/// `"10m0s"`) so objects round-trip; [`GoDuration::to_std`] gives its value.
///
/// Deserialising never fails on the value: the CRD pattern rejects bad text at the API server,
/// and a stricter type here would make one odd object break a whole watch stream.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GoDuration(String);

impl GoDuration {
    /// The text as written in the object.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as a [`Duration`]; errors for malformed or negative text.
    pub fn to_std(&self) -> Result<Duration, DurationError> {
        parse_go_duration(&self.0)
    }
}

impl From<Duration> for GoDuration {
    fn from(duration: Duration) -> Self {
        GoDuration(format_go_duration(duration))
    }
}

impl FromStr for GoDuration {
    type Err = DurationError;

    /// Checks the text is a valid non-negative Go duration and keeps it as written.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_go_duration(text)?;
        Ok(GoDuration(text.to_string()))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for GoDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoDuration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("0s", 0),
            ("10m", 600_000_000_000),
            ("1m0s", 60_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1h0m0s", 3_600_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("300ms", 300_000_000),
            ("-1.5h", -5_400_000_000_000),
            ("+5s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("2h45m", 9_900_000_000_000),
            ("1us", 1_000),
            ("1\u{b5}s", 1_000),
            ("1\u{3bc}s", 1_000),
            ("3ns", 3),
            ("1.0000000001s", 1_000_000_000),
            ("2562047h47m16.854775807s", i64::MAX as i128),
        ];
        for (text, nanos) in cases {
            assert_eq!(parse_go_duration_nanos(text), Ok(*nanos), "{text}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for text in [
            "", "-", "s", "1", "1x", ".s", "1h 2m", "3000000h", "1d", "m1",
        ] {
            assert!(
                parse_go_duration_nanos(text).is_err(),
                "{text:?} should fail"
            );
        }
        assert!(matches!(
            parse_go_duration("1d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_go_duration("-1s"),
            Err(DurationError::Negative { .. })
        ));
        assert!(matches!(
            parse_go_duration("2562048h"),
            Err(DurationError::Overflow { .. })
        ));
    }

    #[test]
    fn formats_as_go_does() {
        let cases: &[(u64, u32, &str)] = &[
            (0, 0, "0s"),
            (60, 0, "1m0s"),
            (600, 0, "10m0s"),
            (3600, 0, "1h0m0s"),
            (5400, 0, "1h30m0s"),
            (90, 500_000_000, "1m30.5s"),
            (1, 500_000_000, "1.5s"),
            (0, 250_000_000, "250ms"),
            (0, 1_500_000, "1.5ms"),
            (0, 1_000, "1\u{b5}s"),
            (0, 7, "7ns"),
            (86_400, 1, "24h0m0.000000001s"),
        ];
        for (secs, nanos, text) in cases {
            assert_eq!(format_go_duration(Duration::new(*secs, *nanos)), *text);
        }
    }

    #[test]
    fn format_then_parse_is_identity() {
        for nanos in [
            1u64,
            999,
            1_000,
            1_234_567,
            59_999_999_999,
            3_723_000_000_001,
        ] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(parse_go_duration(&format_go_duration(d)), Ok(d));
        }
    }

    #[test]
    fn spec_type_keeps_text() {
        let d: GoDuration = serde_json::from_str("\"10m\"").expect("string");
        assert_eq!(d.as_str(), "10m");
        assert_eq!(serde_json::to_string(&d).expect("serialise"), "\"10m\"");
        assert_eq!(d.to_std(), Ok(Duration::from_secs(600)));
        assert_eq!(GoDuration::from(Duration::from_secs(90)).as_str(), "1m30s");
        assert!("10 minutes".parse::<GoDuration>().is_err());
    }
}
