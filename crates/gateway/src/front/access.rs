//! Tenants at the S3 door: before s3s decodes an operation, the key that
//! signed it must hold a grant covering what the operation does in its
//! bucket (`need_of`): reading objects, writing them, or owning the bucket
//! (its configuration and deletion). Any signed key may list its buckets
//! and create new ones (it owns what it creates); a copy also needs read
//! access to its source bucket. The bucket's policy (`cairn_types::policy`)
//! may allow more — anonymous reads of a public prefix, an upload right for
//! a key — or deny an object action to a key (a deny wins over grants, but
//! not over a root key's, so no policy locks the operator out). Refusals
//! are S3 `AccessDenied` (403) and counted.

use crate::gateway::Gateway;
use cairn_types::access::{ALL_BUCKETS, Need, permits};
use cairn_types::policy::{Action, Decision};
use cairn_types::policy_condition::{ClientConnection, RequestContext};
use s3s::access::{S3Access, S3AccessContext};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};

/// Counter of S3 requests refused for their key's grants or the bucket's policy.
pub const DENIED_METRIC: &str = "cairn_s3_access_denied_total";

/// Header naming a copy's source (`/bucket/key` or `bucket/key`).
const COPY_SOURCE: &str = "x-amz-copy-source";

pub struct Tenants {
    pub gateway: Gateway,
}

/// What operation `op` asks of the key on its bucket. Operations not
/// listed are bucket configuration: owners only.
pub fn need_of(op: &str) -> Need {
    match op {
        "GetObject"
        | "HeadObject"
        | "ListObjects"
        | "ListObjectsV2"
        | "ListObjectVersions"
        | "GetObjectTagging"
        | "GetObjectAttributes"
        | "GetObjectAcl"
        | "ListMultipartUploads"
        | "ListParts"
        | "GetBucketVersioning"
        | "GetBucketCors"
        | "GetBucketTagging"
        | "GetBucketLifecycleConfiguration"
        | "GetBucketAcl" => Need::Read,
        "PutObject"
        | "PostObject"
        | "DeleteObject"
        | "DeleteObjects"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload"
        | "PutObjectTagging"
        | "DeleteObjectTagging" => Need::Write,
        "HeadBucket" | "GetBucketLocation" => Need::Any,
        _ => Need::Owner,
    }
}

/// The policy action an operation is (None: policies do not speak of it).
pub fn action_of(op: &str) -> Option<Action> {
    Some(match op {
        "GetObject" | "HeadObject" | "GetObjectAttributes" => Action::GetObject,
        "ListObjects" | "ListObjectsV2" => Action::ListBucket,
        "PutObject"
        | "PostObject"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload" => Action::PutObject,
        "DeleteObject" | "DeleteObjects" => Action::DeleteObject,
        _ => return None,
    })
}

/// The bucket of a copy source header value.
fn copy_source_bucket(value: &str) -> Option<&str> {
    let v = value.strip_prefix('/').unwrap_or(value);
    v.split('/').next().filter(|b| !b.is_empty())
}

fn denied(op: &str, key: Option<&str>, bucket: &str) -> s3s::S3Error {
    metrics::counter!(DENIED_METRIC).increment(1);
    tracing::debug!(
        op,
        key = key.unwrap_or("(anonymous)"),
        bucket,
        "access denied"
    );
    s3_error!(AccessDenied, "Access Denied")
}

/// What a request brings for policy conditions: its connection (a
/// request without one — none reaches here so — counts as plain HTTP from
/// nowhere, so a TLS-only policy refuses it) and a listing's `prefix`.
fn request_context(cx: &mut S3AccessContext<'_>) -> RequestContext {
    let conn = cx.extensions_mut().get::<ClientConnection>().copied();
    let prefix = cx.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(name, _)| name == "prefix")
            .map(|(_, v)| v.into_owned())
    });
    RequestContext {
        secure_transport: conn.is_some_and(|c| c.tls),
        source_ip: conn.map(|c| c.peer.ip()),
        prefix,
    }
}

impl Tenants {
    /// What the bucket's policy says about this request.
    async fn policy_decision(
        &self,
        rcx: &RequestContext,
        op: &str,
        key: Option<&str>,
        bucket: &str,
        object: Option<&str>,
    ) -> S3Result<Decision> {
        let Some(action) = action_of(op) else {
            return Ok(Decision::Silent);
        };
        let Some(policy) = self.gateway.policy(bucket).await? else {
            return Ok(Decision::Silent);
        };
        Ok(match (op, action) {
            // Keys named in the body: a deny of any object refuses it all,
            // and only grants allow it.
            ("DeleteObjects", _) if policy.denies_any(rcx, key, action) => Decision::Deny,
            ("DeleteObjects", _) => Decision::Silent,
            (_, Action::ListBucket) => policy.decide(rcx, key, action, None),
            _ => match object {
                Some(o) => policy.decide(rcx, key, action, Some(o)),
                None => Decision::Silent,
            },
        })
    }
}

#[async_trait::async_trait]
impl S3Access for Tenants {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let rcx = request_context(cx);
        let op = cx.s3_op().name();
        let key = cx.credentials().map(|c| c.access_key.clone());
        let (bucket, object) = match cx.s3_path() {
            // ListBuckets: any key, filtered to its buckets.
            S3Path::Root => {
                return match key {
                    Some(_) => Ok(()),
                    None => Err(denied(op, None, "")),
                };
            }
            S3Path::Bucket { bucket } => (bucket.to_string(), None),
            S3Path::Object { bucket, key } => (bucket.to_string(), Some(key.to_string())),
        };
        // Any key may create a bucket; it becomes its owner.
        if op == "CreateBucket" {
            return match key {
                Some(_) => Ok(()),
                None => Err(denied(op, None, &bucket)),
            };
        }
        let decision = self
            .policy_decision(&rcx, op, key.as_deref(), &bucket, object.as_deref())
            .await?;
        let Some(key) = key else {
            // Anonymous: only what a policy allows.
            return match decision {
                Decision::Allow => Ok(()),
                _ => Err(denied(op, None, &bucket)),
            };
        };
        let grants = self.gateway.grants(&key).await?;
        let root = permits(&grants, ALL_BUCKETS, Need::Owner);
        if decision == Decision::Deny && !root {
            return Err(denied(op, Some(&key), &bucket));
        }
        if !permits(&grants, &bucket, need_of(op)) && decision != Decision::Allow {
            return Err(denied(op, Some(&key), &bucket));
        }
        if matches!(op, "CopyObject" | "UploadPartCopy")
            && let Some(source) = cx
                .headers()
                .get(COPY_SOURCE)
                .and_then(|v| v.to_str().ok())
                .and_then(copy_source_bucket)
            && !permits(&grants, source, Need::Read)
        {
            return Err(denied(op, Some(&key), source));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_ask_for_what_they_do() {
        assert_eq!(need_of("GetObject"), Need::Read);
        assert_eq!(need_of("ListObjectsV2"), Need::Read);
        assert_eq!(need_of("PutObject"), Need::Write);
        assert_eq!(need_of("CompleteMultipartUpload"), Need::Write);
        assert_eq!(need_of("HeadBucket"), Need::Any);
        assert_eq!(need_of("DeleteBucket"), Need::Owner);
        assert_eq!(need_of("PutBucketPolicy"), Need::Owner);
        assert_eq!(need_of("GetBucketPolicy"), Need::Owner);
        assert_eq!(need_of("SomethingNew"), Need::Owner);
        assert_eq!(action_of("HeadObject"), Some(Action::GetObject));
        assert_eq!(action_of("UploadPart"), Some(Action::PutObject));
        assert_eq!(action_of("PutBucketPolicy"), None);
        assert_eq!(copy_source_bucket("/src/a/b.txt"), Some("src"));
        assert_eq!(copy_source_bucket("src/k?versionId=1"), Some("src"));
        assert_eq!(copy_source_bucket("/"), None);
    }
}
