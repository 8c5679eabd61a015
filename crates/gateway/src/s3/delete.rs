//! DeleteObject and DeleteObjects, with or without a `versionId`. Every
//! delete is one `DeleteObjectVersion` for meta, which decides what it means
//! for the bucket: without a version id, a bucket with versioning gets a
//! delete marker and one that never had it loses the object; with one, that
//! version goes for good. The answer names the version made or removed
//! (`x-amz-version-id`) and says when it is a delete marker
//! (`x-amz-delete-marker`).

use super::common::check_key;
use super::versioning::{parse_version, version_string};
use crate::errors::{internal, meta_error};
use crate::gateway::Gateway;
use cairn_rpc::{DeleteOutcome, MetaCommand, MetaResponse};
use cairn_types::limits::MAX_DELETE_KEYS;
use cairn_types::{ObjectVersionId, VersionId, now_millis};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// Deletes one object version (None: the current object); answers what meta did.
async fn delete_version(
    gw: &Gateway,
    bucket: &str,
    key: &str,
    version: Option<ObjectVersionId>,
    if_match: Option<String>,
) -> S3Result<DeleteOutcome> {
    check_key(key)?;
    let cmd = MetaCommand::DeleteObjectVersion {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version,
        if_match,
        marker: VersionId::new_random(),
        last_modified: now_millis(),
    };
    match gw.meta().write(&cmd).await.map_err(meta_error)? {
        MetaResponse::Deleted(outcome) => Ok(outcome),
        other => Err(internal(format!("unexpected meta answer {other:?}"))),
    }
}

pub async fn delete_object(
    gw: &Gateway,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    let version = parse_version(i.version_id.as_deref())?;
    let if_match = match i.if_match {
        None => None,
        Some(ETagCondition::ETag(e)) => Some(e.value().to_string()),
        Some(ETagCondition::Any) => {
            return Err(s3_error!(
                NotImplemented,
                "If-Match: * is not supported on DeleteObject"
            ));
        }
    };
    let outcome = delete_version(gw, &i.bucket, &i.key, version, if_match).await?;
    let output = DeleteObjectOutput {
        delete_marker: outcome.delete_marker.then_some(true),
        version_id: version_string(outcome.version_id),
        ..Default::default()
    };
    let mut resp = S3Response::new(output);
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

/// The `<Deleted>` entry of one deleted key, as AWS words it: `VersionId`
/// is the version the request named; a delete marker made (no version
/// named) or removed (named) is `DeleteMarker` with its id in
/// `DeleteMarkerVersionId`.
fn deleted_entry(key: String, named: Option<String>, outcome: &DeleteOutcome) -> DeletedObject {
    DeletedObject {
        key: Some(key),
        version_id: named,
        delete_marker: outcome.delete_marker.then_some(true),
        delete_marker_version_id: if outcome.delete_marker {
            version_string(outcome.version_id)
        } else {
            None
        },
    }
}

pub async fn delete_objects(
    gw: &Gateway,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let i = req.input;
    if i.delete.objects.len() > MAX_DELETE_KEYS {
        return Err(s3_error!(
            MalformedXML,
            "at most 1000 keys may be deleted in one request"
        ));
    }
    super::common::existing_bucket(gw, &i.bucket).await?;
    let quiet = i.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for obj in i.delete.objects {
        let key = obj.key;
        let result = match parse_version(obj.version_id.as_deref()) {
            Err(e) => Err(e),
            Ok(version) => delete_version(gw, &i.bucket, &key, version, None).await,
        };
        match result {
            Ok(outcome) => {
                if !quiet {
                    deleted.push(deleted_entry(key, obj.version_id, &outcome));
                }
            }
            Err(e) => errors.push(Error {
                code: Some(e.code().as_str().to_string()),
                key: Some(key),
                message: e.message().map(str::to_string),
                version_id: obj.version_id,
            }),
        }
    }
    let output = DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(version_id: Option<ObjectVersionId>, delete_marker: bool) -> DeleteOutcome {
        DeleteOutcome {
            removed: None,
            version_id,
            delete_marker,
        }
    }

    #[test]
    fn deleted_entries_follow_aws() {
        let m = ObjectVersionId::Id(VersionId::new_random());
        // A marker made by a delete without a version id.
        let e = deleted_entry("k".into(), None, &outcome(Some(m), true));
        assert_eq!(e.version_id, None);
        assert_eq!(e.delete_marker, Some(true));
        assert_eq!(e.delete_marker_version_id, Some(m.to_string()));
        // A marker removed by naming it.
        let e = deleted_entry("k".into(), Some(m.to_string()), &outcome(Some(m), true));
        assert_eq!(e.version_id, Some(m.to_string()));
        assert_eq!(e.delete_marker_version_id, Some(m.to_string()));
        // An object version removed by naming it.
        let e = deleted_entry("k".into(), Some(m.to_string()), &outcome(Some(m), false));
        assert_eq!(e.version_id, Some(m.to_string()));
        assert_eq!(e.delete_marker, None);
        assert_eq!(e.delete_marker_version_id, None);
        // A bucket that never had versioning.
        let e = deleted_entry("k".into(), None, &outcome(None, false));
        assert_eq!((e.version_id, e.delete_marker), (None, None));
    }
}
