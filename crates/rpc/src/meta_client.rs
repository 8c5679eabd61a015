//! The client gateways and nodes use to reach meta. It is given any voter
//! addresses, remembers which one led last, follows "not leader" redirects,
//! and turns transport failures into `MetaError::Unavailable`.

use crate::health_api::{Heartbeat, META_HEARTBEAT_PATH, META_NODE_STATUS_PATH, NodeStatus};
use crate::meta_api::*;
use crate::transport::{RpcClient, RpcError};
use cairn_types::{
    AccessKey, Bucket, ClusterLayout, CorsConfiguration, LayoutState, LifecycleConfiguration,
    ObjectExtras, ObjectManifest, ObjectVersionId, StoredChecksum, Tag, UploadExtras, UploadRecord,
    UsageGroup, VersionId, VersioningStatus,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long one meta call keeps retrying (redirects, elections, unreachable
/// voters) before it reports the metadata service unavailable. Longer than an
/// election, so a leader change costs latency, not an error.
pub const META_CALL_DEADLINE: Duration = Duration::from_secs(10);
/// Pause between attempts when no voter answered as leader.
pub const META_RETRY_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct MetaClient {
    rpc: RpcClient,
    voters: Arc<Vec<String>>,
    /// The voter that answered last (the leader, as far as we know).
    leader_hint: Arc<std::sync::Mutex<Option<String>>>,
    /// Where rotation over `voters` continues after a failure.
    rotation: Arc<AtomicUsize>,
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
            leader_hint: Arc::new(std::sync::Mutex::new(None)),
            rotation: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn hint(&self) -> Option<String> {
        self.leader_hint.lock().ok().and_then(|h| h.clone())
    }

    fn set_hint(&self, addr: Option<String>) {
        if let Ok(mut h) = self.leader_hint.lock() {
            *h = addr;
        }
    }

    /// The next voter in rotation.
    fn rotate(&self) -> String {
        let i = self.rotation.fetch_add(1, Ordering::Relaxed) % self.voters.len();
        self.voters[i].clone()
    }

    /// The next voter in rotation other than `failed` (when there is another):
    /// a voter that just timed out waiting for a majority is not asked again
    /// straight away.
    fn rotate_past(&self, failed: &str) -> String {
        for _ in 0..self.voters.len() {
            let next = self.rotate();
            if next != failed {
                return next;
            }
        }
        self.rotate()
    }

    /// Sends one call to the leader: tries the last known leader first,
    /// follows "not leader" redirects straight to the named leader, and moves
    /// on to the next voter when one cannot be reached or knows no leader.
    async fn call<Req, Resp>(&self, path: &str, req: &Req) -> Result<Resp, MetaError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        self.call_tracked(path, req).await.0
    }

    /// `call`, and whether an attempt before the answer may have been acted
    /// on unseen (a voter gave up waiting for a majority after appending, a
    /// request timed out, or a connection broke after sending).
    async fn call_tracked<Req, Resp>(
        &self,
        path: &str,
        req: &Req,
    ) -> (Result<Resp, MetaError>, bool)
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let mut maybe_acted = false;
        let mut last_error = String::from("no voter tried");
        let deadline = tokio::time::Instant::now() + META_CALL_DEADLINE;
        let mut target = self.hint().unwrap_or_else(|| self.rotate());
        // Unsuccessful attempts; after each round as long as the voter list, pause.
        let mut failures = 0usize;
        while tokio::time::Instant::now() < deadline {
            let next = match self
                .rpc
                .call::<Req, Result<Resp, MetaError>>(&target, path, req)
                .await
            {
                Ok(Ok(resp)) => {
                    self.set_hint(Some(target));
                    return (Ok(resp), maybe_acted);
                }
                Ok(Err(MetaError::NotLeader {
                    leader_addr: Some(leader),
                })) if leader != target => {
                    last_error = format!("{target} is not the leader");
                    failures += 1;
                    leader
                }
                Ok(Err(MetaError::NotLeader { .. })) => {
                    last_error = format!("{target} knows no leader");
                    failures += 1;
                    self.rotate()
                }
                Ok(Err(MetaError::Unavailable(msg))) => {
                    maybe_acted = true;
                    last_error = msg;
                    failures += 1;
                    self.set_hint(None);
                    self.rotate_past(&target)
                }
                Ok(Err(e)) => return (Err(e), maybe_acted),
                Err(
                    e @ (RpcError::Unreachable { .. }
                    | RpcError::Broken { .. }
                    | RpcError::Timeout { .. }),
                ) => {
                    maybe_acted |= !matches!(e, RpcError::Unreachable { .. });
                    last_error = e.to_string();
                    failures += 1;
                    self.set_hint(None);
                    self.rotate_past(&target)
                }
                Err(e) => return (Err(MetaError::Internal(e.to_string())), maybe_acted),
            };
            if failures.is_multiple_of(self.voters.len()) {
                tokio::time::sleep(META_RETRY_BACKOFF).await;
            }
            target = next;
        }
        (Err(MetaError::Unavailable(last_error)), maybe_acted)
    }

    /// Replicates a command through Raft and returns what applying it did.
    ///
    /// Every command answers a repeat as its first application did, except
    /// two deletes whose target the first application removed: when an
    /// earlier attempt may have been applied unseen, DeleteBucket's
    /// NoSuchBucket and a conditional DeleteObject's NoSuchKey mean the
    /// thing is gone, which is what was asked, so they answer success.
    pub async fn write(&self, cmd: &MetaCommand) -> Result<MetaResponse, MetaError> {
        let (result, maybe_applied) = self.call_tracked(META_WRITE_PATH, cmd).await;
        match (cmd, result) {
            (MetaCommand::DeleteBucket { .. }, Err(MetaError::NoSuchBucket)) if maybe_applied => {
                Ok(MetaResponse::Done)
            }
            (
                MetaCommand::DeleteObject {
                    if_match: Some(_), ..
                },
                Err(MetaError::NoSuchKey),
            ) if maybe_applied => Ok(MetaResponse::Replaced(None)),
            (
                MetaCommand::DeleteObjectVersion {
                    if_match: Some(_),
                    version,
                    ..
                },
                Err(MetaError::NoSuchKey),
            ) if maybe_applied => Ok(MetaResponse::Deleted(DeleteOutcome {
                removed: None,
                version_id: *version,
                delete_marker: false,
            })),
            (_, result) => result,
        }
    }

    /// Changes the voters of the group; answers the voter ids afterwards.
    pub async fn change_membership(
        &self,
        change: &MembershipChange,
    ) -> Result<Vec<u64>, MetaError> {
        self.call(META_MEMBERSHIP_PATH, change).await
    }

    /// Tells the meta leader this node is alive (soft state, not logged).
    pub async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), MetaError> {
        self.call(META_HEARTBEAT_PATH, beat).await
    }

    /// Every registered node with its liveness, as the meta leader sees it.
    pub async fn node_status(&self) -> Result<Vec<NodeStatus>, MetaError> {
        self.call(META_NODE_STATUS_PATH, &()).await
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

    /// An object's manifest with its extras (tags, checksum).
    pub async fn get_object_with_extras(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectManifest, ObjectExtras)>, MetaError> {
        let q = MetaQuery::GetObjectWithExtras {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::ObjectWithExtras(o) => Ok(o),
            other => Err(unexpected(&other)),
        }
    }

    /// A bucket's versioning state (None: never enabled).
    pub async fn bucket_versioning(
        &self,
        bucket: &str,
    ) -> Result<Option<VersioningStatus>, MetaError> {
        let q = MetaQuery::GetBucketVersioning {
            bucket: bucket.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::BucketVersioning(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// One version of an object (None: the current one) with its extras.
    pub async fn get_object_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<ObjectVersionId>,
    ) -> Result<VersionLookup, MetaError> {
        let q = MetaQuery::GetObjectVersion {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version,
        };
        match self.read(&q).await? {
            QueryResult::ObjectVersion(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn list_object_versions(
        &self,
        q: ListVersionsQuery,
    ) -> Result<ListVersionsPage, MetaError> {
        match self.read(&MetaQuery::ListObjectVersions(q)).await? {
            QueryResult::VersionPage(p) => Ok(p),
            other => Err(unexpected(&other)),
        }
    }

    /// A bucket's tag set (empty when it has none).
    pub async fn get_bucket_tags(&self, bucket: &str) -> Result<Vec<Tag>, MetaError> {
        let q = MetaQuery::GetBucketTags {
            bucket: bucket.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::BucketTags(t) => Ok(t),
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

    /// An upload with its extras (checksum algorithm, tags).
    pub async fn get_upload_with_extras(
        &self,
        bucket: &str,
        key: &str,
        upload_id: VersionId,
    ) -> Result<Option<(UploadRecord, UploadExtras)>, MetaError> {
        let q = MetaQuery::GetUploadWithExtras {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
        };
        match self.read(&q).await? {
            QueryResult::UploadWithExtras(u) => Ok(u),
            other => Err(unexpected(&other)),
        }
    }

    /// The parts of an upload with their stored checksums, and the upload's extras.
    #[allow(clippy::type_complexity)]
    pub async fn list_parts_with_checksums(
        &self,
        bucket: &str,
        key: &str,
        upload_id: VersionId,
    ) -> Result<(Vec<(PartSummary, Option<StoredChecksum>)>, UploadExtras), MetaError> {
        let q = MetaQuery::ListPartsWithChecksums {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
        };
        match self.read(&q).await? {
            QueryResult::PartsWithChecksums { parts, extras } => Ok((parts, extras)),
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

impl MetaClient {
    /// Moves the garbage-collection horizon to at least `horizon_ms`; answers
    /// the horizon now in force.
    pub async fn advance_gc_horizon(&self, horizon_ms: u64) -> Result<u64, MetaError> {
        match self
            .write(&MetaCommand::AdvanceGcHorizon { horizon_ms })
            .await?
        {
            MetaResponse::GcHorizon(h) => Ok(h),
            other => Err(MetaError::Internal(format!(
                "unexpected answer from meta: {other:?}"
            ))),
        }
    }

    /// The versions among `versions` that nothing references (linearizable).
    pub async fn unreferenced_versions(
        &self,
        versions: Vec<VersionId>,
    ) -> Result<Vec<VersionId>, MetaError> {
        match self
            .read(&MetaQuery::UnreferencedVersions { versions })
            .await?
        {
            QueryResult::Unreferenced(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }
}

impl MetaClient {
    /// The applied layout and the staged changes.
    pub async fn layout(&self) -> Result<LayoutState, MetaError> {
        match self.read(&MetaQuery::GetLayout).await? {
            QueryResult::Layout(l) => Ok(l),
            other => Err(unexpected(&other)),
        }
    }

    /// The applied layout's epoch (0 before the first).
    pub async fn layout_epoch(&self) -> Result<u64, MetaError> {
        match self.read(&MetaQuery::LayoutEpoch).await? {
            QueryResult::LayoutEpoch(e) => Ok(e),
            other => Err(unexpected(&other)),
        }
    }

    /// Where the stored shards are (a scan of every manifest: admin use only).
    pub async fn layout_usage(&self) -> Result<Vec<UsageGroup>, MetaError> {
        match self.read(&MetaQuery::LayoutUsage).await? {
            QueryResult::Usage(u) => Ok(u),
            other => Err(unexpected(&other)),
        }
    }

    /// Objects in a bucket and their bytes.
    pub async fn bucket_usage(&self, name: &str) -> Result<(u64, u64), MetaError> {
        let q = MetaQuery::BucketUsage {
            name: name.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::BucketUsage { objects, bytes } => Ok((objects, bytes)),
            other => Err(unexpected(&other)),
        }
    }

    /// A bucket's CORS configuration; NoSuchBucket when it does not exist.
    pub async fn bucket_cors(&self, bucket: &str) -> Result<Option<CorsConfiguration>, MetaError> {
        let q = MetaQuery::GetBucketCors {
            bucket: bucket.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::BucketCors(c) => Ok(c),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets (Some) or deletes (None) a bucket's CORS configuration.
    pub async fn set_bucket_cors(
        &self,
        bucket: &str,
        config: Option<CorsConfiguration>,
    ) -> Result<(), MetaError> {
        self.write(&MetaCommand::SetBucketCors {
            bucket: bucket.to_string(),
            config,
        })
        .await?;
        Ok(())
    }

    /// A bucket's lifecycle configuration; NoSuchBucket when it does not exist.
    pub async fn bucket_lifecycle(
        &self,
        bucket: &str,
    ) -> Result<Option<LifecycleConfiguration>, MetaError> {
        let q = MetaQuery::GetBucketLifecycle {
            bucket: bucket.to_string(),
        };
        match self.read(&q).await? {
            QueryResult::BucketLifecycle(c) => Ok(c),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets (Some) or deletes (None) a bucket's lifecycle configuration.
    pub async fn set_bucket_lifecycle(
        &self,
        bucket: &str,
        config: Option<LifecycleConfiguration>,
    ) -> Result<(), MetaError> {
        self.write(&MetaCommand::SetBucketLifecycle {
            bucket: bucket.to_string(),
            config,
        })
        .await?;
        Ok(())
    }

    pub async fn stage_layout(&self, change: LayoutChange) -> Result<(), MetaError> {
        self.write(&MetaCommand::StageLayout(change)).await?;
        Ok(())
    }

    pub async fn apply_layout(&self, layout: ClusterLayout) -> Result<(), MetaError> {
        self.write(&MetaCommand::ApplyLayout(layout)).await?;
        Ok(())
    }
}

fn unexpected(r: &QueryResult) -> MetaError {
    MetaError::Internal(format!("unexpected answer from meta: {r:?}"))
}
