//! The gateway handle every S3 handler is given: the meta client, the data
//! path (`data::DataPath`: shard I/O, chunk budget, node health and the
//! cached view of the cluster) and the options the gateway was started with.
//! `impl Gateway` lives here only; handlers are free functions of `s3/`.

use crate::data::DataPath;
use cairn_rpc::{MetaClient, ShardClient};
use cairn_types::Redundancy;
use cairn_types::config::DataPathConfig;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub data_path: DataPathConfig,
    /// Region clients sign with (and GetBucketLocation reports).
    pub region: String,
    /// Redundancy of buckets created without an explicit choice.
    pub default_redundancy: Redundancy,
}

#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    meta: MetaClient,
    data: DataPath,
    opts: GatewayOptions,
}

impl Gateway {
    pub fn new(meta: MetaClient, shards: ShardClient, opts: GatewayOptions) -> Self {
        let data = DataPath::new(meta.clone(), shards, opts.data_path.clone());
        Self {
            inner: Arc::new(Inner { meta, data, opts }),
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
}
