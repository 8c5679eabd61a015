//! Recording what a run did: one HDR latency histogram per operation kind,
//! counts of operations, bytes and listed entries, errors by S3 error code,
//! and a per-second time series. `Recorder::report` turns them into the
//! numbers of a [`Report`](crate::report::Report). Pure bookkeeping; the
//! clock is passed in, so the maths is unit-tested with made-up times.

use crate::report::{Latency, OpReport, Second};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Largest latency a histogram holds exactly (one hour, in microseconds);
/// longer operations are recorded as this value.
const MAX_TRACKED_LATENCY_US: u64 = 3_600_000_000;
/// Significant decimal digits of the per-operation histograms (0.1% resolution).
const OP_HISTOGRAM_DIGITS: u8 = 3;
/// Significant digits of the per-second histograms (1% resolution; they are many).
const SECOND_HISTOGRAM_DIGITS: u8 = 2;

/// The kinds of operation a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    Put,
    Get,
    Stat,
    Delete,
    /// One ListObjectsV2 page.
    List,
    /// One whole multipart upload: create, every part, complete.
    Multipart,
    /// One UploadPart inside a multipart upload (not counted in the total,
    /// whose unit for that workload is the whole upload).
    UploadPart,
}

impl OpKind {
    /// Every kind, in report order.
    pub const ALL: [OpKind; 7] = [
        OpKind::Put,
        OpKind::Get,
        OpKind::Stat,
        OpKind::Delete,
        OpKind::List,
        OpKind::Multipart,
        OpKind::UploadPart,
    ];

    /// Whether the kind's operations, bytes and errors count in the total.
    pub fn counts_in_total(self) -> bool {
        self != OpKind::UploadPart
    }

    /// The name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::Get => "get",
            OpKind::Stat => "stat",
            OpKind::Delete => "delete",
            OpKind::List => "list",
            OpKind::Multipart => "multipart",
            OpKind::UploadPart => "upload-part",
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one finished operation contributes.
#[derive(Debug, Clone)]
pub struct Sample {
    pub kind: OpKind,
    /// When the operation ended, measured from the start of the run.
    pub end: Duration,
    pub latency: Duration,
    /// Payload bytes moved (body sent or received).
    pub bytes: u64,
    /// Entries listed (List only).
    pub entries: u64,
    /// `Err(code)` for a failed operation.
    pub outcome: Result<(), String>,
}

fn new_histogram<T: hdrhistogram::Counter>(digits: u8) -> Histogram<T> {
    // The bounds are constants within hdrhistogram's limits, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_TRACKED_LATENCY_US, digits)
        .unwrap_or_else(|e| panic!("histogram bounds are constants: {e}"))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Totals and the latency histogram of one operation kind.
struct KindStats {
    latency: Histogram<u64>,
    ok: u64,
    errors: u64,
    bytes: u64,
    entries: u64,
}

/// One second of the time series while it may still receive samples.
struct OpenSecond {
    stats: Second,
    latency: Histogram<u32>,
}

/// Collects samples during a run.
pub struct Recorder {
    kinds: BTreeMap<OpKind, KindStats>,
    errors: BTreeMap<String, u64>,
    /// Closed seconds, in order, without gaps.
    closed: Vec<Second>,
    /// Seconds from `closed.len()` on, still open.
    open: BTreeMap<u64, OpenSecond>,
    /// Latest end of any operation.
    last_end: Duration,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            kinds: BTreeMap::new(),
            errors: BTreeMap::new(),
            closed: Vec::new(),
            open: BTreeMap::new(),
            last_end: Duration::ZERO,
        }
    }

    /// Adds one finished operation.
    pub fn record(&mut self, sample: Sample) {
        let kind = self.kinds.entry(sample.kind).or_insert_with(|| KindStats {
            latency: new_histogram(OP_HISTOGRAM_DIGITS),
            ok: 0,
            errors: 0,
            bytes: 0,
            entries: 0,
        });
        let second_index = sample.end.as_secs();
        self.last_end = self.last_end.max(sample.end);
        let counts_in_total = sample.kind.counts_in_total();
        // A sample for a second already closed (its thread was descheduled
        // between the clock and the lock) is counted in the last open second.
        let second_index = second_index.max(self.closed.len() as u64);
        let second = self.open.entry(second_index).or_insert_with(|| OpenSecond {
            stats: Second {
                second: second_index,
                ..Second::default()
            },
            latency: new_histogram(SECOND_HISTOGRAM_DIGITS),
        });
        match sample.outcome {
            Ok(()) => {
                let us = micros(sample.latency).min(MAX_TRACKED_LATENCY_US);
                kind.latency.saturating_record(us);
                kind.ok += 1;
                kind.bytes += sample.bytes;
                kind.entries += sample.entries;
                if counts_in_total {
                    second.latency.saturating_record(us);
                    second.stats.ops += 1;
                    second.stats.bytes += sample.bytes;
                    second.stats.entries += sample.entries;
                }
            }
            Err(code) => {
                kind.errors += 1;
                *self.errors.entry(code).or_default() += 1;
                if counts_in_total {
                    second.stats.errors += 1;
                }
            }
        }
    }

    /// Finishes every second before `now`'s whole second minus one: their
    /// percentiles are computed and their histograms freed, so a long run
    /// keeps memory bounded.
    pub fn close_seconds_before(&mut self, now: Duration) {
        let limit = now.as_secs().saturating_sub(1);
        while (self.closed.len() as u64) < limit {
            let index = self.closed.len() as u64;
            let second = match self.open.remove(&index) {
                Some(open) => finish_second(open),
                None => Second {
                    second: index,
                    ..Second::default()
                },
            };
            self.closed.push(second);
        }
    }

    /// Operations recorded so far (all kinds that count in the total).
    pub fn total_ops(&self) -> u64 {
        self.kinds
            .iter()
            .filter(|(k, _)| k.counts_in_total())
            .map(|(_, s)| s.ok)
            .sum()
    }

    /// Errors recorded so far (every kind).
    pub fn total_errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// When the last operation ended (the run's measured length).
    pub fn last_end(&self) -> Duration {
        self.last_end
    }

    /// The per-kind results, the total, the errors and the time series, over
    /// `elapsed` (the run's measured length).
    pub fn finish(mut self, elapsed: Duration) -> Finished {
        let secs = elapsed.as_secs_f64();
        let mut total_latency = new_histogram::<u64>(OP_HISTOGRAM_DIGITS);
        let (mut ok, mut errors, mut bytes, mut entries) = (0, 0, 0, 0);
        let mut operations = BTreeMap::new();
        for (kind, stats) in &self.kinds {
            if kind.counts_in_total() {
                // Same bounds, so adding cannot fail.
                let _ = total_latency.add(&stats.latency);
                ok += stats.ok;
                errors += stats.errors;
                bytes += stats.bytes;
                entries += stats.entries;
            }
            operations.insert(
                kind.name().to_owned(),
                op_report(
                    stats.ok,
                    stats.errors,
                    stats.bytes,
                    stats.entries,
                    &stats.latency,
                    secs,
                ),
            );
        }
        let total = op_report(ok, errors, bytes, entries, &total_latency, secs);
        let end = Duration::from_secs(self.last_end.as_secs() + 2);
        self.close_seconds_before(end.max(elapsed + Duration::from_secs(2)));
        // Trailing empty seconds past the end add nothing.
        while self
            .closed
            .last()
            .is_some_and(|s| s.ops == 0 && s.errors == 0 && s.second >= elapsed.as_secs())
        {
            self.closed.pop();
        }
        Finished {
            operations,
            total,
            errors: self.errors,
            timeline: self.closed,
        }
    }
}

/// The results of a recorder.
pub struct Finished {
    pub operations: BTreeMap<String, OpReport>,
    pub total: OpReport,
    pub errors: BTreeMap<String, u64>,
    pub timeline: Vec<Second>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Latency percentiles in milliseconds; all zero for an empty histogram.
fn latency<T: hdrhistogram::Counter>(h: &Histogram<T>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    Latency {
        mean: h.mean() / 1000.0,
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
    }
}

fn op_report(
    ok: u64,
    errors: u64,
    bytes: u64,
    entries: u64,
    h: &Histogram<u64>,
    secs: f64,
) -> OpReport {
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    OpReport {
        ops: ok,
        errors,
        bytes,
        entries,
        ops_per_sec: rate(ok),
        mib_per_sec: rate(bytes) / crate::spec::MIB as f64,
        entries_per_sec: rate(entries),
        latency_ms: latency(h),
    }
}

fn finish_second(open: OpenSecond) -> Second {
    let l = latency(&open.latency);
    Second {
        p50_ms: l.p50,
        p99_ms: l.p99,
        ..open.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: OpKind, end_ms: u64, latency_ms: u64, bytes: u64) -> Sample {
        Sample {
            kind,
            end: Duration::from_millis(end_ms),
            latency: Duration::from_millis(latency_ms),
            bytes,
            entries: 0,
            outcome: Ok(()),
        }
    }

    #[test]
    fn rates_and_percentiles() {
        let mut r = Recorder::new();
        // 1000 PUTs of 1 MiB with latencies 1..=1000 ms over 2 seconds.
        for i in 1..=1000u64 {
            r.record(sample(OpKind::Put, i * 2, i, crate::spec::MIB));
        }
        r.record(Sample {
            outcome: Err("SlowDown".into()),
            ..sample(OpKind::Put, 1999, 5, crate::spec::MIB)
        });
        assert_eq!(r.total_ops(), 1000);
        assert_eq!(r.total_errors(), 1);
        let f = r.finish(Duration::from_secs(2));
        let put = &f.operations["put"];
        assert_eq!((put.ops, put.errors), (1000, 1));
        assert_eq!(put.bytes, 1000 * crate::spec::MIB);
        assert!((put.ops_per_sec - 500.0).abs() < 1e-9);
        assert!((put.mib_per_sec - 500.0).abs() < 1e-9);
        let l = put.latency_ms;
        // 3 significant digits: within 0.1% of the exact rank.
        for (got, want) in [
            (l.p50, 500.0),
            (l.p90, 900.0),
            (l.p99, 990.0),
            (l.p999, 999.0),
            (l.max, 1000.0),
        ] {
            assert!((got - want).abs() <= want * 0.001, "{got} vs {want}");
        }
        assert!((l.mean - 500.5).abs() < 0.5, "{}", l.mean);
        assert_eq!(f.errors.get("SlowDown"), Some(&1));
        assert_eq!(f.total.ops, 1000);
        // Samples end at 2..=2000 ms: seconds 0 and 1 hold 499 and 500 ops
        // (the ones ending at exactly 1000 and 2000 ms fall in seconds 1 and 2).
        let ops: Vec<u64> = f.timeline.iter().map(|s| s.ops).collect();
        assert_eq!(ops, vec![499, 500, 1]);
        assert_eq!(f.timeline[1].errors, 1);
        let s0 = &f.timeline[0];
        assert!((s0.p50_ms - 250.0).abs() <= 2.5, "{}", s0.p50_ms);
    }

    #[test]
    fn upload_parts_stay_out_of_the_total() {
        let mut r = Recorder::new();
        for i in 0..4 {
            r.record(sample(
                OpKind::UploadPart,
                100 + i,
                10,
                5 * crate::spec::MIB,
            ));
        }
        r.record(sample(OpKind::Multipart, 200, 100, 20 * crate::spec::MIB));
        let f = r.finish(Duration::from_secs(1));
        assert_eq!(f.total.ops, 1);
        assert_eq!(f.total.bytes, 20 * crate::spec::MIB);
        assert_eq!(f.operations["upload-part"].ops, 4);
        assert_eq!(f.timeline.len(), 1);
        assert_eq!(f.timeline[0].ops, 1);
    }

    #[test]
    fn seconds_close_in_order_with_gaps_filled() {
        let mut r = Recorder::new();
        r.record(sample(OpKind::Get, 500, 1, 10));
        r.record(sample(OpKind::Get, 3500, 1, 10));
        r.close_seconds_before(Duration::from_millis(5200));
        // Seconds 0..=3 closed (now 5.2 s closes everything before second 4).
        assert_eq!(r.closed.len(), 4);
        assert_eq!(r.closed[2].ops, 0);
        // A late sample for a closed second lands in the first open one.
        r.record(sample(OpKind::Get, 1500, 1, 10));
        let f = r.finish(Duration::from_secs(4));
        let ops: Vec<u64> = f.timeline.iter().map(|s| s.ops).collect();
        assert_eq!(ops, vec![1, 0, 0, 1, 1]);
        assert_eq!(f.total.ops, 3);
    }

    #[test]
    fn empty_run_reports_zeros() {
        let f = Recorder::new().finish(Duration::ZERO);
        assert_eq!(f.total.ops, 0);
        assert_eq!(f.total.ops_per_sec, 0.0);
        assert_eq!(f.total.latency_ms.max, 0.0);
        assert!(f.timeline.is_empty());
    }
}
