//! The client gateways and nodes use to reach meta. It is given any voter
//! addresses, remembers which one led last, follows "not leader" redirects,
//! and turns transport failures into `MetaError::Unavailable`.

use crate::meta_api::*;
use crate::transport::{RpcClient, RpcError};
use cairn_types::{AccessKey, Bucket, ObjectManifest, UploadRecord, VersionId};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Redirects and retries one meta call may follow before giving up.
pub const META_CALL_ATTEMPTS: usize = 8;
/// Pause between attempts when no voter answered as leader.
pub const META_RETRY_BACKOFF: Duration = Duration::from_millis(200);

#[derive(Clone, Debug)]
pub struct MetaClient {
    rpc: RpcClient,
    voters: Arc<Vec<String>>,
    /// Index into `voters` of the voter to try first.
    preferred: Arc<AtomicUsize>,
    /// The leader address learned from a redirect, if it is not in `voters`.
    learned: Arc<std::sync::Mutex<Option<String>>>,
}

impl MetaClient {
    pub fn new(rpc: RpcClient, voters: Vec<String>) -> Self {
        assert!(
            !voters.is_empty(),
            "a meta client needs at least one voter address"
        );
        Self {
            rpc,
            voters: Arc::new(voters),
            preferred: Arc::new(AtomicUsize::new(0)),
            learned: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    fn target(&self, attempt: usize) -> String {
        if let Ok(learned) = self.learned.lock()
            && let Some(addr) = learned.as_ref()
        {
            return addr.clone();
        }
        let i = (self.preferred.load(Ordering::Relaxed) + attempt) % self.voters.len();
        self.voters[i].clone()
    }

    fn remember(&self, addr: Option<String>) {
        if let Some(a) = &addr
            && let Some(i) = self.voters.iter().position(|v| v == a)
        {
            self.preferred.store(i, Ordering::Relaxed);
            if let Ok(mut l) = self.learned.lock() {
                *l = None;
            }
            return;
        }
        if let Ok(mut l) = self.learned.lock() {
            *l = addr;
        }
    }

    async fn call<Req, Resp>(&self, path: &str, req: &Req) -> Result<Resp, MetaError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let mut last_error = String::from("no voter tried");
        for attempt in 0..META_CALL_ATTEMPTS {
            let addr = self.target(attempt);
            match self
                .rpc
                .call::<Req, Result<Resp, MetaError>>(&addr, path, req)
                .await
            {
                Ok(Ok(resp)) => return Ok(resp),
                Ok(Err(MetaError::NotLeader { leader_addr })) => {
                    last_error = format!("{addr} is not the leader");
                    let known = leader_addr.is_some();
                    self.remember(leader_addr);
                    if !known {
                        tokio::time::sleep(META_RETRY_BACKOFF).await;
                    }
                }
                Ok(Err(MetaError::Unavailable(msg))) => {
                    last_error = msg;
                    tokio::time::sleep(META_RETRY_BACKOFF).await;
                }
                Ok(Err(e)) => return Err(e),
                Err(e @ (RpcError::Unreachable { .. } | RpcError::Timeout { .. })) => {
                    last_error = e.to_string();
                    self.remember(None);
                    self.preferred.store(
                        (self.preferred.load(Ordering::Relaxed) + 1) % self.voters.len(),
                        Ordering::Relaxed,
                    );
                    tokio::time::sleep(META_RETRY_BACKOFF).await;
                }
                Err(e) => return Err(MetaError::Internal(e.to_string())),
            }
        }
        Err(MetaError::Unavailable(last_error))
    }

    /// Replicates a command through Raft and returns what applying it did.
    pub async fn write(&self, cmd: &MetaCommand) -> Result<MetaResponse, MetaError> {
        self.call(META_WRITE_PATH, cmd).await
    }

    /// A linearizable read.
    pub async fn read(&self, query: &MetaQuery) -> Result<QueryResult, MetaError> {
        self.call(META_READ_PATH, query).await
    }

    pub async fn get_bucket(&self, name: &str) -> Result<Option<Bucket>, MetaError> {
        match self
            .read(&MetaQuery::GetBucket {
                name: name.to_string(),
            })
            .await?
        {
            QueryResult::Bucket(b) => Ok(b),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_buckets(&self) -> Result<Vec<Bucket>, MetaError> {
        match self.read(&MetaQuery::ListBuckets).await? {
            QueryResult::Buckets(b) => Ok(b),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn get_access_key(&self, id: &str) -> Result<Option<AccessKey>, MetaError> {
        match self
            .read(&MetaQuery::GetAccessKey {
                access_key_id: id.to_string(),
            })
            .await?
        {
            QueryResult::AccessKey(k) => Ok(k),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_access_keys(&self) -> Result<Vec<AccessKey>, MetaError> {
        match self.read(&MetaQuery::ListAccessKeys).await? {
            QueryResult::AccessKeys(k) => Ok(k),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_nodes(&self) -> Result<Vec<NodeRecord>, MetaError> {
        match self.read(&MetaQuery::ListNodes).await? {
            QueryResult::Nodes(n) => Ok(n),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectManifest>, MetaError> {
        let q = MetaQuery::GetObject {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::Object(o) => Ok(o),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_objects(&self, q: ListObjectsQuery) -> Result<ListObjectsPage, MetaError> {
        match self.read(&MetaQuery::ListObjects(q)).await? {
            QueryResult::ObjectPage(p) => Ok(p),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: VersionId,
    ) -> Result<Option<UploadRecord>, MetaError> {
        let q = MetaQuery::GetUpload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
        };
        match self.read(&q).await? {
            QueryResult::Upload(u) => Ok(u),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: VersionId,
    ) -> Result<Vec<PartSummary>, MetaError> {
        let q = MetaQuery::ListParts {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
        };
        match self.read(&q).await? {
            QueryResult::Parts(p) => Ok(p),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_uploads(
        &self,
        q: ListUploadsQuery,
    ) -> Result<(Vec<UploadRecord>, bool), MetaError> {
        match self.read(&MetaQuery::ListUploads(q)).await? {
            QueryResult::Uploads { uploads, truncated } => Ok((uploads, truncated)),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(r: &QueryResult) -> MetaError {
    MetaError::Internal(format!("unexpected answer from meta: {r:?}"))
}
