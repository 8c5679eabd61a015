//! `cairn admin key`: the cluster's tenants. Each access key is a tenant
//! that sees and touches only the buckets it holds a grant on: the ones it
//! created (it owns them) and the ones `key allow` gave it. Secrets are
//! shown once, by `key create`, and stored sealed with the cluster key
//! (`cluster.key_file`); `key list` and `key info` never print them.

use cairn_rpc::meta_reads as reads;
use cairn_rpc::sealed::ClusterKey;
use cairn_rpc::{MetaClient, MetaCommand};
use cairn_types::access::{ALL_BUCKETS, Grant};
use cairn_types::{AccessKey, now_millis};
use clap::Subcommand;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AdminKeyCommand {
    /// Create an access key and print its secret (shown this once). It can
    /// create buckets (and owns them) but reaches no other bucket until
    /// `key allow`. CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY choose the pair.
    Create {
        /// A name for the key (who or what uses it).
        name: String,
        /// Grant it every bucket, present and future (a root key).
        #[arg(long)]
        root: bool,
        #[arg(long)]
        config: PathBuf,
        /// The access key id to use (with CAIRN_SECRET_KEY).
        #[arg(long, env = "CAIRN_ACCESS_KEY", hide_env_values = true)]
        access_key: Option<String>,
        /// The secret to use (with CAIRN_ACCESS_KEY).
        #[arg(long, env = "CAIRN_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
    },
    /// Every key: id, name, created, and its grants (never secrets).
    List {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// One key and its grants.
    Info {
        key: String,
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Delete a key and its grants (its buckets stay, reachable by the
    /// other keys that hold grants on them and by root keys).
    Delete {
        key: String,
        #[arg(long)]
        config: PathBuf,
    },
    /// Grant a key read, write and/or owner rights on a bucket (replaces
    /// what it held there). `--bucket '*'` grants every bucket.
    Allow {
        key: String,
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        read: bool,
        #[arg(long)]
        write: bool,
        #[arg(long)]
        owner: bool,
        #[arg(long)]
        config: PathBuf,
    },
    /// Take away a key's grant on a bucket.
    Deny {
        key: String,
        #[arg(long)]
        bucket: String,
        #[arg(long)]
        config: PathBuf,
    },
}

impl AdminKeyCommand {
    pub fn config(&self) -> &Path {
        match self {
            Self::Create { config, .. }
            | Self::List { config, .. }
            | Self::Info { config, .. }
            | Self::Delete { config, .. }
            | Self::Allow { config, .. }
            | Self::Deny { config, .. } => config,
        }
    }
}

async fn key_of(meta: &MetaClient, id: &str) -> anyhow::Result<AccessKey> {
    meta.read(reads::GetAccessKey {
        access_key_id: id.to_string(),
    })
    .await?
    .ok_or_else(|| anyhow::anyhow!("no access key {id}"))
}

async fn grants_of(meta: &MetaClient, id: &str) -> anyhow::Result<Vec<(String, Grant)>> {
    Ok(meta
        .read(reads::GetGrants {
            access_key_id: id.to_string(),
        })
        .await?)
}

fn key_json(k: &AccessKey, grants: &[(String, Grant)]) -> serde_json::Value {
    json!({
        "access_key_id": k.access_key_id,
        "name": k.name,
        "created_ms": k.created,
        "grants": grants.iter().map(|(b, g)| json!({
            "bucket": b, "read": g.read, "write": g.write, "owner": g.owner,
        })).collect::<Vec<_>>(),
    })
}

fn key_text(k: &AccessKey, grants: &[(String, Grant)]) -> String {
    let mut out = format!("{}  {}\n", k.access_key_id, k.name);
    if grants.is_empty() {
        out.push_str("  (no buckets)\n");
    }
    for (b, g) in grants {
        let b = if b == ALL_BUCKETS {
            "* (every bucket)"
        } else {
            b
        };
        out.push_str(&format!("  {b}: {}\n", g.describe()));
    }
    out
}

/// Runs one `key` command; the text to print. `sealer` (the cluster key)
/// seals a new key's secret before it reaches meta.
pub async fn run_key(
    meta: &MetaClient,
    sealer: Option<&ClusterKey>,
    command: AdminKeyCommand,
) -> anyhow::Result<String> {
    match command {
        AdminKeyCommand::Create {
            name,
            root,
            access_key,
            secret_key,
            ..
        } => {
            let (id, secret) = match (access_key, secret_key) {
                (Some(a), Some(s)) => (a, s),
                (None, None) => crate::secrets::new_key_pair(),
                _ => anyhow::bail!("CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY must be given together"),
            };
            anyhow::ensure!(
                id.len() >= 3 && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "an access key id is letters and digits"
            );
            let existing = meta
                .read(reads::GetAccessKey {
                    access_key_id: id.clone(),
                })
                .await?;
            let sealer = sealer.ok_or_else(|| {
                anyhow::anyhow!(
                    "cluster.key_file must name the cluster key: secrets are stored sealed"
                )
            })?;
            match existing {
                Some(k) if sealer.open(&k.secret_key).as_deref() == Ok(secret.as_str()) => {}
                Some(_) => anyhow::bail!("access key {id} exists with another secret"),
                None => {
                    meta.write(&MetaCommand::PutAccessKey(AccessKey {
                        access_key_id: id.clone(),
                        secret_key: sealer.seal(&secret).map_err(anyhow::Error::msg)?,
                        name: name.clone(),
                        created: now_millis(),
                    }))
                    .await?;
                }
            }
            if root {
                meta.write(&MetaCommand::SetGrant {
                    access_key_id: id.clone(),
                    bucket: ALL_BUCKETS.into(),
                    grant: Some(Grant::FULL),
                })
                .await?;
            }
            Ok(format!(
                "access key:  {id}\nsecret key:  {secret}\nname:        {name}{}\n(the secret is shown this once)",
                if root { " (every bucket)" } else { "" }
            ))
        }
        AdminKeyCommand::List { json, .. } => {
            let mut keys = meta.read(reads::ListAccessKeys {}).await?;
            keys.sort_by(|a, b| {
                a.name
                    .cmp(&b.name)
                    .then(a.access_key_id.cmp(&b.access_key_id))
            });
            let mut rows = Vec::new();
            for k in &keys {
                rows.push((k, grants_of(meta, &k.access_key_id).await?));
            }
            if json {
                let all: Vec<_> = rows.iter().map(|(k, g)| key_json(k, g)).collect();
                return Ok(serde_json::to_string_pretty(&all)?);
            }
            Ok(rows.iter().map(|(k, g)| key_text(k, g)).collect())
        }
        AdminKeyCommand::Info { key, json, .. } => {
            let k = key_of(meta, &key).await?;
            let grants = grants_of(meta, &key).await?;
            if json {
                return Ok(serde_json::to_string_pretty(&key_json(&k, &grants))?);
            }
            Ok(key_text(&k, &grants))
        }
        AdminKeyCommand::Delete { key, .. } => {
            meta.write(&MetaCommand::DeleteAccessKey {
                access_key_id: key.clone(),
            })
            .await?;
            Ok(format!("access key {key} deleted"))
        }
        AdminKeyCommand::Allow {
            key,
            bucket,
            read,
            write,
            owner,
            ..
        } => {
            let grant = Grant { read, write, owner };
            anyhow::ensure!(
                !grant.is_empty(),
                "give at least one of --read, --write, --owner"
            );
            meta.write(&MetaCommand::SetGrant {
                access_key_id: key.clone(),
                bucket: bucket.clone(),
                grant: Some(grant),
            })
            .await?;
            Ok(format!("{key} on {bucket}: {}", grant.describe()))
        }
        AdminKeyCommand::Deny { key, bucket, .. } => {
            meta.write(&MetaCommand::SetGrant {
                access_key_id: key.clone(),
                bucket: bucket.clone(),
                grant: None,
            })
            .await?;
            Ok(format!("{key} on {bucket}: -"))
        }
    }
}
