//! The lifecycle job: on the meta leader, every `lifecycle.interval_secs`,
//! each bucket's lifecycle rules are carried out — current objects past
//! their expiry are deleted and incomplete multipart uploads past their
//! deadline are aborted. It reads and writes through the ordinary meta API
//! (linearizable reads, replicated commands), so it decides nothing a
//! follower would not: an expiry names the exact version it saw
//! (`MetaCommand::ExpireObject`), so an object overwritten meanwhile is left
//! alone. The shards of what it removes become garbage for the collector.

use crate::MetaNode;
use cairn_rpc::{
    ListObjectsQuery, ListUploadsQuery, MetaClient, MetaCommand, MetaError, MetaResponse,
};
use cairn_types::UnixMillis;

/// Keys or uploads asked for per listing page.
pub const LIFECYCLE_PAGE: usize = 1000;

/// Counter of objects the lifecycle job deleted.
pub const METRIC_OBJECTS_EXPIRED: &str = "cairn_lifecycle_objects_expired_total";
/// Counter of multipart uploads the lifecycle job aborted.
pub const METRIC_UPLOADS_ABORTED: &str = "cairn_lifecycle_uploads_aborted_total";

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    pub buckets: u64,
    pub objects_expired: u64,
    pub uploads_aborted: u64,
}

/// Whether this voter believes it leads (the job runs on the leader only;
/// a stale belief costs a redundant pass, never a wrong deletion).
pub fn is_leader(node: &MetaNode) -> bool {
    node.raft.metrics().borrow().current_leader == Some(node.id)
}

/// Carries out every bucket's lifecycle rules as of `now`.
pub async fn run_pass(meta: &MetaClient, now: UnixMillis) -> Result<LifecycleReport, MetaError> {
    let mut report = LifecycleReport::default();
    for bucket in meta.list_buckets().await? {
        let config = match meta.bucket_lifecycle(&bucket.name).await {
            Ok(Some(c)) if c.has_work() => c,
            Ok(_) | Err(MetaError::NoSuchBucket) => continue,
            Err(e) => return Err(e),
        };
        report.buckets += 1;
        expire_objects(meta, &bucket.name, &config, now, &mut report).await?;
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

async fn expire_objects(
    meta: &MetaClient,
    bucket: &str,
    config: &cairn_types::LifecycleConfiguration,
    now: UnixMillis,
    report: &mut LifecycleReport,
) -> Result<(), MetaError> {
    let mut start_after = None;
    loop {
        let Some(page) = meta
            .list_objects(ListObjectsQuery {
                bucket: bucket.to_string(),
                prefix: String::new(),
                delimiter: None,
                start_after: start_after.clone(),
                max_keys: LIFECYCLE_PAGE,
            })
            .await
            .map(Some)
            .or_else(bucket_gone)?
        else {
            return Ok(());
        };
        for o in &page.objects {
            // Tags are not in the listing: without tag rules, judge by it
            // first and read only the candidates.
            if !config.filters_by_tags()
                && !config.object_expired(&o.key, o.size, &[], o.last_modified, now)
            {
                continue;
            }
            // The listing has no version: read the manifest, decide on it.
            let Some((m, extras)) = meta.get_object_with_extras(bucket, &o.key).await? else {
                continue;
            };
            if !config.object_expired(&m.key, m.size, &extras.tags, m.last_modified, now) {
                continue;
            }
            let cmd = MetaCommand::ExpireObject {
                bucket: bucket.to_string(),
                key: m.key.clone(),
                version: m.version,
            };
            if let MetaResponse::Replaced(Some(_)) = meta.write(&cmd).await? {
                report.objects_expired += 1;
                metrics::counter!(METRIC_OBJECTS_EXPIRED).increment(1);
                tracing::info!(bucket, key = %m.key, "lifecycle: object expired");
            }
        }
        if !page.truncated {
            return Ok(());
        }
        start_after = page.last;
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
            .list_uploads(ListUploadsQuery {
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
