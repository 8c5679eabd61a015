//! `cairn admin durability` and `cairn admin repair status|pause|resume|
//! throttle`: what the reconciler on the meta leader reports — every chunk
//! counted in its state (healthy, degraded, at risk, unreadable, misplaced),
//! the repair queue and the scrub — and the live repair settings kept in
//! meta (`ReconcileCommand::SetRepairSettings`), which every storage node's
//! mover follows. docs/repair.md describes the states and the settings.

use super::units::{RateError, human_bytes, human_duration, parse_rate};
use cairn_rpc::repair_api::{
    DurabilityReport, DurabilityRequest, ReconcileCommand, RepairSettings, RepairStatus,
    RepairStatusRequest, StateCount,
};
use cairn_rpc::{MetaClient, MetaCommand};
use clap::Subcommand;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AdminRepairCommand {
    /// The repair work: chunks queued, in progress and done (with bytes),
    /// the repair rate and when the queue will be empty at that rate, the
    /// throttle in force and whether repair is paused.
    Status {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop handing out repair work, cluster-wide (tasks in flight finish).
    /// Damaged pieces are still recorded and counted; nothing is rebuilt
    /// until `cairn admin repair resume`.
    Pause {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
    },
    /// Hand out repair work again after `cairn admin repair pause`.
    Resume {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
    },
    /// Set the bytes per second each storage node may move for repair,
    /// cluster-wide and live, overriding every node's
    /// `repair.max_bytes_per_sec`; `default` goes back to those.
    Throttle {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Bytes per second per node: 64MiB, 10M, 500k, 1048576 (k, M, G, T
        /// and KiB, MiB, … are powers of 1024; kB, MB, … powers of 1000), or
        /// `default`. To stop repair, use `pause`.
        rate: String,
    },
}

impl AdminRepairCommand {
    /// The config file the command names.
    pub fn config(&self) -> &Path {
        match self {
            Self::Status { config, .. }
            | Self::Pause { config }
            | Self::Resume { config }
            | Self::Throttle { config, .. } => config,
        }
    }
}

/// Runs a `cairn admin repair …` command; answers the text to print.
pub async fn run_repair(meta: &MetaClient, command: AdminRepairCommand) -> anyhow::Result<String> {
    match command {
        AdminRepairCommand::Status { json, .. } => {
            let status = meta.call(&RepairStatusRequest).await?;
            Ok(if json {
                serde_json::to_string_pretty(&status_json(&status))?
            } else {
                render_status(&status)
            })
        }
        AdminRepairCommand::Pause { .. } => {
            update_settings(meta, |s| s.paused = true).await?;
            Ok(
                "repair paused: no new tasks are handed out (tasks in flight finish); \
                `cairn admin repair resume` starts it again"
                    .into(),
            )
        }
        AdminRepairCommand::Resume { .. } => {
            update_settings(meta, |s| s.paused = false).await?;
            Ok("repair resumed".into())
        }
        AdminRepairCommand::Throttle { rate, .. } => {
            let rate = parse_rate(&rate).map_err(|e: RateError| anyhow::anyhow!("{e}"))?;
            let after = update_settings(meta, |s| s.max_bytes_per_sec = rate).await?;
            Ok(format!("repair throttle: {}", throttle_text(&after)))
        }
    }
}

/// Reads the settings in force, changes them with `change`, and writes them
/// through the Raft log; answers the settings written.
async fn update_settings(
    meta: &MetaClient,
    change: impl FnOnce(&mut RepairSettings),
) -> anyhow::Result<RepairSettings> {
    let mut settings = meta.call(&RepairStatusRequest).await?.settings;
    change(&mut settings);
    meta.write(&MetaCommand::Reconcile(
        ReconcileCommand::SetRepairSettings(settings),
    ))
    .await?;
    Ok(settings)
}

/// The throttle in force, as the status prints it.
fn throttle_text(settings: &RepairSettings) -> String {
    match settings.max_bytes_per_sec {
        Some(rate) => format!(
            "{}/s per node ({rate} bytes/s, set with `cairn admin repair throttle`)",
            human_bytes(rate)
        ),
        None => "per node config (each node's repair.max_bytes_per_sec)".into(),
    }
}

fn eta_text(eta: Option<u64>) -> String {
    match eta {
        Some(secs) => format!("about {}", human_duration(secs)),
        None => "-".into(),
    }
}

/// `cairn admin repair status` as text.
pub fn render_status(s: &RepairStatus) -> String {
    let mut out = String::new();
    let state = if s.settings.paused {
        "paused (no new tasks are handed out; `cairn admin repair resume`)"
    } else {
        "running"
    };
    let _ = writeln!(out, "repair:       {state}");
    let _ = writeln!(out, "throttle:     {}", throttle_text(&s.settings));
    let line = |chunks: u64, bytes: u64| {
        format!("{chunks} chunk(s), {} ({bytes} bytes)", human_bytes(bytes))
    };
    let _ = writeln!(
        out,
        "queued:       {}",
        line(s.queued_chunks, s.queued_bytes)
    );
    let _ = writeln!(
        out,
        "in progress:  {}",
        line(s.in_progress_chunks, s.in_progress_bytes)
    );
    let _ = writeln!(
        out,
        "done:         {} piece(s) re-created, {} ({} bytes)",
        s.done_chunks,
        human_bytes(s.done_bytes),
        s.done_bytes
    );
    let _ = writeln!(out, "rate:         {}/s", human_bytes(s.bytes_per_sec));
    let _ = writeln!(out, "eta:          {}", eta_text(s.eta_secs));
    out
}

/// `cairn admin repair status --json`.
pub fn status_json(s: &RepairStatus) -> Value {
    json!({
        "queued_chunks": s.queued_chunks,
        "queued_bytes": s.queued_bytes,
        "in_progress_chunks": s.in_progress_chunks,
        "in_progress_bytes": s.in_progress_bytes,
        "done_chunks": s.done_chunks,
        "done_bytes": s.done_bytes,
        "bytes_per_sec": s.bytes_per_sec,
        "eta_secs": s.eta_secs,
        "throttle_bytes_per_sec": s.settings.max_bytes_per_sec,
        "paused": s.settings.paused,
    })
}

/// Runs `cairn admin durability`; answers the text to print.
pub async fn run_durability(meta: &MetaClient, json: bool) -> anyhow::Result<String> {
    let report = meta.call(&DurabilityRequest).await?;
    Ok(if json {
        serde_json::to_string_pretty(&durability_json(&report))?
    } else {
        render_durability(&report, cairn_types::now_millis())
    })
}

fn count_json(c: &StateCount) -> Value {
    json!({ "chunks": c.chunks, "objects": c.objects, "bytes": c.bytes })
}

/// `cairn admin durability --json`: the states, each with chunks, objects
/// and bytes (degraded also `by_missing`), the repair queue and the scrub.
pub fn durability_json(r: &DurabilityReport) -> Value {
    let mut degraded = count_json(&r.degraded);
    let by_missing: Vec<Value> = r
        .degraded_by_missing
        .iter()
        .map(|(missing, c)| {
            json!({
                "missing": missing,
                "chunks": c.chunks,
                "objects": c.objects,
                "bytes": c.bytes,
            })
        })
        .collect();
    if let Value::Object(map) = &mut degraded {
        map.insert("by_missing".into(), Value::Array(by_missing));
    }
    json!({
        "healthy": count_json(&r.healthy),
        "degraded": degraded,
        "at_risk": count_json(&r.at_risk),
        "unreadable": count_json(&r.unreadable),
        "misplaced": count_json(&r.misplaced),
        "repair": {
            "queued_chunks": r.repair.queued_chunks,
            "queued_bytes": r.repair.queued_bytes,
            "bytes_per_sec": r.repair.bytes_per_sec,
            "eta_secs": r.repair.eta_secs,
        },
        "scrub": {
            "bytes_verified": r.scrub.bytes_verified,
            "pass_eta_secs": r.scrub.pass_eta_secs,
            "pass_started_ms": r.scrub.pass_started_ms,
            "damaged_found": r.scrub.damaged_found,
        },
        "computed_at": r.computed_at,
    })
}

/// `cairn admin durability` as text; `now_ms` dates the report and the scrub pass.
pub fn render_durability(r: &DurabilityReport, now_ms: i64) -> String {
    let now = u64::try_from(now_ms).unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "durability (computed {} by the meta leader)",
        super::units::age(u64::try_from(r.computed_at).ok(), now)
    );
    let _ = writeln!(
        out,
        "{:<14} {:>12} {:>12} {:>20} {:>12}",
        "state", "chunks", "objects", "bytes", ""
    );
    let row = |out: &mut String, name: &str, c: &StateCount| {
        let _ = writeln!(
            out,
            "{name:<14} {:>12} {:>12} {:>20} {:>12}",
            c.chunks,
            c.objects,
            c.bytes,
            human_bytes(c.bytes)
        );
    };
    row(&mut out, "healthy", &r.healthy);
    row(&mut out, "degraded", &r.degraded);
    for (missing, c) in &r.degraded_by_missing {
        row(&mut out, &format!("  missing {missing}"), c);
    }
    row(&mut out, "at_risk", &r.at_risk);
    row(&mut out, "unreadable", &r.unreadable);
    row(&mut out, "misplaced", &r.misplaced);
    let q = &r.repair;
    if q.queued_chunks == 0 && q.queued_bytes == 0 {
        let _ = writeln!(out, "\nrepair: nothing queued");
    } else {
        let _ = writeln!(
            out,
            "\nrepair: {} chunk(s) queued, {} ({} bytes); {}/s; done in {}",
            q.queued_chunks,
            human_bytes(q.queued_bytes),
            q.queued_bytes,
            human_bytes(q.bytes_per_sec),
            match q.eta_secs {
                Some(secs) => format!("about {}", human_duration(secs)),
                None => "- (nothing moving)".into(),
            }
        );
    }
    let s = &r.scrub;
    let pass = if s.pass_started_ms == 0 {
        "no pass started yet".to_string()
    } else {
        format!(
            "current pass started {}, {}",
            super::units::age(Some(s.pass_started_ms), now),
            match s.pass_eta_secs {
                Some(secs) => format!("ends in about {}", human_duration(secs)),
                None => "end unknown".into(),
            }
        )
    };
    let _ = writeln!(
        out,
        "scrub: {} verified; {pass}; {} damaged piece(s) found",
        human_bytes(s.bytes_verified),
        s.damaged_found
    );
    if r.at_risk.chunks > 0 || r.unreadable.chunks > 0 {
        let _ = writeln!(
            out,
            "\nat_risk chunks survive no further loss; unreadable chunks have lost data \
             (see docs/repair.md)"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_rpc::repair_api::{RepairSummary, ScrubSummary};

    fn count(chunks: u64, objects: u64, bytes: u64) -> StateCount {
        StateCount {
            chunks,
            objects,
            bytes,
        }
    }

    fn sample() -> DurabilityReport {
        DurabilityReport {
            healthy: count(100, 40, 400 << 20),
            degraded: count(12, 5, 48 << 20),
            degraded_by_missing: vec![(1, count(10, 4, 40 << 20)), (2, count(2, 1, 8 << 20))],
            at_risk: count(1, 1, 4 << 20),
            unreadable: count(0, 0, 0),
            misplaced: count(3, 2, 12 << 20),
            repair: RepairSummary {
                queued_chunks: 13,
                queued_bytes: 52 << 20,
                bytes_per_sec: 26 << 20,
                eta_secs: Some(2),
            },
            scrub: ScrubSummary {
                bytes_verified: 3 << 30,
                pass_eta_secs: None,
                pass_started_ms: 1_700_000_000_000,
                damaged_found: 2,
            },
            computed_at: 1_700_000_100_000,
        }
    }

    #[test]
    fn durability_json_has_the_interface_field_names() {
        let v = durability_json(&sample());
        let expected = json!({
            "healthy": {"chunks": 100, "objects": 40, "bytes": 400u64 << 20},
            "degraded": {
                "chunks": 12, "objects": 5, "bytes": 48u64 << 20,
                "by_missing": [
                    {"missing": 1, "chunks": 10, "objects": 4, "bytes": 40u64 << 20},
                    {"missing": 2, "chunks": 2, "objects": 1, "bytes": 8u64 << 20},
                ],
            },
            "at_risk": {"chunks": 1, "objects": 1, "bytes": 4u64 << 20},
            "unreadable": {"chunks": 0, "objects": 0, "bytes": 0},
            "misplaced": {"chunks": 3, "objects": 2, "bytes": 12u64 << 20},
            "repair": {
                "queued_chunks": 13, "queued_bytes": 52u64 << 20,
                "bytes_per_sec": 26u64 << 20, "eta_secs": 2,
            },
            "scrub": {
                "bytes_verified": 3u64 << 30, "pass_eta_secs": null,
                "pass_started_ms": 1_700_000_000_000u64, "damaged_found": 2,
            },
            "computed_at": 1_700_000_100_000u64,
        });
        assert_eq!(v, expected);
    }

    #[test]
    fn durability_text_lists_every_state_and_the_queues() {
        let text = render_durability(&sample(), 1_700_000_160_000);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "durability (computed 1m ago by the meta leader)");
        let row = |name: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(row("healthy "), "healthy 100 40 419430400 400.0 MiB");
        assert_eq!(row("degraded "), "degraded 12 5 50331648 48.0 MiB");
        assert_eq!(row("  missing 2"), "missing 2 2 1 8388608 8.0 MiB");
        assert_eq!(row("at_risk "), "at_risk 1 1 4194304 4.0 MiB");
        assert_eq!(row("unreadable "), "unreadable 0 0 0 0 B");
        assert_eq!(row("misplaced "), "misplaced 3 2 12582912 12.0 MiB");
        assert!(
            text.contains("repair: 13 chunk(s) queued, 52.0 MiB (54525952 bytes); 26.0 MiB/s; done in about 2s"),
            "{text}"
        );
        assert!(
            text.contains("scrub: 3.0 GiB verified; current pass started 2m ago, end unknown; 2 damaged piece(s) found"),
            "{text}"
        );
        assert!(text.contains("survive no further loss"), "{text}");
    }

    #[test]
    fn repair_status_shows_the_throttle_and_pause() {
        let mut s = RepairStatus {
            queued_chunks: 3,
            queued_bytes: 12 << 20,
            in_progress_chunks: 1,
            in_progress_bytes: 4 << 20,
            done_chunks: 7,
            done_bytes: 28 << 20,
            bytes_per_sec: 8 << 20,
            eta_secs: Some(2),
            settings: RepairSettings::default(),
        };
        let text = render_status(&s);
        assert!(text.contains("repair:       running"), "{text}");
        assert!(text.contains("per node config"), "{text}");
        assert!(
            text.contains("queued:       3 chunk(s), 12.0 MiB"),
            "{text}"
        );
        assert!(text.contains("in progress:  1 chunk(s), 4.0 MiB"), "{text}");
        assert!(
            text.contains("done:         7 piece(s) re-created, 28.0 MiB"),
            "{text}"
        );
        assert!(text.contains("rate:         8.0 MiB/s"), "{text}");
        assert!(text.contains("eta:          about 2s"), "{text}");
        s.settings = RepairSettings {
            paused: true,
            max_bytes_per_sec: Some(64 << 20),
        };
        let text = render_status(&s);
        assert!(text.contains("repair:       paused"), "{text}");
        assert!(text.contains("throttle:     64.0 MiB/s per node"), "{text}");
        let v = status_json(&s);
        assert_eq!(v["paused"], true);
        assert_eq!(v["throttle_bytes_per_sec"], 64u64 << 20);
        assert_eq!(v["queued_chunks"], 3);
        assert_eq!(v["in_progress_bytes"], 4u64 << 20);
        assert_eq!(v["done_bytes"], 28u64 << 20);
        assert_eq!(v["eta_secs"], 2);
        s.eta_secs = None;
        assert_eq!(status_json(&s)["eta_secs"], Value::Null);
        assert!(render_status(&s).contains("eta:          -"));
    }
}
