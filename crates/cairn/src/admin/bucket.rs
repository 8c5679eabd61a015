//! `cairn admin bucket create|info|list|set-redundancy`: buckets and their
//! redundancy. `set-redundancy` changes a bucket's redundancy online: new
//! writes use it at once, and the reconciler re-encodes the bucket's
//! existing chunks in the background (same bytes, ETags and versions),
//! under the rebalance pause and throttle; `cairn admin rebalance status`
//! shows the progress. docs/rebalance.md walks through it.

use super::layout as layout_admin;
use super::units::human_bytes;
use anyhow::Context;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::rebalance_api::RebalanceStatusRequest;
use cairn_rpc::repair_api::ReconcileCommand;
use cairn_rpc::{MetaClient, MetaCommand};
use cairn_types::config::Config;
use cairn_types::{DefaultRedundancy, Redundancy};
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AdminBucketCommand {
    /// Create a bucket with a chosen redundancy (as CreateBucket with the
    /// x-cairn-redundancy header does).
    Create {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Bucket name (AWS's naming rules).
        name: String,
        /// replicas=N or ec=K+M [default: s3.default_redundancy of the
        /// config; `auto` is replicas=3 once the layout has 3 nodes, fewer
        /// below that].
        #[arg(long)]
        redundancy: Option<String>,
    },
    /// A bucket's redundancy, creation time, object count and bytes, and
    /// its re-encoding when its redundancy changed.
    Info {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Every bucket with its redundancy.
    List {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
    },
    /// Change a bucket's redundancy online: new writes use it at once; the
    /// bucket's existing objects are re-encoded in the background (same
    /// bytes, ETags and versions; readable throughout), paused and
    /// throttled with `cairn admin rebalance pause|resume|throttle`, and
    /// followed with `cairn admin rebalance status`.
    SetRedundancy {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        /// Bucket name.
        bucket: String,
        /// replicas=N or ec=K+M.
        redundancy: String,
    },
}

impl AdminBucketCommand {
    /// The config file the command names.
    pub fn config(&self) -> &Path {
        match self {
            Self::Create { config, .. }
            | Self::Info { config, .. }
            | Self::List { config }
            | Self::SetRedundancy { config, .. } => config,
        }
    }
}

/// Runs a `cairn admin bucket …` command; answers the text to print.
pub async fn run_bucket(
    config: &Config,
    meta: &MetaClient,
    command: AdminBucketCommand,
) -> anyhow::Result<String> {
    match command {
        AdminBucketCommand::Create {
            name, redundancy, ..
        } => {
            let redundancy = match redundancy {
                None => config.default_redundancy(),
                Some(text) => DefaultRedundancy::Fixed(parse(&text, "--redundancy")?),
            };
            let redundancy = layout_admin::create_bucket(meta, &name, redundancy).await?;
            Ok(format!("bucket {name} created with {redundancy}"))
        }
        AdminBucketCommand::Info { name, json, .. } => info(meta, &name, json).await,
        AdminBucketCommand::List { .. } => {
            let mut out = String::new();
            for b in meta.read(reads::ListBuckets {}).await? {
                out.push_str(&format!("{:<64} {}\n", b.name, b.redundancy));
            }
            Ok(out)
        }
        AdminBucketCommand::SetRedundancy {
            bucket, redundancy, ..
        } => {
            let to = parse(&redundancy, "redundancy")?;
            let from = meta
                .read(reads::GetBucket {
                    name: bucket.clone(),
                })
                .await?
                .with_context(|| format!("no bucket named {bucket}"))?
                .redundancy;
            if from == to {
                return Ok(format!("bucket {bucket} already has {to}: nothing to do"));
            }
            meta.write(&MetaCommand::Reconcile(
                ReconcileCommand::SetBucketRedundancy {
                    bucket: bucket.clone(),
                    redundancy: to,
                },
            ))
            .await
            .with_context(|| format!("changing the redundancy of {bucket} to {to}"))?;
            Ok(format!(
                "bucket {bucket}: {from} -> {to}. New writes use {to} now; its existing \
                 objects are re-encoded in the background (readable throughout): follow it \
                 with `cairn admin rebalance status`"
            ))
        }
    }
}

fn parse(text: &str, what: &str) -> anyhow::Result<Redundancy> {
    Redundancy::parse(text).with_context(|| format!("{what} {text}: expected replicas=N or ec=K+M"))
}

async fn info(meta: &MetaClient, name: &str, json: bool) -> anyhow::Result<String> {
    let bucket = meta
        .read(reads::GetBucket {
            name: name.to_string(),
        })
        .await?
        .with_context(|| format!("no bucket named {name}"))?;
    let (objects, bytes) = meta
        .read(reads::BucketUsage {
            name: name.to_string(),
        })
        .await?;
    // The re-encoding, as the leader reports it (None: none under way, or
    // no leader to ask).
    let reencode = meta
        .call(&RebalanceStatusRequest)
        .await
        .ok()
        .and_then(|s| s.reencode.into_iter().find(|r| r.bucket == name));
    if json {
        let info = serde_json::json!({
            "name": bucket.name,
            "created": bucket.created,
            "redundancy": bucket.redundancy.to_string(),
            "objects": objects,
            "bytes": bytes,
            "reencoding": reencode.as_ref().map(|r| serde_json::json!({
                "reencoded_chunks": r.reencoded_chunks,
                "reencoded_bytes": r.reencoded_bytes,
                "remaining_chunks": r.remaining_chunks,
                "remaining_bytes": r.remaining_bytes,
                "walk_complete": r.walk_complete,
            })),
        });
        return Ok(serde_json::to_string_pretty(&info)?);
    }
    let mut out = layout_admin::render_bucket(&bucket, objects, bytes);
    if let Some(r) = reencode {
        out.push_str(&format!(
            "re-encoding: {} chunks ({}) done, {} ({}) left{}\n",
            r.reencoded_chunks,
            human_bytes(r.reencoded_bytes),
            r.remaining_chunks,
            human_bytes(r.remaining_bytes),
            if r.walk_complete {
                ""
            } else {
                " so far (the first walk of the bucket is under way)"
            }
        ));
    }
    Ok(out)
}
