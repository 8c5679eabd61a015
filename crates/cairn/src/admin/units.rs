//! Units the operator commands print and read: bytes in binary units
//! (`1.5 GiB`), durations (`2h 05m`), ages (`3m ago`), and byte rates typed
//! on the command line (`64MiB`, `10M`, `500k`, `default`).

const KIB: u64 = 1 << 10;
const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/// Bytes in the largest binary unit that keeps the number at least 1:
/// `512 B`, `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    if bytes < KIB {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration in seconds, to the two largest units: `45s`, `3m 20s`,
/// `2h 05m`, `3d 04h`.
pub fn human_duration(secs: u64) -> String {
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    if secs < MIN {
        format!("{secs}s")
    } else if secs < HOUR {
        format!("{}m {:02}s", secs / MIN, secs % MIN)
    } else if secs < DAY {
        format!("{}h {:02}m", secs / HOUR, (secs % HOUR) / MIN)
    } else {
        format!("{}d {:02}h", secs / DAY, (secs % DAY) / HOUR)
    }
}

/// How long before `now_ms` the moment `then_ms` was, in its largest
/// unit: `12s ago`, `3m ago`, `5h ago`, `2d ago`; `never` for None. A
/// moment in the future (another machine's clock ahead) is `just now`.
pub fn age(then_ms: Option<u64>, now_ms: u64) -> String {
    let Some(then) = then_ms else {
        return "never".into();
    };
    let Some(ms) = now_ms.checked_sub(then) else {
        return "just now".into();
    };
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// A byte rate that cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum RateError {
    Empty,
    Malformed(String),
    Zero,
    TooLarge(String),
}

impl std::fmt::Display for RateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateError::Empty => f.write_str(
                "RATE is empty: give bytes per second (64MiB, 10M, 500k, 1048576) or `default`",
            ),
            RateError::Malformed(text) => write!(
                f,
                "{text:?} is not a rate: give a number with an optional unit (B; k/K/KiB, M/MiB, \
                 G/GiB, T/TiB are powers of 1024; kB, MB, GB, TB powers of 1000), or `default`"
            ),
            RateError::Zero => f.write_str(
                "0 is not a rate: to stop repair use `cairn admin repair pause` (and `cairn admin \
                 repair resume` to start it again)",
            ),
            RateError::TooLarge(text) => {
                write!(f, "{text:?} is more bytes per second than can be counted")
            }
        }
    }
}

impl std::error::Error for RateError {}

/// Parses `cairn admin repair throttle RATE`: bytes per second, as a plain
/// number or with a unit (`64MiB`, `10M`, `1.5G`, `500k`, `100MB`, an
/// optional `/s`); single letters and `KiB`… are powers of 1024, `kB`, `MB`…
/// powers of 1000. `default` answers None: each node's
/// `repair.max_bytes_per_sec` applies again. Fractions round down.
pub fn parse_rate(text: &str) -> Result<Option<u64>, RateError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RateError::Empty);
    }
    if text.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    let body = text.strip_suffix("/s").unwrap_or(text).trim_end();
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, unit) = body.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" | "b" => 1,
        "k" | "K" | "KiB" | "Ki" => 1 << 10,
        "M" | "m" | "MiB" | "Mi" => 1 << 20,
        "G" | "g" | "GiB" | "Gi" => 1 << 30,
        "T" | "t" | "TiB" | "Ti" => 1 << 40,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(RateError::Malformed(text.to_string())),
    };
    if number.is_empty() || number.starts_with('.') || number.matches('.').count() > 1 {
        return Err(RateError::Malformed(text.to_string()));
    }
    let bytes = match number.split_once('.') {
        None => number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(multiplier))
            .ok_or_else(|| RateError::TooLarge(text.to_string()))?,
        Some(_) => {
            let value: f64 = number
                .parse()
                .map_err(|_| RateError::Malformed(text.to_string()))?;
            let bytes = (value * multiplier as f64).floor();
            if bytes >= u64::MAX as f64 {
                return Err(RateError::TooLarge(text.to_string()));
            }
            bytes as u64
        }
    };
    if bytes == 0 {
        return Err(RateError::Zero);
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_rate("64MiB"), Ok(Some(64 << 20)));
        assert_eq!(parse_rate("10M"), Ok(Some(10 << 20)));
        assert_eq!(parse_rate("500k"), Ok(Some(500 << 10)));
        assert_eq!(parse_rate("500K"), Ok(Some(500 << 10)));
        assert_eq!(parse_rate("1048576"), Ok(Some(1_048_576)));
        assert_eq!(parse_rate("100MB"), Ok(Some(100_000_000)));
        assert_eq!(parse_rate("2kB"), Ok(Some(2_000)));
        assert_eq!(parse_rate("1.5G"), Ok(Some(3 << 29)));
        assert_eq!(parse_rate("64MiB/s"), Ok(Some(64 << 20)));
        assert_eq!(parse_rate(" 8 MiB "), Ok(Some(8 << 20)));
        assert_eq!(parse_rate("1T"), Ok(Some(1 << 40)));
        assert_eq!(parse_rate("default"), Ok(None));
        assert_eq!(parse_rate("DEFAULT"), Ok(None));
    }

    #[test]
    fn bad_rates_are_refused_with_a_reason() {
        assert_eq!(parse_rate("0"), Err(RateError::Zero));
        assert_eq!(parse_rate("0MiB"), Err(RateError::Zero));
        assert_eq!(parse_rate("0.0001"), Err(RateError::Zero));
        assert!(RateError::Zero.to_string().contains("repair pause"));
        assert_eq!(parse_rate(""), Err(RateError::Empty));
        for bad in ["fast", "-5M", "5X", "MiB", "1.2.3M", ".5M", "5 M B", "1e9"] {
            assert!(
                matches!(parse_rate(bad), Err(RateError::Malformed(_))),
                "{bad}: {:?}",
                parse_rate(bad)
            );
        }
        assert!(matches!(
            parse_rate("99999999999999999999"),
            Err(RateError::TooLarge(_))
        ));
        assert!(matches!(
            parse_rate("20000000T"),
            Err(RateError::TooLarge(_))
        ));
    }

    #[test]
    fn ages_are_in_their_largest_unit() {
        let now = 10_000_000_000;
        assert_eq!(age(None, now), "never");
        assert_eq!(age(Some(now), now), "0s ago");
        assert_eq!(age(Some(now - 12_500), now), "12s ago");
        assert_eq!(age(Some(now - 3 * 60_000 - 5_000), now), "3m ago");
        assert_eq!(age(Some(now - 5 * 3_600_000), now), "5h ago");
        assert_eq!(age(Some(now - 2 * 86_400_000), now), "2d ago");
        assert_eq!(age(Some(now + 5_000), now), "just now");
    }

    #[test]
    fn bytes_and_durations_read_well() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(u64::MAX), "16384.0 PiB");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(200), "3m 20s");
        assert_eq!(human_duration(7_500), "2h 05m");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600), "3d 04h");
    }
}
