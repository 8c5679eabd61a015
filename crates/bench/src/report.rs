//! The result of a run as data (`Report`, serialised to JSON by `--json`),
//! as a readable summary, and the ratio table of two runs (`cairn bench
//! compare`). Throughput is in MiB/s (2^20 bytes per second) everywhere;
//! latencies are in milliseconds.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Identifies the JSON layout; bumped when a field changes meaning.
pub const REPORT_SCHEMA: &str = "cairn-bench/1";

/// Latency percentiles of one operation kind, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// The results of one operation kind (or of all of them: the total).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpReport {
    /// Successful operations.
    pub ops: u64,
    /// Failed operations.
    pub errors: u64,
    /// Payload bytes of the successful operations.
    pub bytes: u64,
    /// Entries listed (list workload).
    pub entries: u64,
    pub ops_per_sec: f64,
    /// Payload throughput in MiB/s (2^20 bytes per second).
    pub mib_per_sec: f64,
    pub entries_per_sec: f64,
    /// Latency of the successful operations.
    pub latency_ms: Latency,
}

/// One second of the run (operations counted by when they ended).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the measured phase began.
    pub second: u64,
    pub ops: u64,
    pub bytes: u64,
    pub entries: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The objects written before the measured phase (get, mixed and list workloads).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prepare {
    pub objects: u64,
    pub bytes: u64,
    pub secs: f64,
}

/// Everything `cairn bench` measured in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    /// put, get, mixed, list or multipart.
    pub workload: String,
    pub endpoint: String,
    pub bucket: String,
    pub prefix: String,
    pub concurrency: usize,
    /// The object size as given (`1 MiB`, `4 KiB..64 MiB log-uniform`).
    pub size: String,
    /// Workload parameters beyond the common ones (mix, page size, part size).
    pub parameters: BTreeMap<String, String>,
    /// Unix time (milliseconds) when the measured phase began.
    pub started_unix_ms: u64,
    /// Length of the measured phase, up to the end of its last operation.
    pub duration_secs: f64,
    pub prepare: Option<Prepare>,
    /// Per operation kind (put, get, stat, delete, list, multipart, upload-part).
    pub operations: BTreeMap<String, OpReport>,
    /// All kinds together (without upload-part, whose upload counts instead).
    pub total: OpReport,
    /// Failed operations by S3 error code (or transport failure).
    pub errors: BTreeMap<String, u64>,
    /// Per-second time series of the whole run.
    pub timeline: Vec<Second>,
    /// Remarks: an early stop, a bucket kept, a cleanup that failed.
    #[serde(default)]
    pub notes: Vec<String>,
}

const SUMMARY_HEADER: [&str; 10] = [
    "operation",
    "ops",
    "errors",
    "ops/s",
    "MiB/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
];

fn summary_row(name: &str, r: &OpReport) -> [String; 10] {
    let l = &r.latency_ms;
    [
        name.to_owned(),
        r.ops.to_string(),
        r.errors.to_string(),
        format!("{:.1}", r.ops_per_sec),
        format!("{:.2}", r.mib_per_sec),
        format!("{:.2}", l.p50),
        format!("{:.2}", l.p90),
        format!("{:.2}", l.p99),
        format!("{:.2}", l.p999),
        format!("{:.2}", l.max),
    ]
}

/// Lays out rows as columns: the first left-aligned, the others right-aligned.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

impl Report {
    /// The readable summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "cairn bench {}: {} bucket {} prefix {:?}\n{} workers, size {}, {:.2} s measured",
            self.workload,
            self.endpoint,
            self.bucket,
            self.prefix,
            self.concurrency,
            self.size,
            self.duration_secs
        );
        for (k, v) in &self.parameters {
            let _ = write!(out, ", {k} {v}");
        }
        out.push('\n');
        if let Some(p) = &self.prepare {
            let _ = writeln!(
                out,
                "prepared {} objects ({}) in {:.2} s",
                p.objects,
                crate::spec::format_bytes(p.bytes),
                p.secs
            );
        }
        out.push('\n');
        let mut rows = vec![SUMMARY_HEADER.map(str::to_owned)];
        for (name, r) in &self.operations {
            rows.push(summary_row(name, r));
        }
        if self.operations.len() > 1 {
            rows.push(summary_row("total", &self.total));
        }
        out.push_str(&table(&rows));
        if let Some(list) = self.operations.get("list") {
            let _ = writeln!(
                out,
                "listing: {} entries, {:.1} entries/s",
                list.entries, list.entries_per_sec
            );
        }
        if self.errors.is_empty() {
            out.push_str("errors: none\n");
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            let _ = writeln!(out, "errors: {}", list.join(", "));
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

/// Metrics compared by `cairn bench compare`, with whether larger is better.
const COMPARED: [(&str, bool); 8] = [
    ("ops/s", true),
    ("MiB/s", true),
    ("entries/s", true),
    ("p50 ms", false),
    ("p90 ms", false),
    ("p99 ms", false),
    ("p99.9 ms", false),
    ("max ms", false),
];

fn metric(r: &OpReport, name: &str) -> f64 {
    let l = &r.latency_ms;
    match name {
        "ops/s" => r.ops_per_sec,
        "MiB/s" => r.mib_per_sec,
        "entries/s" => r.entries_per_sec,
        "p50 ms" => l.p50,
        "p90 ms" => l.p90,
        "p99 ms" => l.p99,
        "p99.9 ms" => l.p999,
        _ => l.max,
    }
}

/// B / A, or `-` when A is zero.
fn ratio(a: f64, b: f64) -> String {
    if a == 0.0 {
        "-".to_owned()
    } else {
        format!("{:.2}x", b / a)
    }
}

/// The ratio table of two runs: for every operation kind in either run and
/// the total, each metric of A and B and B/A (above 1 means B is larger:
/// better for rates, worse for latencies, as the last column says).
pub fn compare(a: &Report, b: &Report) -> String {
    let mut out = format!(
        "A: {} {} ({} workers, size {}, {:.1} s)\nB: {} {} ({} workers, size {}, {:.1} s)\n\n",
        a.workload,
        a.endpoint,
        a.concurrency,
        a.size,
        a.duration_secs,
        b.workload,
        b.endpoint,
        b.concurrency,
        b.size,
        b.duration_secs,
    );
    let mut rows = vec![["operation", "metric", "A", "B", "B/A", "B is"].map(str::to_owned)];
    let mut names: Vec<&String> = a.operations.keys().chain(b.operations.keys()).collect();
    names.sort();
    names.dedup();
    let empty = OpReport::default();
    let mut kinds: Vec<(&str, &OpReport, &OpReport)> = names
        .iter()
        .map(|n| {
            (
                n.as_str(),
                a.operations.get(*n).unwrap_or(&empty),
                b.operations.get(*n).unwrap_or(&empty),
            )
        })
        .collect();
    kinds.push(("total", &a.total, &b.total));
    for (name, ra, rb) in kinds {
        for (m, larger_is_better) in COMPARED {
            let (va, vb) = (metric(ra, m), metric(rb, m));
            if va == 0.0 && vb == 0.0 {
                continue;
            }
            let verdict = if va == vb {
                "same"
            } else if (vb > va) == larger_is_better {
                "better"
            } else {
                "worse"
            };
            rows.push([
                name.to_owned(),
                m.to_owned(),
                format!("{va:.2}"),
                format!("{vb:.2}"),
                ratio(va, vb),
                verdict.to_owned(),
            ]);
        }
        rows.push([
            name.to_owned(),
            "errors".to_owned(),
            ra.errors.to_string(),
            rb.errors.to_string(),
            String::new(),
            String::new(),
        ]);
    }
    out.push_str(&table(&rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(ops_per_sec: f64, p99: f64) -> OpReport {
        OpReport {
            ops: 100,
            bytes: 100 << 20,
            ops_per_sec,
            mib_per_sec: ops_per_sec,
            latency_ms: Latency {
                p50: p99 / 2.0,
                p99,
                max: p99 * 2.0,
                ..Latency::default()
            },
            ..OpReport::default()
        }
    }

    fn report(ops_per_sec: f64, p99: f64) -> Report {
        Report {
            schema: REPORT_SCHEMA.into(),
            workload: "put".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "b".into(),
            prefix: "p/".into(),
            concurrency: 4,
            size: "1 MiB".into(),
            parameters: BTreeMap::new(),
            started_unix_ms: 0,
            duration_secs: 10.0,
            prepare: None,
            operations: BTreeMap::from([("put".to_owned(), op(ops_per_sec, p99))]),
            total: op(ops_per_sec, p99),
            errors: BTreeMap::new(),
            timeline: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn compare_gives_ratios_and_verdicts() {
        let table = compare(&report(100.0, 20.0), &report(150.0, 10.0));
        let line = |op: &str, metric: &str| {
            table
                .lines()
                .find(|l| {
                    let cells: Vec<&str> = l.split_whitespace().collect();
                    cells.first() == Some(&op) && l.contains(metric)
                })
                .unwrap_or_else(|| panic!("no {op} {metric} row in\n{table}"))
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            line("put", "ops/s"),
            ["put", "ops/s", "100.00", "150.00", "1.50x", "better"]
        );
        assert_eq!(
            line("total", "p99"),
            ["total", "p99", "ms", "20.00", "10.00", "0.50x", "better"]
        );
        assert_eq!(
            line("put", "max"),
            ["put", "max", "ms", "40.00", "20.00", "0.50x", "better"]
        );
        // Rates that are zero in both runs are left out.
        assert!(!table.contains("entries/s"), "{table}");
        let worse = compare(&report(100.0, 10.0), &report(50.0, 10.0));
        assert!(worse.contains("0.50x  worse"), "{worse}");
        assert!(worse.contains("1.00x   same"), "{worse}");
    }

    #[test]
    fn compare_handles_kinds_missing_on_one_side() {
        let a = report(100.0, 20.0);
        let mut b = report(100.0, 20.0);
        b.operations.insert("get".into(), op(50.0, 5.0));
        let table = compare(&a, &b);
        let get = table
            .lines()
            .find(|l| l.starts_with("get") && l.contains("ops/s"))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(get.contains("0.00") && get.contains("50.00") && get.contains(" - "));
    }

    #[test]
    fn summary_lists_every_kind_and_the_errors() {
        let mut r = report(100.0, 20.0);
        r.errors.insert("SlowDown".into(), 3);
        let s = r.summary();
        assert!(s.contains("operation"), "{s}");
        assert!(s.contains("put"), "{s}");
        assert!(s.contains("100.0"), "{s}");
        assert!(s.contains("errors: SlowDown 3"), "{s}");
        assert!(!s.contains("total"), "one kind needs no total row: {s}");
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }
}
