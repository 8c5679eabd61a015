//! Bucket operations: CreateBucket (with the `x-cairn-redundancy` header),
//! DeleteBucket, HeadBucket, ListBuckets and GetBucketLocation (bucket
//! versioning is in `versioning`).

use super::common::{owner, timestamp};
use crate::errors::meta_error;
use crate::gateway::Gateway;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{MetaCommand, MetaError};
use cairn_types::access::{Need, permits};
use cairn_types::limits::{MAX_EC_WIDTH, MAX_REPLICAS};
use cairn_types::{Bucket, Redundancy, now_millis, validate_bucket_name};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// The region whose CreateBucket of a bucket the caller owns already
/// answers 200 rather than BucketAlreadyOwnedByYou.
const LEGACY_REGION: &str = "us-east-1";

/// Request header choosing a new bucket's redundancy: `replicas=3`, `ec=4+2`.
pub const REDUNDANCY_HEADER: &str = "x-cairn-redundancy";
pub async fn create_bucket(
    gw: &Gateway,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    super::acl::check_create_bucket_acl(&req.input)?;
    let name = req.input.bucket.clone();
    validate_bucket_name(&name)
        .map_err(|e| S3Error::with_message(S3ErrorCode::InvalidBucketName, e.to_string()))?;
    if let Some(constraint) = req
        .input
        .create_bucket_configuration
        .and_then(|c| c.location_constraint)
    {
        let region = &gw.opts().region;
        if constraint.as_str() != region.as_str() {
            return Err(s3_error!(
                InvalidLocationConstraint,
                "this cluster's region is {region}"
            ));
        }
    }
    let chosen = match req.headers.get(REDUNDANCY_HEADER) {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(Redundancy::parse).ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "x-cairn-redundancy must be replicas=N (N from 1 to {MAX_REPLICAS}) or ec=K+M (K, M at least 1, K+M at most {MAX_EC_WIDTH})"
            )
        })?),
    };
    // Before the first layout, the registered nodes are what it can hold.
    let nodes = match gw.data().current_layout().await? {
        Some(layout) => layout.placeable_nodes(),
        None => gw.data().nodes().await?.len(),
    };
    // The default (`auto`: up to 3 replicas) is resolved against the layout.
    let redundancy = chosen.unwrap_or_else(|| gw.opts().default_redundancy.resolve(nodes));
    if redundancy.width() > nodes {
        return Err(s3_error!(
            InvalidArgument,
            "{redundancy} needs {} storage nodes; the cluster's layout has {nodes}",
            redundancy.width()
        ));
    }
    let bucket = Bucket {
        name: name.clone(),
        created: now_millis(),
        redundancy,
    };
    // The key that creates a bucket owns it (the access check let only
    // signed requests through).
    let owner = signer(&req.credentials)?;
    let created = gw
        .meta()
        .write(&MetaCommand::CreateBucketOwned {
            bucket,
            owner: owner.clone(),
        })
        .await;
    match created {
        // us-east-1's legacy rule: creating a bucket you own already
        // succeeds (and changes nothing); other regions answer 409.
        Err(MetaError::BucketAlreadyOwnedByYou) if gw.opts().region == LEGACY_REGION => {}
        other => {
            other.map_err(meta_error)?;
        }
    }
    gw.forget_grants(&owner);
    let output = CreateBucketOutput {
        location: Some(format!("/{name}")),
    };
    Ok(S3Response::new(output))
}

/// The access key that signed a request (the access check refuses
/// unsigned ones before any handler runs).
fn signer(credentials: &Option<s3s::auth::Credentials>) -> S3Result<String> {
    credentials
        .as_ref()
        .map(|c| c.access_key.clone())
        .ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed"))
}

pub async fn delete_bucket(
    gw: &Gateway,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    gw.meta()
        .write(&MetaCommand::DeleteBucket {
            name: req.input.bucket,
        })
        .await
        .map_err(meta_error)?;
    let mut resp = S3Response::new(DeleteBucketOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

pub async fn head_bucket(
    gw: &Gateway,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    let output = HeadBucketOutput {
        bucket_region: Some(gw.opts().region.clone()),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn list_buckets(
    gw: &Gateway,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let grants = gw.grants(&signer(&req.credentials)?).await?;
    let buckets = gw
        .meta()
        .read(reads::ListBuckets {})
        .await
        .map_err(meta_error)?;
    // A key sees the buckets it holds any grant on.
    let list = buckets
        .into_iter()
        .filter(|b| permits(&grants, &b.name, Need::Any))
        .map(|b| s3s::dto::Bucket {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created)),
            bucket_region: Some(gw.opts().region.clone()),
        })
        .collect();
    let output = ListBucketsOutput {
        buckets: Some(list),
        owner: Some(owner()),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn get_bucket_location(
    gw: &Gateway,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    let region = &gw.opts().region;
    // S3 reports its original region, us-east-1, as an empty constraint.
    let location_constraint =
        (region != LEGACY_REGION).then(|| BucketLocationConstraint::from(region.clone()));
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redundancy_header_values() {
        assert_eq!(
            Redundancy::parse("replicas=3"),
            Some(Redundancy::Replicas(3))
        );
        assert_eq!(
            Redundancy::parse(" replicas = 1 "),
            Some(Redundancy::Replicas(1))
        );
        assert_eq!(Redundancy::parse("replicas=0"), None);
        assert_eq!(Redundancy::parse("replicas=99"), None);
        assert_eq!(
            Redundancy::parse("ec=4+2"),
            Some(Redundancy::ErasureCoded { data: 4, parity: 2 })
        );
        assert_eq!(Redundancy::parse("ec=4+0"), None);
        assert_eq!(Redundancy::parse("ec=30+3"), None);
        assert_eq!(Redundancy::parse("garbage"), None);
    }
}
