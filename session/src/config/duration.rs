//! Durations in the `session_*` keys: seconds, or number-unit pairs such as `"1d12h"`.

use std::time::Duration;

use rocket::figment::value::Value;
use serde::{Deserialize, Deserializer};

/// Accepts seconds, or a string of number-unit pairs (`ms`, `s`, `m`, `h`, `d`).
pub(super) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    use serde::de::Error;
    match <Value as Deserialize>::deserialize(deserializer)? {
        Value::Num(_, num) => num
            .to_f64()
            .or_else(|| num.to_u128_lossy().map(|secs| secs as f64))
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| D::Error::custom("expected a positive number of seconds")),
        Value::String(_, text) => parse_duration(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "expected seconds or a duration such as \"500ms\", \"30m\", \"12h\", \"7d\", \"1d12h\", found {text:?}"
            ))
        }),
        _ => Err(D::Error::custom("expected seconds or a duration string such as \"7d\"")),
    }
}

pub(super) fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut millis: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        millis = millis.checked_add(number.checked_mul(unit)?)?;
    }
    (!text.is_empty()).then_some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn durations_accept_units_and_combinations() {
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("31d"), Some(Duration::from_secs(2_678_400)));
        assert_eq!(parse_duration("1d12h"), Some(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1s250ms"), Some(Duration::from_millis(1250)));
    }

    #[test]
    fn durations_reject_malformed_text() {
        for bad in ["", "d", "1w", "1.5h", "-3s", "12h3", "5 s", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "accepted {bad:?}");
        }
    }
}
