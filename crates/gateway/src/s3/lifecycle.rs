//! Bucket lifecycle configuration: Put/Get/DeleteBucketLifecycle(Configuration)
//! between s3s's DTOs and the configuration meta keeps (validated as AWS
//! validates it). The meta leader's lifecycle job carries the rules out.
//! Supported: Expiration (Days, Date or ExpiredObjectDeleteMarker),
//! NoncurrentVersionExpiration (NoncurrentDays), AbortIncompleteMultipartUpload,
//! filters by prefix, object size and tags. Transitions (cairn has one
//! storage class) and NewerNoncurrentVersions are refused with 501, after
//! a transition's Date and Days are checked (a bad one is 400); a Status
//! other than Enabled or Disabled is MalformedXML.

use crate::errors::meta_error;
use crate::gateway::Gateway;
use cairn_rpc::MetaCommand;
use cairn_rpc::meta_reads as reads;
use cairn_types::lifecycle::{Expiration, LifecycleError, LifecycleRule, is_midnight};
use cairn_types::{LifecycleConfiguration, Tag, UnixMillis};
use s3s::dto::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, DeleteBucketLifecycleInput,
    DeleteBucketLifecycleOutput, ExpirationStatus, GetBucketLifecycleConfigurationInput,
    GetBucketLifecycleConfigurationOutput, LifecycleExpiration, LifecycleRule as DtoRule,
    LifecycleRuleAndOperator, LifecycleRuleFilter, NoncurrentVersionExpiration,
    PutBucketLifecycleConfigurationInput, PutBucketLifecycleConfigurationOutput, Timestamp,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

fn invalid(e: LifecycleError) -> S3Error {
    let code = match e {
        LifecycleError::RuleCount | LifecycleError::NoAction | LifecycleError::DaysAndDate => {
            S3ErrorCode::MalformedXML
        }
        LifecycleError::AbortWithTags => S3ErrorCode::InvalidRequest,
        _ => S3ErrorCode::InvalidArgument,
    };
    S3Error::with_message(code, e.to_string())
}

fn millis_of(t: Timestamp) -> UnixMillis {
    let t: time::OffsetDateTime = t.into();
    (t.unix_timestamp_nanos() / 1_000_000) as UnixMillis
}

fn timestamp_of(ms: UnixMillis) -> Option<Timestamp> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(Timestamp::from)
}

fn positive_days(days: i32, action: &'static str) -> S3Result<u32> {
    u32::try_from(days)
        .ok()
        .filter(|d| *d > 0)
        .ok_or_else(|| invalid(LifecycleError::DaysNotPositive(action)))
}

fn size(v: Option<i64>) -> S3Result<Option<u64>> {
    v.map(|s| {
        u64::try_from(s)
            .map_err(|_| s3_error!(InvalidArgument, "object size filters are not negative"))
    })
    .transpose()
}

fn from_dto(rule: DtoRule) -> S3Result<LifecycleRule> {
    let status = rule.status.as_str();
    if status != ExpirationStatus::ENABLED && status != ExpirationStatus::DISABLED {
        return Err(s3_error!(
            MalformedXML,
            "a lifecycle rule's Status is Enabled or Disabled, not {status:?}"
        ));
    }
    // A transition is checked as AWS checks it before it is refused as
    // unsupported: a bad date or day count is the client's error (400).
    for t in rule.transitions.iter().flatten() {
        if t.date.clone().is_some_and(|d| !is_midnight(millis_of(d))) {
            return Err(invalid(LifecycleError::DateNotMidnight));
        }
        if t.days.is_some_and(|d| d < 0) {
            return Err(s3_error!(
                InvalidArgument,
                "'Days' for Transition action must be a positive integer"
            ));
        }
    }
    if rule.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || rule
            .noncurrent_version_transitions
            .as_ref()
            .is_some_and(|t| !t.is_empty())
    {
        return Err(s3_error!(
            NotImplemented,
            "lifecycle transitions are not supported: cairn has one storage class"
        ));
    }
    let filter = rule.filter.unwrap_or_default();
    let (and_prefix, and_gt, and_lt, and_tags) = match filter.and {
        Some(and) => (
            and.prefix,
            and.object_size_greater_than,
            and.object_size_less_than,
            and.tags.unwrap_or_default(),
        ),
        None => (None, None, None, Vec::new()),
    };
    let tags = filter
        .tag
        .into_iter()
        .chain(and_tags)
        .map(|t| match (t.key, t.value) {
            (Some(key), value) if !key.is_empty() => Ok(Tag {
                key,
                value: value.unwrap_or_default(),
            }),
            _ => Err(s3_error!(
                MalformedXML,
                "a lifecycle filter tag needs a Key"
            )),
        })
        .collect::<S3Result<Vec<Tag>>>()?;
    let prefix = filter
        .prefix
        .or(and_prefix)
        .or(rule.prefix)
        .unwrap_or_default();
    let expiration = match rule.expiration {
        None => None,
        Some(e) => {
            let marker = e.expired_object_delete_marker == Some(true);
            match (e.days, e.date) {
                (Some(_), Some(_)) => return Err(invalid(LifecycleError::DaysAndDate)),
                (Some(_), None) | (None, Some(_)) if marker => {
                    return Err(s3_error!(
                        MalformedXML,
                        "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy."
                    ));
                }
                (Some(d), None) => Some(Expiration::Days(positive_days(d, "Expiration")?)),
                (None, Some(t)) => Some(Expiration::Date(millis_of(t))),
                (None, None) if marker => {
                    if !tags.is_empty() {
                        return Err(s3_error!(
                            InvalidRequest,
                            "ExpiredObjectDeleteMarker cannot be specified with object tags."
                        ));
                    }
                    Some(Expiration::ExpiredObjectDeleteMarker)
                }
                (None, None) => return Err(invalid(LifecycleError::NoAction)),
            }
        }
    };
    if rule
        .noncurrent_version_expiration
        .as_ref()
        .is_some_and(|n| n.newer_noncurrent_versions.is_some())
    {
        return Err(s3_error!(
            NotImplemented,
            "NewerNoncurrentVersions is not supported; NoncurrentDays alone is"
        ));
    }
    let noncurrent_days = rule
        .noncurrent_version_expiration
        .and_then(|n| n.noncurrent_days)
        .map(|d| positive_days(d, "NoncurrentVersionExpiration"))
        .transpose()?;
    let abort_incomplete_days = rule
        .abort_incomplete_multipart_upload
        .and_then(|a| a.days_after_initiation)
        .map(|d| positive_days(d, "AbortIncompleteMultipartUpload"))
        .transpose()?;
    Ok(LifecycleRule {
        id: rule.id,
        enabled: rule.status.as_str() == ExpirationStatus::ENABLED,
        prefix,
        size_greater_than: size(filter.object_size_greater_than.or(and_gt))?,
        size_less_than: size(filter.object_size_less_than.or(and_lt))?,
        tags,
        expiration,
        noncurrent_days,
        abort_incomplete_days,
    })
}

/// A rule's filter as S3 writes it: several conditions go under `And`.
fn filter_dto(rule: &LifecycleRule) -> LifecycleRuleFilter {
    let as_i64 = |v: Option<u64>| v.and_then(|s| i64::try_from(s).ok());
    let tags: Vec<s3s::dto::Tag> = rule
        .tags
        .iter()
        .map(|t| s3s::dto::Tag {
            key: Some(t.key.clone()),
            value: Some(t.value.clone()),
        })
        .collect();
    let conditions = usize::from(!rule.prefix.is_empty())
        + usize::from(rule.size_greater_than.is_some())
        + usize::from(rule.size_less_than.is_some())
        + tags.len();
    if conditions <= 1 {
        return LifecycleRuleFilter {
            prefix: tags.is_empty().then(|| rule.prefix.clone()),
            object_size_greater_than: as_i64(rule.size_greater_than),
            object_size_less_than: as_i64(rule.size_less_than),
            tag: tags.into_iter().next(),
            ..Default::default()
        };
    }
    LifecycleRuleFilter {
        and: Some(LifecycleRuleAndOperator {
            prefix: (!rule.prefix.is_empty()).then(|| rule.prefix.clone()),
            object_size_greater_than: as_i64(rule.size_greater_than),
            object_size_less_than: as_i64(rule.size_less_than),
            tags: (!tags.is_empty()).then_some(tags),
        }),
        ..Default::default()
    }
}

fn to_dto(rule: LifecycleRule) -> DtoRule {
    let as_i32 = |d: u32| i32::try_from(d).unwrap_or(i32::MAX);
    let filter = filter_dto(&rule);
    DtoRule {
        id: rule.id,
        status: ExpirationStatus::from_static(if rule.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        filter: Some(filter),
        expiration: rule.expiration.map(|e| match e {
            Expiration::Days(d) => LifecycleExpiration {
                days: Some(as_i32(d)),
                ..Default::default()
            },
            Expiration::Date(at) => LifecycleExpiration {
                date: timestamp_of(at),
                ..Default::default()
            },
            Expiration::ExpiredObjectDeleteMarker => LifecycleExpiration {
                expired_object_delete_marker: Some(true),
                ..Default::default()
            },
        }),
        noncurrent_version_expiration: rule.noncurrent_days.map(|d| NoncurrentVersionExpiration {
            noncurrent_days: Some(as_i32(d)),
            ..Default::default()
        }),
        abort_incomplete_multipart_upload: rule.abort_incomplete_days.map(|d| {
            AbortIncompleteMultipartUpload {
                days_after_initiation: Some(as_i32(d)),
            }
        }),
        noncurrent_version_transitions: None,
        prefix: None,
        transitions: None,
    }
}

pub async fn put_bucket_lifecycle_configuration(
    gw: &Gateway,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let BucketLifecycleConfiguration { rules } = req
        .input
        .lifecycle_configuration
        .ok_or_else(|| s3_error!(MalformedXML, "a LifecycleConfiguration body is required"))?;
    let config = LifecycleConfiguration {
        rules: rules
            .into_iter()
            .map(from_dto)
            .collect::<S3Result<Vec<_>>>()?,
    };
    config.validate().map_err(invalid)?;
    gw.meta()
        .write(&MetaCommand::SetBucketLifecycle {
            bucket: req.input.bucket.clone(),
            config: Some(config),
        })
        .await
        .map_err(meta_error)?;
    Ok(S3Response::new(
        PutBucketLifecycleConfigurationOutput::default(),
    ))
}

pub async fn get_bucket_lifecycle_configuration(
    gw: &Gateway,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let config = gw
        .meta()
        .read(reads::GetBucketLifecycle {
            bucket: req.input.bucket.to_string(),
        })
        .await
        .map_err(meta_error)?
        .ok_or_else(|| {
            s3_error!(
                NoSuchLifecycleConfiguration,
                "The lifecycle configuration does not exist"
            )
        })?;
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
        rules: Some(config.rules.into_iter().map(to_dto).collect()),
        ..Default::default()
    }))
}

pub async fn delete_bucket_lifecycle(
    gw: &Gateway,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    gw.meta()
        .write(&MetaCommand::SetBucketLifecycle {
            bucket: req.input.bucket.clone(),
            config: None,
        })
        .await
        .map_err(meta_error)?;
    let mut resp = S3Response::new(DeleteBucketLifecycleOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}
