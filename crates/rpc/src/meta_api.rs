//! The meta API's vocabulary: commands (replicated through Raft and applied by
//! the state machine), queries (linearizable reads) and their answers. The
//! decision of every conditional write is made by the state machine, from the
//! command alone, so all replicas decide the same.

use crate::gc_api::GcHorizonState;
use crate::write_id::WriteId;
use cairn_types::{
    AccessKey, Bucket, ChunkRef, ClusterLayout, CorsConfiguration, LayoutState,
    LifecycleConfiguration, NodeId, ObjectExtras, ObjectManifest, ObjectVersionId, PartRecord,
    ShardId, StoredChecksum, Tag, UnixMillis, UploadExtras, UploadRecord, UsageGroup, VersionId,
    VersioningStatus,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Path of the write endpoint on a meta voter.
pub const META_WRITE_PATH: &str = "/v1/meta/write";
/// Path of the read endpoint on a meta voter.
pub const META_READ_PATH: &str = "/v1/meta/read";
/// Path of the membership-change endpoint on a meta voter.
pub const META_MEMBERSHIP_PATH: &str = "/v1/meta/membership";

pub use crate::endpoint::Endpoint;

impl Endpoint for MembershipChange {
    const PATH: &'static str = META_MEMBERSHIP_PATH;
    /// The voter ids after the change.
    type Answer = Vec<NodeId>;
}

/// An online change of the meta group's voters (openraft joint consensus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Adds a voter: it first joins as a learner and catches up, then votes.
    Add { id: NodeId, addr: String },
    /// Removes a voter from the group.
    Remove { id: NodeId },
}

/// A storage node as registered in meta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: NodeId,
    /// Internal address (host:port) of its shard service.
    pub addr: String,
    pub zone: String,
    pub capacity: u64,
    pub registered: UnixMillis,
}

/// When an object write may replace what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteCondition {
    Always,
    /// `If-None-Match: *`: only if no object exists under the key.
    IfNoneMatchAny,
    /// `If-Match: etag`: only if the current object has this ETag (no quotes).
    IfMatch(String),
}

/// A part as named in CompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedPart {
    pub part_number: u32,
    /// ETag without quotes.
    pub etag: String,
}

/// A change to the metadata: one Raft log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaCommand {
    CreateBucket(Bucket),
    DeleteBucket {
        name: String,
    },
    PutAccessKey(AccessKey),
    RegisterNode(NodeRecord),
    PutObject {
        manifest: ObjectManifest,
        condition: WriteCondition,
    },
    DeleteObject {
        bucket: String,
        key: String,
        if_match: Option<String>,
    },
    CreateUpload(UploadRecord),
    PutPart {
        bucket: String,
        key: String,
        upload_id: VersionId,
        part: PartRecord,
    },
    CompleteUpload {
        bucket: String,
        key: String,
        upload_id: VersionId,
        parts: Vec<CompletedPart>,
        /// Id and time of the object version the upload becomes.
        version: VersionId,
        last_modified: UnixMillis,
        condition: WriteCondition,
    },
    AbortUpload {
        bucket: String,
        key: String,
        upload_id: VersionId,
    },
    /// Several commands that touch disjoint records, committed as one log
    /// entry (group commit); each gets its own answer, in order. Built only
    /// by a voter's write batcher, never nested.
    Batch(Vec<MetaCommand>),
    /// A storage node's garbage collector is about to ask which data versions
    /// created at or before `horizon_ms` (its clock) are unreferenced. From
    /// this entry on, the state machine refuses any object or part that would
    /// reference such a version, so a version found unreferenced stays so.
    /// The horizon only moves forward; answers `GcHorizon` with its value.
    /// Built by older builds, which trusted the node's clock: entries in a
    /// log still apply as before, but voters refuse it from clients (nodes
    /// send `ProposeGcHorizon`).
    AdvanceGcHorizon {
        horizon_ms: u64,
    },
    /// Stages a change for the next layout (`cairn admin node assign|remove`).
    StageLayout(LayoutChange),
    /// Makes `layout` the cluster's layout and clears the staged changes. It
    /// must be the next epoch and hold exactly the staged node list; refused
    /// when it would move partitions of a cluster that holds object data.
    ApplyLayout(ClusterLayout),
    /// Sets (Some) or deletes (None) a bucket's CORS configuration.
    SetBucketCors {
        bucket: String,
        config: Option<CorsConfiguration>,
    },
    /// Sets (Some) or deletes (None) a bucket's lifecycle configuration.
    SetBucketLifecycle {
        bucket: String,
        config: Option<LifecycleConfiguration>,
    },
    /// Deletes an object if `version` is still its current version (the
    /// lifecycle job's expiry, which must never remove a newer write).
    /// Answers `Replaced` with the removed manifest, or None.
    ExpireObject {
        bucket: String,
        key: String,
        version: VersionId,
    },
    /// PutObject / CopyObject with what the object carries besides its
    /// manifest (tags, checksum); replaces the previous object's extras.
    /// Answers `Replaced` like `PutObject` (which stores no extras).
    PutObjectWithExtras {
        manifest: ObjectManifest,
        condition: WriteCondition,
        extras: ObjectExtras,
    },
    /// Replaces the tag set of an existing object (empty: deletes it).
    SetObjectTags {
        bucket: String,
        key: String,
        tags: Vec<Tag>,
    },
    /// Replaces the tag set of a bucket (empty: deletes it).
    SetBucketTags {
        bucket: String,
        tags: Vec<Tag>,
    },
    /// CreateMultipartUpload with what the object will carry (tags, checksum algorithm).
    CreateUploadWithExtras {
        upload: UploadRecord,
        extras: UploadExtras,
    },
    /// UploadPart with the part's verified checksum. An upload created with
    /// a checksum algorithm requires one of that algorithm (else
    /// `InvalidRequest`); without one, the checksum is not kept.
    PutPartWithChecksum {
        bucket: String,
        key: String,
        upload_id: VersionId,
        part: PartRecord,
        checksum: Option<StoredChecksum>,
    },
    /// CompleteMultipartUpload with the part checksums the client listed
    /// (one per part, in order) and the object checksum it sent, if any.
    /// For a COMPOSITE upload each part checksum must be given; any given
    /// must match the stored one. The object gets the composite (or, for
    /// FULL_OBJECT, the combined CRC) checksum, which `object_checksum`
    /// must equal when sent (else `BadDigest`). Answers `CompletedWithExtras`.
    CompleteUploadWithChecksums {
        bucket: String,
        key: String,
        upload_id: VersionId,
        parts: Vec<CompletedPart>,
        part_checksums: Vec<Option<StoredChecksum>>,
        object_checksum: Option<StoredChecksum>,
        version: VersionId,
        last_modified: UnixMillis,
        condition: WriteCondition,
    },
    /// PutBucketVersioning: Enabled or Suspended (a bucket never goes back
    /// to "never enabled"). Goes alone in its log entry: every object write
    /// in the bucket decides by it.
    SetBucketVersioning {
        bucket: String,
        status: VersioningStatus,
    },
    /// DeleteObject, with or without a version id. Without one, a bucket
    /// that has versioning gets a delete marker (id `marker`, or `null`
    /// while suspended) dated `last_modified`; a bucket that never had it
    /// loses the object. With one, that version goes for good (none such:
    /// nothing happens), and when it was the latest the next one becomes
    /// current. `if_match` is checked against the current object.
    /// Answers `Deleted`.
    DeleteObjectVersion {
        bucket: String,
        key: String,
        version: Option<ObjectVersionId>,
        if_match: Option<String>,
        marker: VersionId,
        last_modified: UnixMillis,
    },
    /// Put/DeleteObjectTagging on a version (None: the current one; a
    /// delete marker answers `MethodNotAllowed`, a missing version
    /// `NoSuchVersion`, a missing current object `NoSuchKey`). Answers
    /// `Tagged`.
    SetObjectVersionTags {
        bucket: String,
        key: String,
        version: Option<ObjectVersionId>,
        tags: Vec<Tag>,
    },
    /// The lifecycle job's expiry of one version, decided again here so a
    /// change since the job looked is never undone: see `ExpiryTarget`.
    /// Answers `Deleted` (nothing removed when the target no longer holds).
    ExpireVersion {
        bucket: String,
        key: String,
        target: ExpiryTarget,
        /// Id and time of the delete marker expiring a current version of
        /// a bucket with versioning gets.
        marker: VersionId,
        now: UnixMillis,
    },
    /// `command` sent by `MetaClient::write` under the write's idempotency
    /// id. The first application under `id` is applied as `command` alone
    /// would be and its answer kept (without the bulk no caller reads:
    /// chunk lists, inline bytes and part sizes of the manifests it names,
    /// lists of released parts, per-part checksums); a later one under the
    /// same id changes nothing and gets that answer. `stamped_ms` is set by
    /// the voter that proposes the entry, from its clock (whatever the
    /// client sent is replaced); the state machine's clock is the largest
    /// stamp applied, and answers are kept for `WRITE_ID_WINDOW` of it.
    /// Never nests, never holds a `Batch`.
    Idempotent {
        id: WriteId,
        stamped_ms: u64,
        command: Box<MetaCommand>,
    },
    /// A storage node's collector asks to move the GC horizon (this build's
    /// replacement of `AdvanceGcHorizon`, which voters no longer accept from
    /// clients). The node sends its clock and grace; the voter that proposes
    /// the entry refuses a node whose clock differs from its own by more
    /// than `meta.max_node_clock_skew_ms`, and sets `horizon_ms` to the
    /// earlier of the two clocks minus the grace (whatever the node sent is
    /// replaced). Applied: the horizon moves forward to `horizon_ms` unless
    /// collection is paused. Answers `GcState`.
    ProposeGcHorizon {
        node: NodeId,
        node_clock_ms: u64,
        grace_ms: u64,
        horizon_ms: u64,
    },
    /// An operator's reset, step one: pauses collection (nodes judge and
    /// delete nothing) and bumps the generation. Answers `GcState` (the
    /// horizon as it was).
    PauseGc,
    /// An operator's reset, step two (refused unless paused, and by the
    /// proposing voter when later than its clock): sets the horizon to
    /// `horizon_ms`, even backwards, bumps the generation and resumes
    /// collection. Answers `GcState`.
    ResetGcHorizon {
        horizon_ms: u64,
    },
    /// A change to chunk placement records or repair settings (the
    /// reconciler's commands, `repair_api`). Answers `Done`.
    Reconcile(crate::repair_api::ReconcileCommand),
    /// Sets (Some, not empty) or removes an access key's grant on a bucket
    /// (`cairn admin key allow|deny`; bucket `*`: every bucket).
    SetGrant {
        access_key_id: String,
        bucket: String,
        grant: Option<cairn_types::access::Grant>,
    },
    /// Deletes an access key and every grant it holds (`cairn admin key
    /// delete`). Answers `NoSuchKey` when there is none.
    DeleteAccessKey {
        access_key_id: String,
    },
    /// CreateBucket by `owner` (an access key id), who gets the owner grant
    /// in the same entry. `BucketAlreadyOwnedByYou` when `owner` owns it
    /// already, `BucketAlreadyExists` when someone else does.
    CreateBucketOwned {
        bucket: Bucket,
        owner: String,
    },
    /// Sets (Some: a JSON document the gateway parsed) or deletes a
    /// bucket's policy.
    SetBucketPolicy {
        bucket: String,
        policy: Option<String>,
    },
}

impl MetaCommand {
    /// The bucket, key and upload id of a CompleteMultipartUpload (either
    /// form), None for any other command.
    pub fn completed_upload(&self) -> Option<(&str, &str, &VersionId)> {
        match self {
            MetaCommand::CompleteUpload {
                bucket,
                key,
                upload_id,
                ..
            }
            | MetaCommand::CompleteUploadWithChecksums {
                bucket,
                key,
                upload_id,
                ..
            } => Some((bucket, key, upload_id)),
            _ => None,
        }
    }
}

/// What a lifecycle expiry removes, if it still holds when applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpiryTarget {
    /// The current object, if its manifest version is still this one. In a
    /// bucket with versioning it becomes noncurrent under a delete marker.
    Current(VersionId),
    /// A noncurrent version, if it still exists with this time and is not
    /// the latest (a `null` id is reused by a suspended bucket's writes, so
    /// the time tells the version judged from a younger one).
    Noncurrent {
        id: ObjectVersionId,
        last_modified: UnixMillis,
    },
    /// A delete marker that is the latest and the only version of its key.
    LoneDeleteMarker(ObjectVersionId),
}

/// What a `DeleteObjectVersion` or `ExpireVersion` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteOutcome {
    /// The object version removed for good (its data becomes garbage).
    pub removed: Option<ObjectManifest>,
    /// The version the request made or removed, for `x-amz-version-id`
    /// (None in a bucket that never had versioning, when none was named).
    pub version_id: Option<ObjectVersionId>,
    /// Whether that version is a delete marker (`x-amz-delete-marker`).
    pub delete_marker: bool,
}

/// A change to the next layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayoutChange {
    /// Put a registered node in the layout, or change its zone or capacity;
    /// what is not given is kept (from the layout, else from its registration).
    Assign {
        id: NodeId,
        zone: Option<String>,
        capacity: Option<u64>,
    },
    /// Take a node out of the layout.
    Remove { id: NodeId },
    /// Drop every staged change.
    Revert,
}

/// What an applied command did. (Manifests are large next to `Done`; answers
/// are short-lived, so they are not boxed.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaResponse {
    Done,
    /// An object write or delete; the version it replaced or removed.
    Replaced(Option<ObjectManifest>),
    Completed {
        manifest: ObjectManifest,
        replaced: Option<ObjectManifest>,
        unused_parts: Vec<PartRecord>,
    },
    PartStored {
        replaced: Option<PartRecord>,
    },
    Aborted {
        parts: Vec<PartRecord>,
    },
    /// The answers of a `MetaCommand::Batch`, one per command, in order.
    Batch(Vec<Result<MetaResponse, MetaError>>),
    /// The garbage-collection horizon after an `AdvanceGcHorizon`.
    GcHorizon(u64),
    /// A `CompleteUploadWithChecksums`: as `Completed`, with the new object's extras.
    CompletedWithExtras {
        manifest: ObjectManifest,
        extras: ObjectExtras,
        replaced: Option<ObjectManifest>,
        unused_parts: Vec<PartRecord>,
        /// The new version's id, for `x-amz-version-id` (None: the bucket
        /// never had versioning).
        version_id: Option<ObjectVersionId>,
    },
    /// A `PutObjectWithExtras`: the version it removed for good (none in a
    /// bucket with versioning enabled) and the new version's id (None: the
    /// bucket never had versioning).
    Written {
        replaced: Option<ObjectManifest>,
        version_id: Option<ObjectVersionId>,
    },
    /// A `DeleteObjectVersion` or `ExpireVersion`.
    Deleted(DeleteOutcome),
    /// A `SetObjectVersionTags`: the id of the version tagged (None: the
    /// bucket never had versioning).
    Tagged {
        version_id: Option<ObjectVersionId>,
    },
    /// The garbage-collection horizon after a `ProposeGcHorizon`, `PauseGc`
    /// or `ResetGcHorizon`.
    GcState(GcHorizonState),
}

/// Errors of the meta API, named after the S3 errors they become.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum MetaError {
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("bucket already exists")]
    BucketAlreadyExists,
    #[error("bucket already owned by you")]
    BucketAlreadyOwnedByYou,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("no such key")]
    NoSuchKey,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(u32),
    #[error("parts are not in ascending order")]
    InvalidPartOrder,
    #[error("part {0} is smaller than the minimum part size")]
    EntityTooSmall(u32),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("this voter is not the leader")]
    NotLeader { leader_addr: Option<String> },
    #[error("metadata service unavailable: {0}")]
    Unavailable(String),
    #[error("metadata service error: {0}")]
    Internal(String),
    /// The data was written under a version the garbage collector may
    /// already have collected (the PUT took longer than the grace period).
    #[error("data version {0} is older than the garbage-collection horizon; upload again")]
    DataVersionExpired(VersionId),
    /// A layout change that is malformed or no longer applies (say, the
    /// epoch moved since it was planned).
    #[error("invalid layout change: {0}")]
    InvalidLayout(String),
    /// A valid layout change meta will not make (it would leave fewer nodes
    /// than a bucket stores a chunk on).
    #[error("layout change refused: {0}")]
    LayoutChangeRefused(String),
    /// S3's InvalidRequest, with S3's message (e.g. a missing part checksum).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// S3's BadDigest: a checksum sent does not match the one computed.
    #[error("bad digest: {0}")]
    BadDigest(String),
    /// S3's NoSuchVersion: the version id names no version of the key.
    #[error("the specified version does not exist")]
    NoSuchVersion,
    /// S3's MethodNotAllowed (405), e.g. tagging a delete marker.
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// The command or query is larger than meta takes
    /// (`sizes::MAX_META_COMMAND_BYTES`, `sizes::MAX_QUERY_BYTES`); it was
    /// not applied, and sending it again cannot succeed.
    #[error("too large for meta: {0}")]
    TooLarge(String),
    /// The voter's queue of writes or reads waiting for Raft is full; it
    /// was not applied. S3's SlowDown: retry after a pause.
    #[error("meta is overloaded: {0}")]
    SlowDown(String),
}

/// Parameters of ListObjectVersions. Keys come in byte order, the versions
/// of a key newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListVersionsQuery {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Start after this key (with `version_id_marker`: after that version
    /// of this key; a version id the key does not have skips the key).
    pub key_marker: Option<String>,
    pub version_id_marker: Option<ObjectVersionId>,
    /// Versions, delete markers and common prefixes to return at most.
    pub max_keys: usize,
}

/// One entry of ListObjectVersions: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub key: String,
    pub version_id: ObjectVersionId,
    pub is_latest: bool,
    pub delete_marker: bool,
    /// Size and ETag (no quotes) of an object version; 0 and empty for a
    /// delete marker.
    pub size: u64,
    pub etag: String,
    pub last_modified: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListVersionsPage {
    /// Object versions and delete markers, in listing order.
    pub versions: Vec<VersionSummary>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    /// Where the next page starts (set when truncated): the last key or
    /// common prefix returned and, after a version, its id.
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<ObjectVersionId>,
}

/// What `GetObjectVersion` found.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionLookup {
    /// An object version. `version_id` is None in a bucket that never had
    /// versioning (S3 then sends no `x-amz-version-id`).
    Object {
        manifest: ObjectManifest,
        extras: ObjectExtras,
        version_id: Option<ObjectVersionId>,
    },
    /// A delete marker: the version asked for, or the latest version when
    /// the current one was asked for (S3: 405, or 404 NoSuchKey, each with
    /// `x-amz-delete-marker: true`).
    DeleteMarker {
        version_id: ObjectVersionId,
        last_modified: UnixMillis,
    },
    /// No such version (one was named), or no object under the key.
    NotFound,
}

/// Parameters of an object listing. Keys are returned in byte order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListObjectsQuery {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Return only keys (and prefixes) strictly after this.
    pub start_after: Option<String>,
    /// Keys plus common prefixes to return at most.
    pub max_keys: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListObjectsPage {
    pub objects: Vec<ObjectSummary>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix returned: where the next page starts after.
    pub last: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSummary {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub last_modified: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListUploadsQuery {
    pub bucket: String,
    pub prefix: String,
    /// Start after (key, upload id); an upload id marker without a key marker is ignored.
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<VersionId>,
    pub max_uploads: usize,
}

/// A read of the metadata; answered after a linearizable read barrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaQuery {
    GetBucket {
        name: String,
    },
    ListBuckets,
    GetAccessKey {
        access_key_id: String,
    },
    ListAccessKeys,
    ListNodes,
    GetObject {
        bucket: String,
        key: String,
    },
    ListObjects(ListObjectsQuery),
    GetUpload {
        bucket: String,
        key: String,
        upload_id: VersionId,
    },
    ListParts {
        bucket: String,
        key: String,
        upload_id: VersionId,
    },
    ListUploads(ListUploadsQuery),
    /// Which of these data versions no object manifest or uploaded part
    /// references (the garbage collector's question).
    UnreferencedVersions {
        versions: Vec<VersionId>,
    },
    /// The applied layout and the staged changes.
    GetLayout,
    /// The applied layout's epoch (0 before the first): cheap to poll.
    LayoutEpoch,
    /// Where the stored shards are, grouped by partition, width and holders
    /// (scans every manifest and part: for layout plans, not hot paths).
    LayoutUsage,
    /// Objects and their bytes in a bucket (scans the bucket).
    BucketUsage {
        name: String,
    },
    /// A bucket's CORS configuration (None when it has none).
    GetBucketCors {
        bucket: String,
    },
    /// A bucket's lifecycle configuration (None when it has none).
    GetBucketLifecycle {
        bucket: String,
    },
    /// An object's manifest together with its extras (empty when it has none).
    GetObjectWithExtras {
        bucket: String,
        key: String,
    },
    /// A bucket's tag set (empty when it has none).
    GetBucketTags {
        bucket: String,
    },
    /// An upload with its extras (empty when it has none).
    GetUploadWithExtras {
        bucket: String,
        key: String,
        upload_id: VersionId,
    },
    /// ListParts with each part's stored checksum and the upload's extras.
    ListPartsWithChecksums {
        bucket: String,
        key: String,
        upload_id: VersionId,
    },
    /// A bucket's versioning state (None: never enabled).
    GetBucketVersioning {
        bucket: String,
    },
    /// One version of an object (None: the current one), with its extras.
    GetObjectVersion {
        bucket: String,
        key: String,
        version: Option<ObjectVersionId>,
    },
    ListObjectVersions(ListVersionsQuery),
    /// The chunks of manifest version `manifest` overlapping bytes
    /// `start..end`, in object order, at most `max`: each with its offset
    /// in the object and its placement record's reference.
    ChunkRefs {
        manifest: VersionId,
        start: u64,
        end: u64,
        max: u32,
    },
    /// For each shard, what meta records about it on `node` (a scrub's
    /// question before it trims surplus pieces).
    ShardsOnNode {
        node: NodeId,
        shards: Vec<ShardId>,
    },
    /// The pieces meta records on `node`, in shard order, after `after`,
    /// at most `max` (a scrub walks them to find missing ones).
    PiecesOnNode {
        node: NodeId,
        after: Option<ShardId>,
        max: u32,
    },
    /// An access key's grants, by bucket.
    GetGrants {
        access_key_id: String,
    },
    /// A bucket's policy document (None: it has none).
    GetBucketPolicy {
        bucket: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryResult {
    Bucket(Option<Bucket>),
    Buckets(Vec<Bucket>),
    AccessKey(Option<AccessKey>),
    AccessKeys(Vec<AccessKey>),
    Nodes(Vec<NodeRecord>),
    Object(Option<ObjectManifest>),
    ObjectPage(ListObjectsPage),
    Upload(Option<UploadRecord>),
    Parts(Vec<PartSummary>),
    Uploads {
        uploads: Vec<UploadRecord>,
        truncated: bool,
    },
    /// The subset of the asked versions that nothing references.
    Unreferenced(Vec<VersionId>),
    Layout(LayoutState),
    LayoutEpoch(u64),
    Usage(Vec<UsageGroup>),
    BucketUsage {
        objects: u64,
        bytes: u64,
    },
    BucketCors(Option<CorsConfiguration>),
    BucketLifecycle(Option<LifecycleConfiguration>),
    ObjectWithExtras(Option<(ObjectManifest, ObjectExtras)>),
    BucketTags(Vec<Tag>),
    UploadWithExtras(Option<(UploadRecord, UploadExtras)>),
    /// The parts in part-number order, each with its stored checksum.
    PartsWithChecksums {
        parts: Vec<(PartSummary, Option<StoredChecksum>)>,
        extras: UploadExtras,
    },
    BucketVersioning(Option<VersioningStatus>),
    ObjectVersion(VersionLookup),
    VersionPage(ListVersionsPage),
    /// (offset in the object, chunk) in object order.
    ChunkRefs(Vec<(u64, ChunkRef)>),
    /// One verdict per asked shard, in the order asked.
    ShardVerdicts(Vec<crate::repair_api::ShardVerdict>),
    /// Shard ids in order; fewer than asked: the end.
    PiecesOnNode(Vec<ShardId>),
    /// (bucket, grant) pairs.
    Grants(Vec<(String, cairn_types::access::Grant)>),
    BucketPolicy(Option<String>),
}
