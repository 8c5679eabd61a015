//! `cairn admin rebalance status|pause|resume|throttle`: the moves of
//! misplaced pieces after a layout change, as the reconciler on the meta
//! leader reports them — the epoch being filled, bytes moved and left, the
//! rate and the ETA, each node's bytes in and out — and the live rebalance
//! settings kept in meta (`ReconcileCommand::SetRebalanceSettings`), which
//! every storage node's mover follows. Buckets being re-encoded to a new
//! redundancy (`cairn admin bucket set-redundancy`) are listed too, and
//! follow the same settings. docs/rebalance.md walks through it.

use super::units::{RateError, human_bytes, human_duration, parse_rate};
use cairn_rpc::rebalance_api::{RebalanceSettings, RebalanceStatus, RebalanceStatusRequest};
use cairn_rpc::repair_api::ReconcileCommand;
use cairn_rpc::{MetaClient, MetaCommand};
use clap::Subcommand;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AdminRebalanceCommand {
    /// The rebalance under way: the layout epoch being filled, bytes moved
    /// and to move, the rate and the ETA, bytes in and out per node, the
    /// throttle and whether it is paused; `done` once nothing is misplaced.
    Status {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop handing out moves of misplaced pieces, cluster-wide (moves in
    /// flight finish; repair goes on). Misplaced pieces stay readable.
    Pause {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
    },
    /// Hand out moves again after `cairn admin rebalance pause`.
    Resume {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
    },
    /// Set the bytes per second each storage node may move for rebalancing,
    /// cluster-wide and live, overriding every node's
    /// `repair.rebalance_bytes_per_sec`; `default` goes back to those.
    Throttle {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Bytes per second per node: 64MiB, 10M, 500k, 1048576 (k, M, G, T
        /// and KiB, MiB, … are powers of 1024; kB, MB, … powers of 1000), or
        /// `default`. To stop rebalancing, use `pause`.
        rate: String,
    },
}

impl AdminRebalanceCommand {
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

/// Runs a `cairn admin rebalance …` command; answers the text to print.
pub async fn run_rebalance(
    meta: &MetaClient,
    command: AdminRebalanceCommand,
) -> anyhow::Result<String> {
    match command {
        AdminRebalanceCommand::Status { json, .. } => {
            let status = meta.call(&RebalanceStatusRequest).await?;
            Ok(if json {
                serde_json::to_string_pretty(&status_json(&status))?
            } else {
                render_status(&status)
            })
        }
        AdminRebalanceCommand::Pause { .. } => {
            update_settings(meta, |s| s.paused = true).await?;
            Ok(
                "rebalancing paused: no new moves are handed out (moves in flight finish, \
                 repair goes on); `cairn admin rebalance resume` starts it again"
                    .into(),
            )
        }
        AdminRebalanceCommand::Resume { .. } => {
            update_settings(meta, |s| s.paused = false).await?;
            Ok("rebalancing resumed".into())
        }
        AdminRebalanceCommand::Throttle { rate, .. } => {
            let rate = parse_rate(&rate).map_err(|e: RateError| anyhow::anyhow!("{e}"))?;
            let after = update_settings(meta, |s| s.max_bytes_per_sec = rate).await?;
            Ok(format!("rebalance throttle: {}", throttle_text(&after)))
        }
    }
}

/// Reads the settings in force, changes them, writes them through the log.
async fn update_settings(
    meta: &MetaClient,
    change: impl FnOnce(&mut RebalanceSettings),
) -> anyhow::Result<RebalanceSettings> {
    let mut settings = meta.call(&RebalanceStatusRequest).await?.settings;
    change(&mut settings);
    meta.write(&MetaCommand::Reconcile(
        ReconcileCommand::SetRebalanceSettings(settings),
    ))
    .await?;
    Ok(settings)
}

fn throttle_text(settings: &RebalanceSettings) -> String {
    match settings.max_bytes_per_sec {
        Some(rate) => format!(
            "{}/s per node ({rate} bytes/s, set with `cairn admin rebalance throttle`)",
            human_bytes(rate)
        ),
        None => "per node config (each node's repair.rebalance_bytes_per_sec)".into(),
    }
}

/// `cairn admin rebalance status --json`.
pub fn status_json(s: &RebalanceStatus) -> Value {
    json!({
        "epoch": s.epoch,
        "moved_chunks": s.moved_chunks,
        "moved_bytes": s.moved_bytes,
        "total_bytes": s.total_bytes,
        "remaining_chunks": s.remaining_chunks,
        "remaining_bytes": s.remaining_bytes,
        "in_progress_chunks": s.in_progress_chunks,
        "in_progress_bytes": s.in_progress_bytes,
        "bytes_per_sec": s.bytes_per_sec,
        "eta_secs": s.eta_secs,
        "done": s.done,
        "swept_chunks": s.swept_chunks,
        "sweep_complete": s.sweep_complete,
        "paused": s.settings.paused,
        "throttle_bytes_per_sec": s.settings.max_bytes_per_sec,
        "nodes": s.nodes.iter().map(|n| json!({
            "id": n.id,
            "in_layout": n.in_layout,
            "in_bytes": n.in_bytes,
            "out_bytes": n.out_bytes,
            "pieces_held": n.pieces_held,
        })).collect::<Vec<_>>(),
        "reencode": s.reencode.iter().map(|r| json!({
            "bucket": r.bucket,
            "redundancy": r.redundancy,
            "reencoded_chunks": r.reencoded_chunks,
            "reencoded_bytes": r.reencoded_bytes,
            "remaining_chunks": r.remaining_chunks,
            "remaining_bytes": r.remaining_bytes,
            "walk_complete": r.walk_complete,
        })).collect::<Vec<_>>(),
    })
}

/// `cairn admin rebalance status` as text.
pub fn render_status(s: &RebalanceStatus) -> String {
    let mut out = String::new();
    let state = if s.done {
        "done: nothing is misplaced".to_string()
    } else if !s.sweep_complete {
        format!(
            "looking for misplaced pieces ({} chunk record(s) judged so far)",
            s.swept_chunks
        )
    } else if s.settings.paused {
        "paused (no new moves are handed out; `cairn admin rebalance resume`)".into()
    } else {
        "moving".into()
    };
    let _ = writeln!(out, "layout epoch {}: {state}", s.epoch);
    let pct = if s.total_bytes > 0 {
        s.moved_bytes as f64 * 100.0 / s.total_bytes as f64
    } else {
        100.0
    };
    let _ = writeln!(
        out,
        "moved:       {} of {} ({pct:.1}%), {} piece(s)",
        human_bytes(s.moved_bytes),
        human_bytes(s.total_bytes),
        s.moved_chunks
    );
    let _ = writeln!(
        out,
        "left:        {} in {} piece(s), {} piece(s) moving now",
        human_bytes(s.remaining_bytes),
        s.remaining_chunks,
        s.in_progress_chunks
    );
    let eta = s
        .eta_secs
        .map_or("-".to_string(), |e| format!("about {}", human_duration(e)));
    let _ = writeln!(
        out,
        "rate:        {}/s, done in {eta}",
        human_bytes(s.bytes_per_sec)
    );
    let _ = writeln!(out, "throttle:    {}", throttle_text(&s.settings));
    let _ = writeln!(
        out,
        "{:<4} {:<10} {:>12} {:>12} {:>12}",
        "id", "role", "in", "out", "pieces left"
    );
    for n in &s.nodes {
        let role = match (n.in_layout, n.pieces_held) {
            (true, _) => "owner",
            (false, Some(0)) => "removed",
            (false, _) => "draining",
        };
        let _ = writeln!(
            out,
            "{:<4} {:<10} {:>12} {:>12} {:>12}",
            n.id,
            role,
            human_bytes(n.in_bytes),
            human_bytes(n.out_bytes),
            n.pieces_held.map_or("-".into(), |p| p.to_string())
        );
    }
    for r in &s.reencode {
        let _ = writeln!(
            out,
            "re-encoding bucket {} to {}: {} chunk(s) ({}) done, {} ({}) left{}",
            r.bucket,
            r.redundancy,
            r.reencoded_chunks,
            human_bytes(r.reencoded_bytes),
            r.remaining_chunks,
            human_bytes(r.remaining_bytes),
            if r.walk_complete { "" } else { " so far" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_rpc::rebalance_api::RebalanceNode;

    #[test]
    fn status_names_progress_eta_and_each_node() {
        let s = RebalanceStatus {
            epoch: 3,
            moved_chunks: 10,
            moved_bytes: 3 << 20,
            total_bytes: 4 << 20,
            remaining_chunks: 4,
            remaining_bytes: 1 << 20,
            bytes_per_sec: 1 << 20,
            eta_secs: Some(1),
            sweep_complete: true,
            nodes: vec![
                RebalanceNode {
                    id: 1,
                    in_layout: true,
                    in_bytes: 1 << 20,
                    ..Default::default()
                },
                RebalanceNode {
                    id: 5,
                    out_bytes: 1 << 20,
                    pieces_held: Some(4),
                    ..Default::default()
                },
                RebalanceNode {
                    id: 6,
                    pieces_held: Some(0),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let s = RebalanceStatus {
            reencode: vec![cairn_rpc::rebalance_api::ReencodeStatus {
                bucket: "media".into(),
                redundancy: "ec=4+2".into(),
                reencoded_chunks: 3,
                reencoded_bytes: 3 << 20,
                remaining_chunks: 1,
                remaining_bytes: 1 << 20,
                walk_complete: true,
            }],
            ..s
        };
        let text = render_status(&s);
        assert!(text.starts_with("layout epoch 3: moving"), "{text}");
        assert!(
            text.contains(
                "re-encoding bucket media to ec=4+2: 3 chunk(s) (3.0 MiB) done, 1 (1.0 MiB) left"
            ),
            "{text}"
        );
        assert!(text.contains("(75.0%)"), "{text}");
        assert!(text.contains("done in about"), "{text}");
        assert!(text.contains("5    draining"), "{text}");
        assert!(text.contains("6    removed"), "{text}");
        let v = status_json(&s);
        for field in [
            "epoch",
            "moved_bytes",
            "total_bytes",
            "bytes_per_sec",
            "eta_secs",
            "done",
        ] {
            assert!(v.get(field).is_some(), "{field}");
        }
        assert_eq!(v["reencode"][0]["remaining_bytes"], 1 << 20);
        assert_eq!(v["done"], false);
        let done = RebalanceStatus {
            done: true,
            sweep_complete: true,
            ..s
        };
        assert!(render_status(&done).contains("done: nothing is misplaced"));
    }
}
