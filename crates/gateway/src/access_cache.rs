//! What the access check needs on every request, cached briefly: the
//! grants of the key that signed it and the policy of its bucket. Asking
//! meta each time would double the metadata reads of small operations. An
//! entry is trusted for `ACCESS_TTL` (so `cairn admin key allow|deny`, a new
//! bucket or a new policy is seen within that; the gateway that made a
//! change forgets its entry at once), and each cache holds at most
//! `ACCESS_CACHE_ENTRIES` entries (emptied when full).

use crate::errors::meta_error;
use cairn_rpc::MetaClient;
use cairn_rpc::meta_reads as reads;
use cairn_types::access::Grant;
use cairn_types::policy::BucketPolicy;
use s3s::S3Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached entry is trusted before meta is asked again.
pub const ACCESS_TTL: Duration = Duration::from_secs(1);
/// Entries each cache holds at once.
pub const ACCESS_CACHE_ENTRIES: usize = 4096;

pub type Grants = Arc<Vec<(String, Grant)>>;
/// A bucket's parsed policy (None: it has none).
pub type Policy = Option<Arc<BucketPolicy>>;

/// A map whose entries expire after `ACCESS_TTL`.
struct TtlMap<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlMap<V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, k: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (at, v) = entries.get(k)?;
        (at.elapsed() < ACCESS_TTL).then(|| v.clone())
    }

    fn put(&self, k: &str, at: Instant, v: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= ACCESS_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(k.to_string(), (at, v));
        }
    }

    fn forget(&self, k: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(k);
        }
    }
}

pub struct AccessCache {
    grants: TtlMap<Grants>,
    policies: TtlMap<Policy>,
}

impl Default for AccessCache {
    fn default() -> Self {
        Self {
            grants: TtlMap::new(),
            policies: TtlMap::new(),
        }
    }
}

impl AccessCache {
    /// `key`'s grants, from the cache or from meta.
    pub async fn grants(&self, meta: &MetaClient, key: &str) -> S3Result<Grants> {
        if let Some(g) = self.grants.get(key) {
            return Ok(g);
        }
        let at = Instant::now();
        let grants: Grants = Arc::new(
            meta.read(reads::GetGrants {
                access_key_id: key.to_string(),
            })
            .await
            .map_err(meta_error)?,
        );
        self.grants.put(key, at, grants.clone());
        Ok(grants)
    }

    /// `bucket`'s policy, from the cache or from meta. A stored document
    /// that no longer parses (it was checked when put) counts as none, and
    /// is logged.
    pub async fn policy(&self, meta: &MetaClient, bucket: &str) -> S3Result<Policy> {
        if let Some(p) = self.policies.get(bucket) {
            return Ok(p);
        }
        let at = Instant::now();
        let doc = meta
            .read(reads::GetBucketPolicy {
                bucket: bucket.to_string(),
            })
            .await
            .map_err(meta_error)?;
        let policy = doc.and_then(|d| match cairn_types::policy::parse(&d, bucket) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                tracing::error!(bucket, error = %e, "a stored bucket policy does not parse; ignored");
                None
            }
        });
        self.policies.put(bucket, at, policy.clone());
        Ok(policy)
    }

    pub fn forget_grants(&self, key: &str) {
        self.grants.forget(key);
    }

    pub fn forget_policy(&self, bucket: &str) {
        self.policies.forget(bucket);
    }
}
