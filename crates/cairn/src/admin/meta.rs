//! `cairn admin`: operator commands against a running cluster, reaching its
//! processes over the internal transport with the cluster secret from the
//! config file.

use cairn_meta::fault::{FaultSetting, META_FAULT_PATH};
use cairn_meta::server::{META_STATUS_PATH, MetaStatus};
use cairn_rpc::RpcClient;
use cairn_types::config::Config;
use serde::Serialize;

/// The group as `cairn admin meta status` reports it.
#[derive(Debug, Serialize)]
pub struct GroupStatus {
    /// The leader's member id, if a reachable voter knows one.
    pub leader: Option<u64>,
    /// Highest term any reachable voter reported.
    pub term: u64,
    /// Each configured voter's own report, or why it could not be read.
    pub voters: Vec<VoterReport>,
}

#[derive(Debug, Serialize)]
pub struct VoterReport {
    pub id: u64,
    pub addr: String,
    pub status: Option<MetaStatus>,
    pub error: Option<String>,
    /// On the leader's report: how many entries this voter is behind the leader's log.
    pub lag: Option<u64>,
}

/// Asks every configured voter for its view of the group.
pub async fn meta_status(config: &Config, rpc: &RpcClient) -> GroupStatus {
    let mut voters = Vec::new();
    for v in &config.cluster.meta_voters {
        let answer = rpc
            .get_text(&v.addr, META_STATUS_PATH)
            .await
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<MetaStatus>(&text).map_err(|e| e.to_string()));
        let (status, error) = match answer {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        let report = VoterReport {
            id: v.id,
            addr: v.addr.clone(),
            status,
            error,
            lag: None,
        };
        voters.push(report);
    }
    // A leader cut off from the others may still believe it leads: of
    // several claims, the one of the highest term is the real leader.
    let leader_report = voters
        .iter()
        .filter_map(|r| r.status.as_ref())
        .filter(|s| s.leader == Some(s.id))
        .max_by_key(|s| s.term)
        .cloned();
    let leader = leader_report.as_ref().map(|s| s.id).or_else(|| {
        voters
            .iter()
            .filter_map(|r| r.status.as_ref()?.leader)
            .next()
    });
    let term = voters
        .iter()
        .filter_map(|r| r.status.as_ref().map(|s| s.term))
        .max()
        .unwrap_or(0);
    if let Some(l) = &leader_report {
        let head = l.last_log_index.unwrap_or(0);
        for r in &mut voters {
            if let Some(matched) = l.matched.get(&r.id) {
                r.lag = Some(head.saturating_sub(matched.unwrap_or(0)));
            }
        }
    }
    GroupStatus {
        leader,
        term,
        voters,
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The human-readable table.
pub fn render(status: &GroupStatus) -> String {
    let mut out = format!("leader: {}   term: {}\n", opt(status.leader), status.term);
    out.push_str(&format!(
        "{:<4} {:<22} {:<10} {:>9} {:>9} {:>9} {:>6} {:>9}\n",
        "id", "address", "state", "last log", "commit", "applied", "lag", "snapshot"
    ));
    for r in &status.voters {
        match &r.status {
            Some(s) => out.push_str(&format!(
                "{:<4} {:<22} {:<10} {:>9} {:>9} {:>9} {:>6} {:>9}{}\n",
                r.id,
                r.addr,
                s.state,
                opt(s.last_log_index),
                opt(s.commit_index),
                opt(s.applied_index),
                opt(r.lag),
                opt(s.snapshot_index),
                if s.isolated { "  (isolated)" } else { "" }
            )),
            None => out.push_str(&format!(
                "{:<4} {:<22} unreachable: {}\n",
                r.id,
                r.addr,
                r.error.as_deref().unwrap_or("?")
            )),
        }
    }
    out
}

/// Cuts voter `id` off from the other voters (`isolated`) or reconnects it.
/// The voter must run with `meta.fault_injection = true`.
pub async fn set_isolation(
    config: &Config,
    rpc: &RpcClient,
    id: u64,
    isolated: bool,
) -> anyhow::Result<()> {
    let voter = config
        .cluster
        .meta_voters
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| anyhow::anyhow!("voter {id} is not in cluster.meta_voters"))?;
    let setting = FaultSetting { isolated };
    let answer: FaultSetting = rpc.call(&voter.addr, META_FAULT_PATH, &setting).await?;
    anyhow::ensure!(answer == setting, "voter {id} answered {answer:?}");
    Ok(())
}
