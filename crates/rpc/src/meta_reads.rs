//! Typed meta reads: one small request type per `MetaQuery`, each naming the
//! answer it gets, so a caller writes `meta.read(GetBucket { name }).await`
//! and receives an `Option<Bucket>`, never a `QueryResult` to match. The wire
//! format stays the `MetaQuery` / `QueryResult` pair of `meta_api`; this
//! module only maps each request onto its variant and back.

use crate::meta_api::{
    ListObjectsPage, ListObjectsQuery, ListUploadsQuery, ListVersionsPage, ListVersionsQuery,
    MetaQuery, NodeRecord, PartSummary, QueryResult, VersionLookup,
};
use crate::repair_api::ShardVerdict;
use cairn_types::{
    AccessKey, Bucket, ChunkRef, CorsConfiguration, LayoutState, LifecycleConfiguration, NodeId,
    ObjectExtras, ObjectManifest, ObjectVersionId, ShardId, StoredChecksum, Tag, UploadExtras,
    UploadRecord, UsageGroup, VersionId, VersioningStatus,
};

/// A read of the metadata that names its answer.
pub trait Query: Into<MetaQuery> {
    type Answer;
    /// The answer in `result`, or `result` back when it is not this query's.
    fn answer(result: QueryResult) -> Result<Self::Answer, QueryResult>;
}

/// Any query, answered by the raw `QueryResult` (for callers that relay).
impl Query for MetaQuery {
    type Answer = QueryResult;
    fn answer(result: QueryResult) -> Result<QueryResult, QueryResult> {
        Ok(result)
    }
}

/// Declares request types whose `MetaQuery` variant has the same name and
/// fields and whose answer is one `QueryResult` variant with one value.
macro_rules! reads {
    ($(
        $(#[$doc:meta])*
        $name:ident { $($field:ident: $ty:ty),* $(,)? } => $variant:ident($answer:ty);
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name { $(pub $field: $ty),* }

        impl From<$name> for MetaQuery {
            fn from(q: $name) -> MetaQuery {
                let $name { $($field),* } = q;
                MetaQuery::$name { $($field),* }
            }
        }

        impl Query for $name {
            type Answer = $answer;
            fn answer(result: QueryResult) -> Result<$answer, QueryResult> {
                match result {
                    QueryResult::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    )*};
}

reads! {
    /// A bucket's record.
    GetBucket { name: String } => Bucket(Option<Bucket>);
    /// Every bucket.
    ListBuckets {} => Buckets(Vec<Bucket>);
    /// An access key's record.
    GetAccessKey { access_key_id: String } => AccessKey(Option<AccessKey>);
    /// Every access key.
    ListAccessKeys {} => AccessKeys(Vec<AccessKey>);
    /// Every registered storage node.
    ListNodes {} => Nodes(Vec<NodeRecord>);
    /// A current object's manifest.
    GetObject { bucket: String, key: String } => Object(Option<ObjectManifest>);
    /// A current object's manifest with its extras (tags, checksum).
    GetObjectWithExtras { bucket: String, key: String }
        => ObjectWithExtras(Option<(ObjectManifest, ObjectExtras)>);
    /// A bucket's versioning state (None: never enabled).
    GetBucketVersioning { bucket: String } => BucketVersioning(Option<VersioningStatus>);
    /// One version of an object (None: the current one) with its extras.
    GetObjectVersion { bucket: String, key: String, version: Option<ObjectVersionId> }
        => ObjectVersion(VersionLookup);
    /// A bucket's tag set (empty when it has none).
    GetBucketTags { bucket: String } => BucketTags(Vec<Tag>);
    /// An upload's record.
    GetUpload { bucket: String, key: String, upload_id: VersionId } => Upload(Option<UploadRecord>);
    /// An upload with its extras (checksum algorithm, tags).
    GetUploadWithExtras { bucket: String, key: String, upload_id: VersionId }
        => UploadWithExtras(Option<(UploadRecord, UploadExtras)>);
    /// The parts of an upload, in part-number order.
    ListParts { bucket: String, key: String, upload_id: VersionId } => Parts(Vec<PartSummary>);
    /// The versions among `versions` that nothing references (the garbage
    /// collector's question).
    UnreferencedVersions { versions: Vec<VersionId> } => Unreferenced(Vec<VersionId>);
    /// The applied layout and the staged changes.
    GetLayout {} => Layout(LayoutState);
    /// The applied layout's epoch (0 before the first).
    LayoutEpoch {} => LayoutEpoch(u64);
    /// Where the stored shards are (a scan of every manifest: admin use only).
    LayoutUsage {} => Usage(Vec<UsageGroup>);
    /// A bucket's CORS configuration; NoSuchBucket when it does not exist.
    GetBucketCors { bucket: String } => BucketCors(Option<CorsConfiguration>);
    /// A bucket's lifecycle configuration; NoSuchBucket when it does not exist.
    GetBucketLifecycle { bucket: String } => BucketLifecycle(Option<LifecycleConfiguration>);
    /// The chunks of manifest `manifest` overlapping bytes `start..end`, at
    /// most `max`, each with its offset in the object.
    ChunkRefs { manifest: VersionId, start: u64, end: u64, max: u32 }
        => ChunkRefs(Vec<(u64, ChunkRef)>);
    /// What meta records about each shard on `node`, in the order asked.
    ShardsOnNode { node: NodeId, shards: Vec<ShardId> }
        => ShardVerdicts(Vec<ShardVerdict>);
    /// The pieces meta records on `node` after `after`, at most `max`.
    PiecesOnNode { node: NodeId, after: Option<ShardId>, max: u32 } => PiecesOnNode(Vec<ShardId>);
    /// An access key's grants, by bucket.
    GetGrants { access_key_id: String } => Grants(Vec<(String, cairn_types::access::Grant)>);
    /// A bucket's policy document.
    GetBucketPolicy { bucket: String } => BucketPolicy(Option<String>);
}

/// The parts of an upload with their stored checksums, and the upload's extras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPartsWithChecksums {
    pub bucket: String,
    pub key: String,
    pub upload_id: VersionId,
}

/// Objects in a bucket and their bytes (a scan of the bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUsage {
    pub name: String,
}

impl From<ListPartsWithChecksums> for MetaQuery {
    fn from(q: ListPartsWithChecksums) -> MetaQuery {
        let ListPartsWithChecksums {
            bucket,
            key,
            upload_id,
        } = q;
        MetaQuery::ListPartsWithChecksums {
            bucket,
            key,
            upload_id,
        }
    }
}

/// Each part with its stored checksum, and the upload's extras.
pub type PartsWithChecksums = (Vec<(PartSummary, Option<StoredChecksum>)>, UploadExtras);

impl Query for ListPartsWithChecksums {
    type Answer = PartsWithChecksums;
    fn answer(result: QueryResult) -> Result<PartsWithChecksums, QueryResult> {
        match result {
            QueryResult::PartsWithChecksums { parts, extras } => Ok((parts, extras)),
            other => Err(other),
        }
    }
}

impl From<BucketUsage> for MetaQuery {
    fn from(q: BucketUsage) -> MetaQuery {
        MetaQuery::BucketUsage { name: q.name }
    }
}

impl Query for BucketUsage {
    /// (objects, bytes)
    type Answer = (u64, u64);
    fn answer(result: QueryResult) -> Result<(u64, u64), QueryResult> {
        match result {
            QueryResult::BucketUsage { objects, bytes } => Ok((objects, bytes)),
            other => Err(other),
        }
    }
}

impl From<ListObjectsQuery> for MetaQuery {
    fn from(q: ListObjectsQuery) -> MetaQuery {
        MetaQuery::ListObjects(q)
    }
}

impl Query for ListObjectsQuery {
    type Answer = ListObjectsPage;
    fn answer(result: QueryResult) -> Result<ListObjectsPage, QueryResult> {
        match result {
            QueryResult::ObjectPage(p) => Ok(p),
            other => Err(other),
        }
    }
}

impl From<ListVersionsQuery> for MetaQuery {
    fn from(q: ListVersionsQuery) -> MetaQuery {
        MetaQuery::ListObjectVersions(q)
    }
}

impl Query for ListVersionsQuery {
    type Answer = ListVersionsPage;
    fn answer(result: QueryResult) -> Result<ListVersionsPage, QueryResult> {
        match result {
            QueryResult::VersionPage(p) => Ok(p),
            other => Err(other),
        }
    }
}

impl From<ListUploadsQuery> for MetaQuery {
    fn from(q: ListUploadsQuery) -> MetaQuery {
        MetaQuery::ListUploads(q)
    }
}

impl Query for ListUploadsQuery {
    /// The uploads, and whether more follow.
    type Answer = (Vec<UploadRecord>, bool);
    fn answer(result: QueryResult) -> Result<(Vec<UploadRecord>, bool), QueryResult> {
        match result {
            QueryResult::Uploads { uploads, truncated } => Ok((uploads, truncated)),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_becomes_its_variant_and_takes_only_its_answer() {
        let q: MetaQuery = GetBucket { name: "b".into() }.into();
        assert_eq!(q, MetaQuery::GetBucket { name: "b".into() });
        let q: MetaQuery = ListBuckets {}.into();
        assert_eq!(q, MetaQuery::ListBuckets);
        assert_eq!(
            GetBucket::answer(QueryResult::Bucket(None)),
            Ok(None::<Bucket>)
        );
        assert_eq!(
            GetBucket::answer(QueryResult::LayoutEpoch(3)),
            Err(QueryResult::LayoutEpoch(3))
        );
        assert_eq!(
            BucketUsage::answer(QueryResult::BucketUsage {
                objects: 2,
                bytes: 9
            }),
            Ok((2, 9))
        );
    }
}
