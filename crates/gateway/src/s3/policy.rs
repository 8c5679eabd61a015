//! Bucket policies through S3: PutBucketPolicy parses the document before it
//! is stored (`cairn_types::policy`: the subset people use; anything else
//! answers NotImplemented, nonsense MalformedPolicy), GetBucketPolicy gives
//! it back as it was put, DeleteBucketPolicy removes it. Only a bucket's
//! owners reach these (the access check). The access check applies the
//! policy to every request of the bucket.

use crate::errors::meta_error;
use crate::gateway::Gateway;
use cairn_rpc::MetaCommand;
use cairn_rpc::meta_reads as reads;
use cairn_types::policy::{PolicyError, parse};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// Largest policy document (AWS's limit: 20 KB).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

pub async fn put_bucket_policy(
    gw: &Gateway,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let bucket = req.input.bucket;
    let doc = req.input.policy;
    if doc.len() > MAX_POLICY_BYTES {
        return Err(s3_error!(
            MalformedPolicy,
            "Policies must be no more than {MAX_POLICY_BYTES} bytes"
        ));
    }
    super::common::existing_bucket(gw, &bucket).await?;
    parse(&doc, &bucket).map_err(|e| match e {
        PolicyError::Malformed(m) => s3_error!(MalformedPolicy, "{m}"),
        PolicyError::NotImplemented(m) => s3_error!(NotImplemented, "{m}"),
    })?;
    gw.meta()
        .write(&MetaCommand::SetBucketPolicy {
            bucket: bucket.clone(),
            policy: Some(doc),
        })
        .await
        .map_err(meta_error)?;
    gw.forget_policy(&bucket);
    let mut resp = S3Response::new(PutBucketPolicyOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

pub async fn get_bucket_policy(
    gw: &Gateway,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    let policy = gw
        .meta()
        .read(reads::GetBucketPolicy {
            bucket: req.input.bucket,
        })
        .await
        .map_err(meta_error)?
        .ok_or_else(|| s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"))?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy),
    }))
}

pub async fn delete_bucket_policy(
    gw: &Gateway,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    let bucket = req.input.bucket;
    gw.meta()
        .write(&MetaCommand::SetBucketPolicy {
            bucket: bucket.clone(),
            policy: None,
        })
        .await
        .map_err(meta_error)?;
    gw.forget_policy(&bucket);
    let mut resp = S3Response::new(DeleteBucketPolicyOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}
