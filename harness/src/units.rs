//! Units in scenario files: durations (`250ms`, `2m`, `1h30m`), rates
//! (`800/s`, `30000/m`) and latency ranges (`200ms..800ms`, or one duration
//! for a fixed latency). Parsers return what was expected on failure, so the
//! validator can quote it next to the field path.

use std::time::Duration;

const UNITS: [(&str, u64); 5] = [
    ("ms", 1_000),
    ("us", 1),
    ("s", 1_000_000),
    ("m", 60_000_000),
    ("h", 3_600_000_000),
];

/// Parses `250ms`, `2s`, `1m30s`, `1h`. Whole numbers only; `0` alone means zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "a duration with units such as \"250ms\", \"30s\", \"2m\" or \"1h30m\"";
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(EXPECTED.to_string());
    }
    let mut total_us: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(EXPECTED.to_string());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| EXPECTED.to_string())?;
        rest = &rest[digits..];
        let unit = UNITS
            .iter()
            .find(|(u, _)| {
                rest.starts_with(u)
                    // `m` must not swallow the `m` of `ms`.
                    && !(*u == "m" && rest.starts_with("ms"))
            })
            .ok_or_else(|| EXPECTED.to_string())?;
        rest = &rest[unit.0.len()..];
        total_us = n
            .checked_mul(unit.1)
            .and_then(|v| total_us.checked_add(v))
            .ok_or_else(|| "a duration below 10000h".to_string())?;
    }
    if total_us > 10_000 * 3_600_000_000 {
        return Err("a duration below 10000h".to_string());
    }
    Ok(Duration::from_micros(total_us))
}

/// Formats a duration the way scenario files write them (`2m30s`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros() as u64;
    if us == 0 {
        return "0s".to_string();
    }
    if !us.is_multiple_of(1_000) {
        return format!("{}us", us);
    }
    let ms = us / 1_000;
    let (h, m, s, ms) = (
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1_000) % 60,
        ms % 1_000,
    );
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s"), (ms, "ms")] {
        if n > 0 {
            out += &format!("{n}{unit}");
        }
    }
    out
}

/// Parses a rate `800/s` or `30000/m` into messages per second (whole numbers).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    const EXPECTED: &str =
        "a rate such as \"800/s\" or \"30000/m\" (a whole number of messages per second or minute)";
    let t = s.trim();
    let (n, per) = t.split_once('/').ok_or_else(|| EXPECTED.to_string())?;
    let n = n.trim();
    if n.starts_with('-') {
        return Err("a rate that is not negative, such as \"800/s\"".to_string());
    }
    let n: u64 = n.parse().map_err(|_| EXPECTED.to_string())?;
    match per.trim() {
        "s" => Ok(n),
        "m" if n.is_multiple_of(60) => Ok(n / 60),
        "m" => Err("a per-minute rate divisible by 60 (whole messages per second)".to_string()),
        _ => Err(EXPECTED.to_string()),
    }
}

/// Parses `200ms..800ms` (inclusive) or a single duration for a fixed latency.
pub fn parse_latency_range(s: &str) -> Result<(Duration, Duration), String> {
    const EXPECTED: &str =
        "a latency range such as \"200ms..800ms\" (min..max) or one duration such as \"5ms\"";
    let (min, max) = match s.split_once("..") {
        Some((a, b)) => (
            parse_duration(a).map_err(|_| EXPECTED.to_string())?,
            parse_duration(b).map_err(|_| EXPECTED.to_string())?,
        ),
        None => {
            let d = parse_duration(s).map_err(|_| EXPECTED.to_string())?;
            (d, d)
        }
    };
    if min > max {
        return Err("a range whose min is not above its max".to_string());
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("99999999999999h").is_err());
    }

    #[test]
    fn formatting_round_trips() {
        for s in [
            "250ms",
            "2m",
            "1m30s",
            "1h",
            "1s500ms",
            "1h2m3s",
            "2m30s500ms",
        ] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("800/s"), Ok(800));
        assert_eq!(parse_rate("600/m"), Ok(10));
        assert!(parse_rate("-5/s").is_err());
        assert!(parse_rate("800").is_err());
        assert!(parse_rate("800/h").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_latency_range("200ms..800ms"),
            Ok((Duration::from_millis(200), Duration::from_millis(800)))
        );
        assert_eq!(
            parse_latency_range("5ms"),
            Ok((Duration::from_millis(5), Duration::from_millis(5)))
        );
        assert!(parse_latency_range("800ms..200ms").is_err());
    }
}
