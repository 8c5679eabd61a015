//! Parsing the workload parameters given on the command line: byte sizes
//! (`4KiB`, `1MB`), object-size distributions (`1MiB`, `4KiB..64MiB`,
//! `4KiB..64MiB:log`), durations (`10s`, `2m`, `500ms`) and the operation mix
//! of the `mixed` workload (`get=60,put=30,stat=5,delete=5`). Pure code,
//! unit-tested here.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One kibibyte (KiB); every size printed by cairn bench uses binary units.
pub const KIB: u64 = 1024;
/// One mebibyte (MiB).
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte (GiB).
pub const GIB: u64 = 1024 * MIB;

/// A malformed command-line value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error(
        "invalid size {0:?}: expected a number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB)"
    )]
    Size(String),
    #[error("invalid size range {0:?}: expected MIN..MAX[:uniform|:log] with 0 < MIN <= MAX")]
    Range(String),
    #[error("invalid duration {0:?}: expected a number with a unit (ms, s, m, h)")]
    Duration(String),
    #[error(
        "invalid mix {0:?}: expected NAME=WEIGHT pairs for get, put, stat, delete, summing above 0"
    )]
    Mix(String),
}

/// Parses a byte count: a plain number is bytes; units are case-insensitive,
/// `KiB/MiB/GiB` (also `K/M/G`) are powers of 1024, `KB/MB/GB` powers of 1000.
pub fn parse_bytes(text: &str) -> Result<u64, SpecError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let err = || SpecError::Size(text.to_owned());
    let value: f64 = number.parse().map_err(|_| err())?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => KIB,
        "m" | "mib" => MIB,
        "g" | "gib" => GIB,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(err()),
    };
    let bytes = value * factor as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 || bytes.fract() != 0.0 {
        return Err(err());
    }
    Ok(bytes as u64)
}

/// Formats a byte count with the largest binary unit that keeps it exact
/// when possible (`1 MiB`, `4 KiB`, `1500 B`), else with two decimals.
pub fn format_bytes(bytes: u64) -> String {
    for (unit, size) in [("GiB", GIB), ("MiB", MIB), ("KiB", KIB)] {
        if bytes >= size {
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{:.2} {unit}", bytes as f64 / size as f64)
            };
        }
    }
    format!("{bytes} B")
}

/// How the sizes of a range are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// Every size in MIN..=MAX equally likely (the mean is the midpoint).
    Uniform,
    /// log(size) uniform: each power of two in the range gets the same share
    /// of objects, so small objects dominate the count and large ones the bytes.
    LogUniform,
}

/// The object sizes of a workload: one fixed size or a distribution over a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSpec {
    Fixed(u64),
    Range {
        min: u64,
        max: u64,
        distribution: Distribution,
    },
}

impl SizeSpec {
    /// The largest size the spec can produce.
    pub fn max(&self) -> u64 {
        match *self {
            SizeSpec::Fixed(size) => size,
            SizeSpec::Range { max, .. } => max,
        }
    }

    /// Draws one object size.
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            SizeSpec::Fixed(size) => size,
            SizeSpec::Range { min, max, .. } if min == max => min,
            SizeSpec::Range {
                min,
                max,
                distribution: Distribution::Uniform,
            } => rng.random_range(min..=max),
            SizeSpec::Range {
                min,
                max,
                distribution: Distribution::LogUniform,
            } => {
                let (lo, hi) = ((min as f64).ln(), (max as f64).ln());
                let size = rng.random_range(lo..=hi).exp().round() as u64;
                size.clamp(min, max)
            }
        }
    }
}

impl FromStr for SizeSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let Some((min, rest)) = text.split_once("..") else {
            return Ok(SizeSpec::Fixed(parse_bytes(text)?));
        };
        let range_err = || SpecError::Range(text.to_owned());
        let (max, distribution) = match rest.split_once(':') {
            None => (rest, Distribution::Uniform),
            Some((max, "uniform")) => (max, Distribution::Uniform),
            Some((max, "log" | "log-uniform")) => (max, Distribution::LogUniform),
            Some(_) => return Err(range_err()),
        };
        let min = parse_bytes(min).map_err(|_| range_err())?;
        let max = parse_bytes(max).map_err(|_| range_err())?;
        if min == 0 || min > max {
            return Err(range_err());
        }
        Ok(SizeSpec::Range {
            min,
            max,
            distribution,
        })
    }
}

impl fmt::Display for SizeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SizeSpec::Fixed(size) => write!(f, "{}", format_bytes(size)),
            SizeSpec::Range {
                min,
                max,
                distribution,
            } => {
                let kind = match distribution {
                    Distribution::Uniform => "uniform",
                    Distribution::LogUniform => "log-uniform",
                };
                write!(f, "{}..{} {kind}", format_bytes(min), format_bytes(max))
            }
        }
    }
}

/// Parses `500ms`, `10s`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, SpecError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let err = || SpecError::Duration(text.to_owned());
    let value: f64 = number.parse().map_err(|_| err())?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(err()),
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(err)
}

/// One operation of the `mixed` workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixedOp {
    Get,
    Put,
    Stat,
    Delete,
}

/// Relative weights of the operations of the `mixed` workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    pub get: u32,
    pub put: u32,
    pub stat: u32,
    pub delete: u32,
}

impl Default for Mix {
    /// warp's default mix: 45% GET, 15% PUT, 30% STAT, 10% DELETE.
    fn default() -> Self {
        Self {
            get: 45,
            put: 15,
            stat: 30,
            delete: 10,
        }
    }
}

impl Mix {
    fn total(&self) -> u64 {
        u64::from(self.get) + u64::from(self.put) + u64::from(self.stat) + u64::from(self.delete)
    }

    /// Draws one operation with probability proportional to its weight.
    pub fn pick(&self, rng: &mut impl Rng) -> MixedOp {
        self.op_at(rng.random_range(0..self.total()))
    }

    /// The operation for a point in `0..total()`: get, then put, stat, delete.
    fn op_at(&self, mut point: u64) -> MixedOp {
        for (weight, op) in [
            (self.get, MixedOp::Get),
            (self.put, MixedOp::Put),
            (self.stat, MixedOp::Stat),
        ] {
            if point < u64::from(weight) {
                return op;
            }
            point -= u64::from(weight);
        }
        MixedOp::Delete
    }
}

impl FromStr for Mix {
    type Err = SpecError;

    /// `get=60,put=30,stat=5,delete=5`; operations left out weigh 0.
    fn from_str(text: &str) -> Result<Self, SpecError> {
        let err = || SpecError::Mix(text.to_owned());
        let mut mix = Mix {
            get: 0,
            put: 0,
            stat: 0,
            delete: 0,
        };
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = pair.split_once('=').ok_or_else(err)?;
            let weight: u32 = weight.trim().parse().map_err(|_| err())?;
            let slot = match name.trim() {
                "get" => &mut mix.get,
                "put" => &mut mix.put,
                "stat" | "head" => &mut mix.stat,
                "delete" => &mut mix.delete,
                _ => return Err(err()),
            };
            *slot = weight;
        }
        if mix.total() == 0 {
            return Err(err());
        }
        Ok(mix)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "get={},put={},stat={},delete={}",
            self.get, self.put, self.stat, self.delete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn bytes_parse_binary_and_decimal_units() {
        assert_eq!(parse_bytes("0"), Ok(0));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("4KiB"), Ok(4096));
        assert_eq!(parse_bytes("4k"), Ok(4096));
        assert_eq!(parse_bytes("1MiB"), Ok(MIB));
        assert_eq!(parse_bytes("1.5MiB"), Ok(MIB + MIB / 2));
        assert_eq!(parse_bytes("64 MiB"), Ok(64 * MIB));
        assert_eq!(parse_bytes("2GiB"), Ok(2 * GIB));
        assert_eq!(parse_bytes("1MB"), Ok(1_000_000));
        assert_eq!(parse_bytes("3kb"), Ok(3_000));
        for bad in ["", "MiB", "1.0001", "4XB", "-1", "1..2"] {
            assert!(parse_bytes(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bytes_format_exact_or_two_decimals() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1000), "1000 B");
        assert_eq!(format_bytes(4096), "4 KiB");
        assert_eq!(format_bytes(64 * MIB), "64 MiB");
        assert_eq!(format_bytes(MIB + MIB / 2), "1.50 MiB");
    }

    #[test]
    fn size_spec_parses_fixed_and_ranges() {
        assert_eq!("1MiB".parse(), Ok(SizeSpec::Fixed(MIB)));
        assert_eq!(
            "4KiB..64MiB".parse(),
            Ok(SizeSpec::Range {
                min: 4 * KIB,
                max: 64 * MIB,
                distribution: Distribution::Uniform
            })
        );
        assert_eq!(
            "4KiB..64MiB:log".parse(),
            Ok(SizeSpec::Range {
                min: 4 * KIB,
                max: 64 * MIB,
                distribution: Distribution::LogUniform
            })
        );
        for bad in ["0..1MiB", "2MiB..1MiB", "1..2:normal", "..", "1MiB.."] {
            assert!(bad.parse::<SizeSpec>().is_err(), "{bad} accepted");
        }
        assert_eq!(
            "4KiB..64MiB:log".parse::<SizeSpec>().unwrap().to_string(),
            "4 KiB..64 MiB log-uniform"
        );
    }

    #[test]
    fn samples_stay_in_range_and_follow_the_distribution() {
        let mut rng = StdRng::seed_from_u64(7);
        let draws = 20_000;
        let uniform: SizeSpec = "1KiB..1024KiB".parse().unwrap();
        let log: SizeSpec = "1KiB..1024KiB:log".parse().unwrap();
        let (mut uniform_small, mut log_small) = (0, 0);
        for _ in 0..draws {
            let u = uniform.sample(&mut rng);
            let l = log.sample(&mut rng);
            assert!((KIB..=MIB).contains(&u) && (KIB..=MIB).contains(&l));
            // Below 32 KiB: 3% of a uniform range, half of a log-uniform one
            // (2^10..2^15 is half of 2^10..2^20 in log space).
            uniform_small += u64::from(u < 32 * KIB);
            log_small += u64::from(l < 32 * KIB);
        }
        assert!(uniform_small < draws / 20, "uniform: {uniform_small}");
        assert!(
            (draws * 45 / 100..draws * 55 / 100).contains(&log_small),
            "log-uniform: {log_small}"
        );
        assert_eq!(SizeSpec::Fixed(5).sample(&mut rng), 5);
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "0s", "5 parsecs", "-1s", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let mix: Mix = "get=60, put=30,stat=5,delete=5".parse().unwrap();
        assert_eq!(
            mix,
            Mix {
                get: 60,
                put: 30,
                stat: 5,
                delete: 5
            }
        );
        assert_eq!(mix.to_string(), "get=60,put=30,stat=5,delete=5");
        let only_put: Mix = "put=1".parse().unwrap();
        assert_eq!(only_put.get + only_put.stat + only_put.delete, 0);
        for bad in ["", "get=0", "get=x", "read=5", "get"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad} accepted");
        }
        // op_at walks the weights in order get, put, stat, delete.
        assert_eq!(mix.op_at(0), MixedOp::Get);
        assert_eq!(mix.op_at(59), MixedOp::Get);
        assert_eq!(mix.op_at(60), MixedOp::Put);
        assert_eq!(mix.op_at(89), MixedOp::Put);
        assert_eq!(mix.op_at(90), MixedOp::Stat);
        assert_eq!(mix.op_at(95), MixedOp::Delete);
        assert_eq!(mix.op_at(99), MixedOp::Delete);
        let mut rng = StdRng::seed_from_u64(1);
        let gets = (0..10_000)
            .filter(|_| mix.pick(&mut rng) == MixedOp::Get)
            .count();
        assert!((5_500..6_500).contains(&gets), "{gets}");
        assert!((0..1000).all(|_| only_put.pick(&mut rng) == MixedOp::Put));
    }
}
