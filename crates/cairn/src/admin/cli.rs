//! `cairn admin …`: the operator's commands against a running cluster —
//! the meta group (status, membership, fault injection), the storage nodes
//! and the layout (list, assign, remove; show, plan, apply, revert),
//! buckets (create with a redundancy, info, list), the garbage
//! collector's horizon (reset), and self-healing (the durability report,
//! repair status, pause, resume and throttle, per-object inspect; in
//! `repair` and `inspect`). Every command reads the
//! cluster's voters and secret from a config file (any role's, or the
//! `DATA_DIR/cluster.toml` that `cairn server` writes).

use super::bucket::{self as bucket_admin, AdminBucketCommand};
use super::certs::{self, AdminCaCommand, AdminCertCommand};
use super::inspect::{self as inspect_admin, AdminObjectCommand};
use super::keys::{self, AdminKeyCommand};
use super::layout as layout_admin;
use super::rebalance::{self as rebalance_admin, AdminRebalanceCommand};
use super::repair::{self as repair_admin, AdminRepairCommand};
use super::{gc as gc_admin, meta as meta_admin, nodes as admin_nodes};
use crate::roles;
use anyhow::Context;
use cairn_rpc::MetaCommand;
use cairn_rpc::NodeStatusRequest;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::rebalance_api::RebalanceStatusRequest;
use cairn_rpc::tls::PeerRole;
use cairn_rpc::{LayoutChange, MetaClient};
use cairn_types::NodeId;
use cairn_types::config::Config;
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// Prints a line to stdout; a closed stdout (say, a pipe whose reader went
/// away) is not an error worth failing a command for.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// The meta group.
    Meta {
        #[command(subcommand)]
        command: AdminMetaCommand,
    },
    /// The storage nodes, and staging them into or out of the layout.
    Node {
        #[command(subcommand)]
        command: AdminNodeCommand,
    },
    /// The layout: which nodes own which partitions (review, plan, apply).
    Layout {
        #[command(subcommand)]
        command: AdminLayoutCommand,
    },
    /// Buckets and their redundancy.
    Bucket {
        #[command(subcommand)]
        command: AdminBucketCommand,
    },
    /// The shard garbage collector.
    Gc {
        #[command(subcommand)]
        command: AdminGcCommand,
    },
    /// How safe the data is: chunks, objects and bytes that are healthy,
    /// degraded (by how many pieces they lack), at risk (one more loss away
    /// from unreadable), unreadable or misplaced; the repair queue and the
    /// scrub pass. States are defined in docs/repair.md.
    Durability {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Repair (the reconciler): its status, pause and resume, its throttle.
    Repair {
        #[command(subcommand)]
        command: AdminRepairCommand,
    },
    /// Rebalancing (moves of misplaced pieces after a layout change): its
    /// status, pause and resume, its throttle.
    Rebalance {
        #[command(subcommand)]
        command: AdminRebalanceCommand,
    },
    /// Objects: where each chunk's pieces are, and their state.
    Object {
        #[command(subcommand)]
        command: AdminObjectCommand,
    },
    /// Access keys (tenants) and their grants on buckets.
    Key {
        #[command(subcommand)]
        command: AdminKeyCommand,
    },
    /// The cluster certificate authority (mutual TLS between roles).
    Ca {
        #[command(subcommand)]
        command: AdminCaCommand,
    },
    /// Role certificates from the cluster CA.
    Cert {
        #[command(subcommand)]
        command: AdminCertCommand,
    },
}

#[derive(Subcommand)]
pub enum AdminGcCommand {
    /// Put back a garbage-collection horizon that was set wrongly (ahead of
    /// real time: every PUT answers 503 until the clock catches up).
    ///
    /// Pauses collection on every node, waits 12 s so no node still acts on
    /// an earlier grant, then sets the horizon; nodes forget what they judged
    /// before, so nothing a PUT may still commit is deleted. If it fails
    /// midway, collection stays paused until it is run again.
    ResetHorizon {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// The new horizon, ms since the epoch [default: this machine's
        /// clock minus gc.grace_secs of the config]. The meta leader refuses
        /// one later than its clock.
        #[arg(long)]
        to_ms: Option<u64>,
    },
}

#[derive(Subcommand)]
pub enum AdminNodeCommand {
    /// List the registered storage nodes: id, address, zone, capacity, state
    /// (up/down, from heartbeats to the meta leader), last heartbeat age, disk
    /// use, and whether the node is in the layout.
    List {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stage registered nodes into the next layout (or change their zone or
    /// capacity). Nothing changes until `cairn admin layout apply`.
    Assign {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Ids of the nodes.
        #[arg(required_unless_present = "all_pending")]
        ids: Vec<NodeId>,
        /// Every registered node that is not in the layout and has no staged change.
        #[arg(long, conflicts_with = "ids")]
        all_pending: bool,
        /// Zone to place them in [default: as in the layout, else as registered].
        #[arg(long)]
        zone: Option<String>,
        /// Capacity in bytes, their weight in placement [default: as in the
        /// layout, else as registered]. 0 keeps a node in the layout without data.
        #[arg(long)]
        capacity: Option<u64>,
    },
    /// Stage nodes out of the next layout. After `cairn admin layout
    /// apply` a removed node drains: its pieces move to their new owners
    /// while it keeps serving reads (`node list` shows `draining`, then
    /// `removed` once the records name nothing on it).
    Remove {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Ids of the nodes.
        #[arg(required = true)]
        ids: Vec<NodeId>,
    },
}

#[derive(Subcommand)]
pub enum AdminLayoutCommand {
    /// The applied layout (epoch, nodes, partitions per node), registered
    /// nodes outside it, and the staged changes.
    Show {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What applying the staged changes would do: per node, partitions gained
    /// and lost, and the bytes of stored shards that would move in and out.
    Plan {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Partitions of the first layout; fixed from then on.
        #[arg(long, default_value_t = cairn_placement::DEFAULT_PARTITIONS)]
        partitions: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Apply the staged changes as the next layout epoch, with data stored
    /// or not: new data follows it at once, and pieces whose node is no
    /// longer an owner move there in the background (`cairn admin
    /// rebalance status`). Refused when fewer nodes would be left than a
    /// bucket's width.
    Apply {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Partitions of the first layout; fixed from then on.
        #[arg(long, default_value_t = cairn_placement::DEFAULT_PARTITIONS)]
        partitions: u32,
    },
    /// Drop every staged change.
    Revert {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum AdminMetaCommand {
    /// Show the leader, the term, and each voter's log, applied index and lag.
    ///
    /// Asks every voter in cluster.meta_voters (authenticated with
    /// cluster.secret). Exit code 1 when no voter knows a leader.
    Status {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Print JSON instead of a table (`leader` holds the leader's id).
        #[arg(long)]
        json: bool,
    },
    /// Add a voter online: it joins as a learner, catches up, then votes.
    ///
    /// Start the new `cairn meta` process first (its config lists every voter,
    /// itself included); then run this against the existing cluster.
    Add {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Raft id of the new voter.
        #[arg(long)]
        id: u64,
        /// Internal address of the new voter.
        #[arg(long)]
        addr: String,
    },
    /// Remove a voter online.
    Remove {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Raft id of the voter to remove.
        #[arg(long)]
        id: u64,
    },
    /// Cut a voter off from the other voters, as a network partition would,
    /// to try failover: its Raft traffic stops in both directions while it
    /// keeps answering clients (with "unavailable", never stale data).
    ///
    /// Only for voters started with meta.fault_injection = true (`cairn server
    /// --meta-voters N` does this). Undo with `cairn admin meta heal`.
    Isolate {
        /// A config file of the cluster (any role's); `cairn server` writes
        /// DATA_DIR/cluster.toml.
        #[arg(long)]
        config: PathBuf,
        /// Raft id of the voter to cut off.
        #[arg(long)]
        id: u64,
    },
    /// Reconnect a voter cut off by `cairn admin meta isolate`.
    Heal {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Raft id of the voter to reconnect.
        #[arg(long)]
        id: u64,
    },
}

/// Loads a role's config; roles of a multi-process cluster must name meta.
pub fn role_config(path: &Path) -> anyhow::Result<Config> {
    let config = Config::from_file(path)?;
    anyhow::ensure!(
        !config.cluster.meta_voters.is_empty(),
        "{}: cluster.meta_voters must list the meta voters",
        path.display()
    );
    anyhow::ensure!(
        config.tls.internal || config.cluster.secret.len() >= cairn_rpc::auth::MIN_SECRET_LEN,
        "{}: with tls.internal = false, cluster.secret must be set, at least {} characters, the same on every process",
        path.display(),
        cairn_rpc::auth::MIN_SECRET_LEN
    );
    Ok(config)
}

/// The config at `path` and a meta client for its cluster.
fn connect(path: &Path) -> anyhow::Result<(Config, MetaClient)> {
    let config = role_config(path)?;
    let meta = MetaClient::new(
        roles::rpc_client(&config, PeerRole::Admin)?,
        config.meta_addrs(),
    );
    Ok((config, meta))
}

/// Runs one admin command; the process exit code is 1 when it returns Err.
pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Meta { command } => run_meta(command).await,
        AdminCommand::Node { command } => run_node(command).await,
        AdminCommand::Layout { command } => run_layout(command).await,
        AdminCommand::Bucket { command } => {
            let (config, meta) = connect(command.config())?;
            say!(
                "{}",
                bucket_admin::run_bucket(&config, &meta, command)
                    .await?
                    .trim_end()
            );
            Ok(())
        }
        AdminCommand::Gc { command } => run_gc(command).await,
        AdminCommand::Durability { config, json } => {
            let (_, meta) = connect(&config)?;
            say!(
                "{}",
                repair_admin::run_durability(&meta, json).await?.trim_end()
            );
            Ok(())
        }
        AdminCommand::Repair { command } => {
            let (_, meta) = connect(command.config())?;
            say!(
                "{}",
                repair_admin::run_repair(&meta, command).await?.trim_end()
            );
            Ok(())
        }
        AdminCommand::Rebalance { command } => {
            let (_, meta) = connect(command.config())?;
            say!(
                "{}",
                rebalance_admin::run_rebalance(&meta, command)
                    .await?
                    .trim_end()
            );
            Ok(())
        }
        AdminCommand::Object { command } => run_object(command).await,
        AdminCommand::Key { command } => {
            let (config, meta) = connect(command.config())?;
            let sealer = roles::cluster_key(&config)?;
            say!(
                "{}",
                keys::run_key(&meta, sealer.as_ref(), command)
                    .await?
                    .trim_end()
            );
            Ok(())
        }
        AdminCommand::Ca { command } => {
            say!("{}", certs::run_ca(command)?);
            Ok(())
        }
        AdminCommand::Cert { command } => {
            say!("{}", certs::run_cert(command)?);
            Ok(())
        }
    }
}

async fn run_object(command: AdminObjectCommand) -> anyhow::Result<()> {
    match command {
        AdminObjectCommand::Inspect {
            config,
            bucket,
            key,
            version_id,
            json,
        } => {
            let (config, meta) = connect(&config)?;
            let mut object = inspect_admin::fetch(&meta, &bucket, &key, version_id).await?;
            let addrs = inspect_admin::node_addrs(&meta).await?;
            let shards = cairn_rpc::ShardClient::new(roles::rpc_client(&config, PeerRole::Admin)?);
            let unknown = inspect_admin::fill_last_verified(&shards, &addrs, &mut object).await;
            if json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&inspect_admin::to_json(&object))?
                );
            } else {
                let now = u64::try_from(cairn_types::now_millis()).unwrap_or(0);
                say!(
                    "{}",
                    inspect_admin::render(&object, &unknown, now).trim_end()
                );
            }
        }
    }
    Ok(())
}

async fn run_gc(command: AdminGcCommand) -> anyhow::Result<()> {
    match command {
        AdminGcCommand::ResetHorizon { config, to_ms } => {
            let (config, meta) = connect(&config)?;
            let now = cairn_types::shifted_now_ms(0);
            let target = to_ms
                .unwrap_or_else(|| now.saturating_sub(config.gc.grace_secs.saturating_mul(1000)));
            let (before, after) =
                gc_admin::reset_horizon(&meta, target, cairn_rpc::gc_api::GC_RESET_PAUSE, |line| {
                    say!("{line}")
                })
                .await?;
            say!(
                "horizon reset from {} to {}; garbage collection resumed (generation {})",
                gc_admin::describe(before.horizon_ms, now),
                gc_admin::describe(after.horizon_ms, now),
                after.generation
            );
        }
    }
    Ok(())
}

async fn run_meta(command: AdminMetaCommand) -> anyhow::Result<()> {
    match command {
        AdminMetaCommand::Status { config, json } => {
            let config = role_config(&config)?;
            let rpc = roles::rpc_client(&config, PeerRole::Admin)?;
            let status = meta_admin::meta_status(&config, &rpc).await;
            if json {
                say!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                say!("{}", meta_admin::render(&status).trim_end());
            }
            if status.leader.is_none() {
                std::process::exit(1);
            }
        }
        AdminMetaCommand::Add { config, id, addr } => {
            let (_, meta) = connect(&config)?;
            let voters = meta
                .call(&cairn_rpc::MembershipChange::Add { id, addr })
                .await?;
            say!("voters now: {voters:?}");
        }
        AdminMetaCommand::Remove { config, id } => {
            let (_, meta) = connect(&config)?;
            let voters = meta
                .call(&cairn_rpc::MembershipChange::Remove { id })
                .await?;
            say!("voters now: {voters:?}");
        }
        AdminMetaCommand::Isolate { config, id } => {
            let config = role_config(&config)?;
            let rpc = roles::rpc_client(&config, PeerRole::Admin)?;
            meta_admin::set_isolation(&config, &rpc, id, true).await?;
            say!("voter {id} is cut off from the other voters");
        }
        AdminMetaCommand::Heal { config, id } => {
            let config = role_config(&config)?;
            let rpc = roles::rpc_client(&config, PeerRole::Admin)?;
            meta_admin::set_isolation(&config, &rpc, id, false).await?;
            say!("voter {id} is reconnected");
        }
    }
    Ok(())
}

async fn run_node(command: AdminNodeCommand) -> anyhow::Result<()> {
    match command {
        AdminNodeCommand::List { config, json } => {
            let (_, meta) = connect(&config)?;
            let nodes = meta.call(&NodeStatusRequest).await?;
            let layout = meta.read(reads::GetLayout {}).await?;
            // Draining nodes' bytes left; the list stands without them.
            let rebalance = meta.call(&RebalanceStatusRequest).await.ok();
            let rebalance = rebalance.as_ref();
            if json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&admin_nodes::to_json(
                        &nodes, &layout, rebalance
                    ))?
                );
            } else {
                say!(
                    "{}",
                    admin_nodes::render(&nodes, &layout, rebalance).trim_end()
                );
            }
        }
        AdminNodeCommand::Assign {
            config,
            ids,
            all_pending,
            zone,
            capacity,
        } => {
            let (_, meta) = connect(&config)?;
            let ids = if all_pending {
                let layout = meta.read(reads::GetLayout {}).await?;
                let pending: Vec<NodeId> = meta
                    .read(reads::ListNodes {})
                    .await?
                    .iter()
                    .map(|n| n.id)
                    .filter(|id| admin_nodes::layout_role(&layout, *id, None) == "pending")
                    .collect();
                anyhow::ensure!(
                    !pending.is_empty(),
                    "no registered node is outside the layout"
                );
                pending
            } else {
                ids
            };
            for id in ids {
                meta.write(&MetaCommand::StageLayout(LayoutChange::Assign {
                    id,
                    zone: zone.clone(),
                    capacity,
                }))
                .await
                .with_context(|| format!("staging node {id}"))?;
                say!("node {id}: assignment staged");
            }
            say!("review with `cairn admin layout plan`, then `cairn admin layout apply`");
        }
        AdminNodeCommand::Remove { config, ids } => {
            let (_, meta) = connect(&config)?;
            for id in ids {
                meta.write(&MetaCommand::StageLayout(LayoutChange::Remove { id }))
                    .await
                    .with_context(|| format!("staging node {id}"))?;
                say!("node {id}: removal staged");
            }
            say!("review with `cairn admin layout plan`, then `cairn admin layout apply`");
        }
    }
    Ok(())
}

async fn run_layout(command: AdminLayoutCommand) -> anyhow::Result<()> {
    match command {
        AdminLayoutCommand::Show { config, json } => {
            let (config, meta) = connect(&config)?;
            let state = meta.read(reads::GetLayout {}).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&state)?);
            } else {
                let nodes = meta.call(&NodeStatusRequest).await?;
                let buckets = meta.read(reads::ListBuckets {}).await?;
                let placeable = state
                    .current
                    .as_ref()
                    .map_or(nodes.len(), |l| l.placeable_nodes());
                let default = config.default_redundancy().resolve(placeable);
                let width = layout_admin::reference_width(&buckets, default);
                say!(
                    "{}",
                    layout_admin::render_state(&state, &nodes, width).trim_end()
                );
            }
        }
        AdminLayoutCommand::Plan {
            config,
            partitions,
            json,
        } => {
            let (config, meta) = connect(&config)?;
            let (_, plan) =
                layout_admin::plan_staged(&meta, partitions, config.default_redundancy()).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                say!("{}", layout_admin::render_plan(&plan).trim_end());
            }
        }
        AdminLayoutCommand::Apply { config, partitions } => {
            let (_, meta) = connect(&config)?;
            let layout = layout_admin::apply_staged(&meta, partitions).await?;
            say!(
                "layout epoch {} applied: {} node(s), {} partitions; misplaced pieces move to \
                 their new owners in the background: watch `cairn admin rebalance status`",
                layout.epoch,
                layout.nodes.len(),
                layout.partitions
            );
        }
        AdminLayoutCommand::Revert { config } => {
            let (_, meta) = connect(&config)?;
            meta.write(&MetaCommand::StageLayout(LayoutChange::Revert))
                .await?;
            say!("staged layout changes dropped");
        }
    }
    Ok(())
}
