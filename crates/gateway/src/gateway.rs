//! The gateway handle every S3 handler is given: the meta client, the data
//! path (`data::DataPath`: shard I/O, chunk budgets, node health and the
//! cached view of the cluster), the options the gateway was started with,
//! the cached health answer, the cached grants of signing keys and
//! policies of buckets, and the memory budget of POST uploads.
//! `impl Gateway` lives here only; handlers are free functions of `s3/`.

use crate::access_cache::AccessCache;
use crate::data::DataPath;
use crate::health_cache::HealthCache;
use cairn_rpc::{MetaClient, ShardClient};
use cairn_types::DefaultRedundancy;
use cairn_types::config::DataPathConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub data_path: DataPathConfig,
    /// Region clients sign with (and GetBucketLocation reports).
    pub region: String,
    /// Redundancy of buckets created without an explicit choice (`auto`
    /// resolves against the layout at CreateBucket).
    pub default_redundancy: DefaultRedundancy,
    /// How long a request body may send nothing (400 RequestTimeout).
    pub client_read_timeout: Duration,
    /// Largest file of a POST object upload.
    pub post_object_max_bytes: u64,
    /// Bytes of POST object requests buffered at once.
    pub post_object_memory_bytes: u64,
    /// Opens the sealed secrets of access keys (None: only secrets stored
    /// unsealed by older builds can be checked).
    pub cluster_key: Option<Arc<cairn_rpc::sealed::ClusterKey>>,
}

/// Unit of the POST upload budget's permits.
pub const POST_BUDGET_UNIT: u64 = 1024;

#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    meta: MetaClient,
    data: DataPath,
    opts: GatewayOptions,
    health: HealthCache,
    /// POST upload bytes buffered, in `POST_BUDGET_UNIT`s.
    post_budget: Arc<Semaphore>,
    /// Signing keys' grants and buckets' policies (`access_cache`).
    access: AccessCache,
}

impl Gateway {
    pub fn new(meta: MetaClient, shards: ShardClient, opts: GatewayOptions) -> Self {
        let data = DataPath::new(meta.clone(), shards, opts.data_path.clone());
        let units = opts.post_object_memory_bytes.div_ceil(POST_BUDGET_UNIT);
        let post_budget = Arc::new(Semaphore::new(
            usize::try_from(units)
                .unwrap_or(Semaphore::MAX_PERMITS)
                .min(Semaphore::MAX_PERMITS),
        ));
        Self {
            inner: Arc::new(Inner {
                meta,
                data,
                opts,
                health: HealthCache::new(),
                post_budget,
                access: AccessCache::default(),
            }),
        }
    }

    pub fn meta(&self) -> &MetaClient {
        &self.inner.meta
    }

    /// Where object bytes go and come from.
    pub fn data(&self) -> &DataPath {
        &self.inner.data
    }

    pub fn opts(&self) -> &GatewayOptions {
        &self.inner.opts
    }

    /// The grants of access key `key` (cached for `access_cache::ACCESS_TTL`).
    pub async fn grants(&self, key: &str) -> s3s::S3Result<crate::access_cache::Grants> {
        self.inner.access.grants(&self.inner.meta, key).await
    }

    /// The policy of `bucket` (cached likewise).
    pub async fn policy(&self, bucket: &str) -> s3s::S3Result<crate::access_cache::Policy> {
        self.inner.access.policy(&self.inner.meta, bucket).await
    }

    /// Drops the cached grants of `key` (this gateway just changed them).
    pub fn forget_grants(&self, key: &str) {
        self.inner.access.forget_grants(key);
    }

    /// Drops the cached policy of `bucket` (this gateway just changed it).
    pub fn forget_policy(&self, bucket: &str) {
        self.inner.access.forget_policy(bucket);
    }

    /// The outcome of the last meta checks, for the public `/health`.
    pub fn health(&self) -> &HealthCache {
        &self.inner.health
    }

    /// The memory budget of POST uploads, in `POST_BUDGET_UNIT`s.
    pub fn post_budget(&self) -> &Arc<Semaphore> {
        &self.inner.post_budget
    }
}
