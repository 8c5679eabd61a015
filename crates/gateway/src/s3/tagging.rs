//! Object and bucket tagging: the six tagging operations, the `x-amz-tagging`
//! request header (PutObject, CreateMultipartUpload, CopyObject) and AWS's
//! rules for a tag set. Tags are stored by meta beside the object (or
//! bucket) they belong to, so an overwrite replaces them and a delete drops
//! them. Each object version has its own tags (`versionId`); a delete marker
//! has none and answers 405 MethodNotAllowed.

use super::common::check_key;
use super::versioning::{MarkerRule, find_version, parse_version, version_string};
use crate::errors::{internal, meta_error};
use crate::gateway::Gateway;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use cairn_types::Tag;
use cairn_types::limits::{
    MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS,
};
use s3s::dto::{
    DeleteBucketTaggingInput, DeleteBucketTaggingOutput, DeleteObjectTaggingInput,
    DeleteObjectTaggingOutput, GetBucketTaggingInput, GetBucketTaggingOutput,
    GetObjectTaggingInput, GetObjectTaggingOutput, PutBucketTaggingInput, PutBucketTaggingOutput,
    PutObjectTaggingInput, PutObjectTaggingOutput, TagSet,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// Prefix reserved for AWS's own tags.
const RESERVED_PREFIX: &str = "aws:";

/// Why a tag set is refused; every case is S3's 400 InvalidTag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("Object tags cannot be greater than {0}")]
    TooMany(usize),
    #[error("The TagKey you have provided is too long, max {MAX_TAG_KEY_CHARS}")]
    KeyTooLong,
    #[error("The TagValue you have provided is too long, max {MAX_TAG_VALUE_CHARS}")]
    ValueTooLong,
    #[error("The TagKey you have provided is invalid")]
    InvalidKey,
    #[error("The TagValue you have provided is invalid")]
    InvalidValue,
    #[error("Cannot provide multiple Tags with the same key")]
    DuplicateKey,
    #[error("Your TagKey cannot be prefixed with aws:")]
    ReservedPrefix,
    #[error(
        "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."
    )]
    BadHeader,
}

impl From<TagError> for S3Error {
    fn from(e: TagError) -> Self {
        // A malformed header is InvalidArgument at AWS; every rule of the set is InvalidTag.
        let code = match e {
            TagError::BadHeader => S3ErrorCode::InvalidArgument,
            _ => S3ErrorCode::InvalidTag,
        };
        S3Error::with_message(code, e.to_string())
    }
}

/// AWS's tag alphabet: Unicode letters, digits and spaces, and `_ . : / = + - @`.
fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

/// Checks a tag set against AWS's rules, `max` being the object or bucket limit.
pub fn validate_tags(tags: &[Tag], max: usize) -> Result<(), TagError> {
    if tags.len() > max {
        return Err(TagError::TooMany(max));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.key.chars().count() > MAX_TAG_KEY_CHARS {
            return Err(TagError::KeyTooLong);
        }
        if t.value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(TagError::ValueTooLong);
        }
        if t.key.is_empty() || !t.key.chars().all(allowed_char) {
            return Err(TagError::InvalidKey);
        }
        if !t.value.chars().all(allowed_char) {
            return Err(TagError::InvalidValue);
        }
        if t.key.starts_with(RESERVED_PREFIX) {
            return Err(TagError::ReservedPrefix);
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(TagError::DuplicateKey);
        }
    }
    Ok(())
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(s: &str) -> Result<String, TagError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(TagError::BadHeader)?;
                let hex = std::str::from_utf8(hex).map_err(|_| TagError::BadHeader)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| TagError::BadHeader)?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| TagError::BadHeader)
}

/// Parses an `x-amz-tagging` header (`k1=v1&k2=v2`, URL-encoded) and checks
/// the set against the object limits.
pub fn parse_tagging_header(header: &str) -> Result<Vec<Tag>, TagError> {
    let mut tags = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let tag = Tag {
            key: form_decode(k)?,
            value: form_decode(v)?,
        };
        if tags.iter().any(|t: &Tag| t.key == tag.key) {
            return Err(TagError::BadHeader);
        }
        tags.push(tag);
    }
    validate_tags(&tags, MAX_OBJECT_TAGS)?;
    Ok(tags)
}

/// The tags of an optional `x-amz-tagging` header (none: no tags).
pub fn header_tags(header: Option<&str>) -> S3Result<Vec<Tag>> {
    Ok(header
        .map(parse_tagging_header)
        .transpose()?
        .unwrap_or_default())
}

/// The tags of a `<Tagging>` body, checked against `max`.
fn tags_of_body(set: TagSet, max: usize) -> S3Result<Vec<Tag>> {
    let mut tags = Vec::with_capacity(set.len());
    for t in set {
        let key = t
            .key
            .ok_or_else(|| s3_error!(MalformedXML, "every Tag must have a Key"))?;
        tags.push(Tag {
            key,
            value: t.value.unwrap_or_default(),
        });
    }
    validate_tags(&tags, max)?;
    Ok(tags)
}

fn tag_set(tags: Vec<Tag>) -> TagSet {
    tags.into_iter()
        .map(|t| s3s::dto::Tag {
            key: Some(t.key),
            value: Some(t.value),
        })
        .collect()
}

/// Replaces the tags of the version `version_id` names (None: the current
/// one); answers the id of the version tagged (None in a bucket that never
/// had versioning).
async fn set_object_tags(
    gw: &Gateway,
    bucket: String,
    key: String,
    version_id: Option<String>,
    tags: Vec<Tag>,
) -> S3Result<Option<String>> {
    check_key(&key)?;
    let version = parse_version(version_id.as_deref())?;
    let written = gw
        .meta()
        .write(&MetaCommand::SetObjectVersionTags {
            bucket: bucket.clone(),
            key: key.clone(),
            version,
            tags,
        })
        .await;
    match written {
        Ok(MetaResponse::Tagged { version_id }) => Ok(version_string(version_id)),
        Ok(other) => Err(internal(format!("unexpected meta answer {other:?}"))),
        // Meta's refusal names no marker: read the version to answer with
        // the delete-marker headers GetObjectTagging sends.
        Err(e @ (MetaError::MethodNotAllowed(_) | MetaError::NoSuchKey)) => {
            find_version(gw, &bucket, &key, version_id.as_deref(), MarkerRule::Refuse).await?;
            Err(meta_error(e))
        }
        Err(e) => Err(meta_error(e)),
    }
}

pub async fn put_object_tagging(
    gw: &Gateway,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let i = req.input;
    let tags = tags_of_body(i.tagging.tag_set, MAX_OBJECT_TAGS)?;
    let version_id = set_object_tags(gw, i.bucket, i.key, i.version_id, tags).await?;
    Ok(S3Response::new(PutObjectTaggingOutput { version_id }))
}

pub async fn get_object_tagging(
    gw: &Gateway,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    let version = i.version_id.as_deref();
    let found = find_version(gw, &i.bucket, &i.key, version, MarkerRule::Refuse).await?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: tag_set(found.extras.tags),
        version_id: version_string(found.version_id),
    }))
}

pub async fn delete_object_tagging(
    gw: &Gateway,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let i = req.input;
    let version_id = set_object_tags(gw, i.bucket, i.key, i.version_id, Vec::new()).await?;
    Ok(S3Response::new(DeleteObjectTaggingOutput { version_id }))
}

pub async fn put_bucket_tagging(
    gw: &Gateway,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let i = req.input;
    let tags = tags_of_body(i.tagging.tag_set, MAX_BUCKET_TAGS)?;
    gw.meta()
        .write(&MetaCommand::SetBucketTags {
            bucket: i.bucket,
            tags,
        })
        .await
        .map_err(meta_error)?;
    Ok(S3Response::new(PutBucketTaggingOutput::default()))
}

pub async fn get_bucket_tagging(
    gw: &Gateway,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let tags = gw
        .meta()
        .read(reads::GetBucketTags {
            bucket: req.input.bucket.to_string(),
        })
        .await
        .map_err(meta_error)?;
    if tags.is_empty() {
        return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
    }
    Ok(S3Response::new(GetBucketTaggingOutput {
        tag_set: tag_set(tags),
    }))
}

pub async fn delete_bucket_tagging(
    gw: &Gateway,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    gw.meta()
        .write(&MetaCommand::SetBucketTags {
            bucket: req.input.bucket,
            tags: Vec::new(),
        })
        .await
        .map_err(meta_error)?;
    Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn aws_limits_are_enforced() {
        let ten: Vec<Tag> = (0..10).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(validate_tags(&ten, MAX_OBJECT_TAGS), Ok(()));
        let mut eleven = ten.clone();
        eleven.push(tag("k10", "v"));
        assert_eq!(
            validate_tags(&eleven, MAX_OBJECT_TAGS),
            Err(TagError::TooMany(10))
        );
        assert_eq!(validate_tags(&eleven, MAX_BUCKET_TAGS), Ok(()));
        // Lengths count characters, not bytes.
        let key128: String = "é".repeat(128);
        assert_eq!(validate_tags(&[tag(&key128, "")], 10), Ok(()));
        assert_eq!(
            validate_tags(&[tag(&format!("{key128}x"), "")], 10),
            Err(TagError::KeyTooLong)
        );
        let value256: String = "ü".repeat(256);
        assert_eq!(validate_tags(&[tag("k", &value256)], 10), Ok(()));
        assert_eq!(
            validate_tags(&[tag("k", &format!("{value256}x"))], 10),
            Err(TagError::ValueTooLong)
        );
        assert_eq!(
            validate_tags(&[tag("a", "1"), tag("a", "2")], 10),
            Err(TagError::DuplicateKey)
        );
        assert_eq!(
            validate_tags(&[tag("aws:cost", "1")], 10),
            Err(TagError::ReservedPrefix)
        );
        assert_eq!(
            validate_tags(&[tag("", "1")], 10),
            Err(TagError::InvalidKey)
        );
        assert_eq!(
            validate_tags(&[tag("a*", "1")], 10),
            Err(TagError::InvalidKey)
        );
        assert_eq!(
            validate_tags(&[tag("a", "x\ny")], 10),
            Err(TagError::InvalidValue)
        );
        assert_eq!(
            validate_tags(&[tag("Project Name", "a_b.c:d/e=f+g-h@i 42")], 10),
            Ok(())
        );
    }

    #[test]
    fn tagging_header_is_form_decoded() {
        assert_eq!(
            parse_tagging_header("a=1&b%20c=x+y&empty=&bare"),
            Ok(vec![
                tag("a", "1"),
                tag("b c", "x y"),
                tag("empty", ""),
                tag("bare", "")
            ])
        );
        assert_eq!(parse_tagging_header(""), Ok(vec![]));
        assert_eq!(parse_tagging_header("a=1&a=2"), Err(TagError::BadHeader));
        assert_eq!(parse_tagging_header("a=%zz"), Err(TagError::BadHeader));
        assert_eq!(parse_tagging_header("a=%C3"), Err(TagError::BadHeader));
        assert_eq!(
            parse_tagging_header("aws%3Ax=1"),
            Err(TagError::ReservedPrefix)
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert_eq!(
            parse_tagging_header(&eleven.join("&")),
            Err(TagError::TooMany(MAX_OBJECT_TAGS))
        );
    }

    #[test]
    fn errors_become_s3_codes() {
        let e: S3Error = TagError::DuplicateKey.into();
        assert_eq!(e.code(), &S3ErrorCode::InvalidTag);
        let e: S3Error = TagError::BadHeader.into();
        assert_eq!(e.code(), &S3ErrorCode::InvalidArgument);
    }
}
