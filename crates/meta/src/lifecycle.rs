//! The lifecycle job: on the meta leader, every `lifecycle.interval_secs`,
//! each bucket's lifecycle rules are carried out — current objects past
//! their expiry are deleted (under a delete marker in a bucket with
//! versioning), noncurrent versions past theirs are removed, so are delete
//! markers left alone, and incomplete multipart uploads past their deadline
//! are aborted. It reads and writes through the ordinary meta API
//! (linearizable reads, replicated commands), so it decides nothing a
//! follower would not: an expiry names the exact version it saw and is
//! decided again when applied (`MetaCommand::ExpireVersion`), so a version
//! changed meanwhile is left alone. The shards of what it removes become
//! garbage for the collector.

use crate::MetaNode;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{
    ExpiryTarget, ListUploadsQuery, ListVersionsQuery, MetaClient, MetaCommand, MetaError,
    MetaResponse, VersionLookup, VersionSummary,
};
use cairn_types::{LifecycleConfiguration, UnixMillis, VersionId, now_millis};

/// Keys or uploads asked for per listing page.
pub const LIFECYCLE_PAGE: usize = 1000;

/// Counter of objects the lifecycle job deleted.
pub const METRIC_OBJECTS_EXPIRED: &str = "cairn_lifecycle_objects_expired_total";
/// Counter of noncurrent versions the lifecycle job removed.
pub const METRIC_VERSIONS_EXPIRED: &str = "cairn_lifecycle_noncurrent_versions_expired_total";
/// Counter of lone delete markers the lifecycle job removed.
pub const METRIC_MARKERS_REMOVED: &str = "cairn_lifecycle_delete_markers_removed_total";
/// Counter of multipart uploads the lifecycle job aborted.
pub const METRIC_UPLOADS_ABORTED: &str = "cairn_lifecycle_uploads_aborted_total";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    pub buckets: u64,
    pub objects_expired: u64,
    pub versions_expired: u64,
    pub markers_removed: u64,
    pub uploads_aborted: u64,
}

impl LifecycleReport {
    /// Whether the pass changed anything.
    pub fn acted(&self) -> bool {
        self.objects_expired + self.versions_expired + self.markers_removed + self.uploads_aborted
            > 0
    }
}

/// Whether this voter believes it leads (the job runs on the leader only;
/// a stale belief costs a redundant pass, never a wrong deletion).
pub fn is_leader(node: &MetaNode) -> bool {
    node.raft.metrics().borrow().current_leader == Some(node.id)
}

/// Carries out every bucket's lifecycle rules as of `now`.
pub async fn run_pass(meta: &MetaClient, now: UnixMillis) -> Result<LifecycleReport, MetaError> {
    let mut report = LifecycleReport::default();
    for bucket in meta.read(reads::ListBuckets {}).await? {
        let config = match meta
            .read(reads::GetBucketLifecycle {
                bucket: bucket.name.clone(),
            })
            .await
        {
            Ok(Some(c)) if c.has_work() => c,
            Ok(_) | Err(MetaError::NoSuchBucket) => continue,
            Err(e) => return Err(e),
        };
        report.buckets += 1;
        expire_versions(meta, &bucket.name, &config, now, &mut report).await?;
        abort_uploads(meta, &bucket.name, &config, now, &mut report).await?;
    }
    Ok(report)
}

/// A bucket deleted while a pass walks it: nothing left to do there.
fn bucket_gone<T>(e: MetaError) -> Result<Option<T>, MetaError> {
    match e {
        MetaError::NoSuchBucket => Ok(None),
        e => Err(e),
    }
}

/// Walks every version of the bucket, one key at a time (a key's versions
/// may span listing pages), and judges each key.
async fn expire_versions(
    meta: &MetaClient,
    bucket: &str,
    config: &LifecycleConfiguration,
    now: UnixMillis,
    report: &mut LifecycleReport,
) -> Result<(), MetaError> {
    let (mut key_marker, mut version_id_marker) = (None, None);
    let mut group: Vec<VersionSummary> = Vec::new();
    loop {
        let Some(page) = meta
            .read(ListVersionsQuery {
                bucket: bucket.to_string(),
                prefix: String::new(),
                delimiter: None,
                key_marker: key_marker.take(),
                version_id_marker: version_id_marker.take(),
                max_keys: LIFECYCLE_PAGE,
            })
            .await
            .map(Some)
            .or_else(bucket_gone)?
        else {
            return Ok(());
        };
        for v in page.versions {
            if group.first().is_some_and(|g| g.key != v.key) {
                judge_key(meta, bucket, config, now, &group, report).await?;
                group.clear();
            }
            group.push(v);
        }
        if !page.truncated {
            break;
        }
        key_marker = page.next_key_marker;
        version_id_marker = page.next_version_id_marker;
    }
    if !group.is_empty() {
        judge_key(meta, bucket, config, now, &group, report).await?;
    }
    Ok(())
}

/// Applies the rules to one key's versions (newest first, as listed): the
/// current object's expiry, noncurrent versions' expiry (a version became
/// noncurrent when the next newer one was written), and a lone delete
/// marker's removal. Each command names the exact version it judged.
async fn judge_key(
    meta: &MetaClient,
    bucket: &str,
    config: &LifecycleConfiguration,
    now: UnixMillis,
    versions: &[VersionSummary],
    report: &mut LifecycleReport,
) -> Result<(), MetaError> {
    let Some(latest) = versions.first() else {
        return Ok(());
    };
    let key = latest.key.as_str();
    let tags_of = |version| async move {
        match meta
            .read(reads::GetObjectVersion {
                bucket: bucket.to_string(),
                key: key.to_string(),
                version,
            })
            .await?
        {
            VersionLookup::Object {
                manifest, extras, ..
            } => Ok::<_, MetaError>(Some((manifest, extras.tags))),
            _ => Ok(None),
        }
    };
    // Tags are not in the listing: judge without them first when no rule
    // needs them, and read only the candidates.
    let by_tags = config.filters_by_tags();
    if latest.is_latest
        && !latest.delete_marker
        && (by_tags || config.object_expired(key, latest.size, &[], latest.last_modified, now))
        && let Some((m, tags)) = tags_of(None).await?
        && config.object_expired(key, m.size, &tags, m.last_modified, now)
    {
        let target = ExpiryTarget::Current(m.version);
        if expire(meta, bucket, key, target).await? {
            report.objects_expired += 1;
            metrics::counter!(METRIC_OBJECTS_EXPIRED).increment(1);
            tracing::info!(bucket, key, "lifecycle: object expired");
        }
    }
    for pair in versions.windows(2) {
        let (newer, v) = (&pair[0], &pair[1]);
        let since = newer.last_modified;
        let due = if v.delete_marker {
            config.noncurrent_marker_expired(key, since, now)
        } else if by_tags {
            match tags_of(Some(v.version_id)).await? {
                Some((_, tags)) => config.noncurrent_expired(key, v.size, &tags, since, now),
                None => false,
            }
        } else {
            config.noncurrent_expired(key, v.size, &[], since, now)
        };
        if !due {
            continue;
        }
        let target = ExpiryTarget::Noncurrent {
            id: v.version_id,
            last_modified: v.last_modified,
        };
        if expire(meta, bucket, key, target).await? {
            report.versions_expired += 1;
            metrics::counter!(METRIC_VERSIONS_EXPIRED).increment(1);
            tracing::info!(bucket, key, version = %v.version_id, "lifecycle: noncurrent version expired");
        }
    }
    if versions.len() == 1
        && latest.delete_marker
        && config.lone_marker_expired(key)
        && expire(
            meta,
            bucket,
            key,
            ExpiryTarget::LoneDeleteMarker(latest.version_id),
        )
        .await?
    {
        report.markers_removed += 1;
        metrics::counter!(METRIC_MARKERS_REMOVED).increment(1);
        tracing::info!(bucket, key, "lifecycle: expired delete marker removed");
    }
    Ok(())
}

/// Sends one expiry; answers whether it still held (something changed).
async fn expire(
    meta: &MetaClient,
    bucket: &str,
    key: &str,
    target: ExpiryTarget,
) -> Result<bool, MetaError> {
    let cmd = MetaCommand::ExpireVersion {
        bucket: bucket.to_string(),
        key: key.to_string(),
        target,
        marker: VersionId::new_random(),
        now: now_millis(),
    };
    match meta.write(&cmd).await {
        // (A bucket without versioning names no version: `removed` tells.)
        Ok(MetaResponse::Deleted(d)) => Ok(d.removed.is_some() || d.version_id.is_some()),
        Ok(other) => Err(MetaError::Internal(format!(
            "unexpected answer to an expiry: {other:?}"
        ))),
        Err(MetaError::NoSuchBucket) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn abort_uploads(
    meta: &MetaClient,
    bucket: &str,
    config: &cairn_types::LifecycleConfiguration,
    now: UnixMillis,
    report: &mut LifecycleReport,
) -> Result<(), MetaError> {
    let mut marker = None;
    loop {
        let Some((uploads, truncated)) = meta
            .read(ListUploadsQuery {
                bucket: bucket.to_string(),
                prefix: String::new(),
                key_marker: marker.as_ref().map(|(k, _): &(String, _)| k.clone()),
                upload_id_marker: marker.as_ref().map(|(_, id)| *id),
                max_uploads: LIFECYCLE_PAGE,
            })
            .await
            .map(Some)
            .or_else(bucket_gone)?
        else {
            return Ok(());
        };
        for u in &uploads {
            if !config.upload_expired(&u.key, u.initiated, now) {
                continue;
            }
            let cmd = MetaCommand::AbortUpload {
                bucket: bucket.to_string(),
                key: u.key.clone(),
                upload_id: u.upload_id,
            };
            match meta.write(&cmd).await {
                Ok(_) => {
                    report.uploads_aborted += 1;
                    metrics::counter!(METRIC_UPLOADS_ABORTED).increment(1);
                    tracing::info!(bucket, key = %u.key, "lifecycle: incomplete upload aborted");
                }
                // Completed or aborted meanwhile.
                Err(MetaError::NoSuchUpload) => {}
                Err(e) => return Err(e),
            }
        }
        match (truncated, uploads.last()) {
            (true, Some(last)) => marker = Some((last.key.clone(), last.upload_id)),
            _ => return Ok(()),
        }
    }
}
