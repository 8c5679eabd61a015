//! Listing objects: ListObjects (v1, marker) and ListObjectsV2 (continuation
//! token, start-after), with prefix, delimiter and `encoding-type=url`. Meta
//! does the scan; this module only maps parameters and encodes the answer.
//! As S3 does, v1 names every object's owner and v2 only with `fetch-owner=true`.

use super::common::{etag_of, timestamp};
use crate::errors::meta_error;
use crate::gateway::Gateway;
use base64::Engine;
use cairn_rpc::{ListObjectsPage, ListObjectsQuery};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// Keys a listing returns when the client does not say (S3's default and maximum).
pub const DEFAULT_MAX_KEYS: i32 = 1000;

/// Percent-encodes like S3 does for `encoding-type=url`: everything but
/// unreserved characters and '/'.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn wants_url(encoding: Option<&EncodingType>) -> S3Result<bool> {
    match encoding {
        None => Ok(false),
        Some(e) if e.as_str() == EncodingType::URL => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

pub(crate) fn max_keys(m: Option<i32>) -> S3Result<usize> {
    let m = m.unwrap_or(DEFAULT_MAX_KEYS);
    if m < 0 {
        return Err(s3_error!(
            InvalidArgument,
            "max-keys must be a non-negative integer"
        ));
    }
    Ok((m.min(DEFAULT_MAX_KEYS)) as usize)
}

struct Encoded {
    contents: Vec<Object>,
    prefixes: Vec<CommonPrefix>,
}

fn encode_page(page: &ListObjectsPage, url: bool, with_owner: bool) -> Encoded {
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let contents = page
        .objects
        .iter()
        .map(|o| Object {
            key: Some(enc(&o.key)),
            size: Some(o.size as i64),
            e_tag: Some(etag_of(&o.etag)),
            last_modified: Some(timestamp(o.last_modified)),
            storage_class: Some(ObjectStorageClass::from_static(
                ObjectStorageClass::STANDARD,
            )),
            owner: with_owner.then(super::common::owner),
            ..Default::default()
        })
        .collect();
    let prefixes = page
        .common_prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect();
    Encoded { contents, prefixes }
}

pub async fn list_objects(
    gw: &Gateway,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let i = req.input;
    let url = wants_url(i.encoding_type.as_ref())?;
    let max = max_keys(i.max_keys)?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let q = ListObjectsQuery {
        bucket: i.bucket.clone(),
        prefix: prefix.clone(),
        delimiter: i.delimiter.clone(),
        start_after: i.marker.clone().filter(|m| !m.is_empty()),
        max_keys: max,
    };
    let page = gw.meta().read(q).await.map_err(meta_error)?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let e = encode_page(&page, url, true);
    let next_marker = (page.truncated && echoed_delimiter(i.delimiter.as_deref()).is_some())
        .then(|| page.last.as_deref().map(enc))
        .flatten();
    let output = ListObjectsOutput {
        name: Some(i.bucket),
        prefix: Some(enc(&prefix)),
        marker: Some(i.marker.as_deref().map(enc).unwrap_or_default()),
        max_keys: Some(max as i32),
        is_truncated: Some(page.truncated),
        contents: (!e.contents.is_empty()).then_some(e.contents),
        common_prefixes: (!e.prefixes.is_empty()).then_some(e.prefixes),
        delimiter: echoed_delimiter(i.delimiter.as_deref()).map(enc),
        next_marker,
        encoding_type: i.encoding_type,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

/// The delimiter a listing echoes: an empty one is no delimiter, and S3
/// leaves it out of the answer.
pub(super) fn echoed_delimiter(delimiter: Option<&str>) -> Option<&str> {
    delimiter.filter(|d| !d.is_empty())
}

fn encode_token(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

pub(super) fn decode_token(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

pub async fn list_objects_v2(
    gw: &Gateway,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let i = req.input;
    let url = wants_url(i.encoding_type.as_ref())?;
    let max = max_keys(i.max_keys)?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let start_after = match &i.continuation_token {
        Some(t) => Some(decode_token(t)?),
        None => i.start_after.clone().filter(|s| !s.is_empty()),
    };
    let q = ListObjectsQuery {
        bucket: i.bucket.clone(),
        prefix: prefix.clone(),
        delimiter: i.delimiter.clone(),
        start_after,
        max_keys: max,
    };
    let page = gw.meta().read(q).await.map_err(meta_error)?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let e = encode_page(&page, url, i.fetch_owner == Some(true));
    let key_count = (e.contents.len() + e.prefixes.len()) as i32;
    let output = ListObjectsV2Output {
        name: Some(i.bucket),
        prefix: Some(enc(&prefix)),
        max_keys: Some(max as i32),
        key_count: Some(key_count),
        continuation_token: i.continuation_token,
        is_truncated: Some(page.truncated),
        next_continuation_token: if page.truncated {
            page.last.as_deref().map(encode_token)
        } else {
            None
        },
        contents: (!e.contents.is_empty()).then_some(e.contents),
        common_prefixes: (!e.prefixes.is_empty()).then_some(e.prefixes),
        delimiter: echoed_delimiter(i.delimiter.as_deref()).map(enc),
        encoding_type: i.encoding_type,
        start_after: i.start_after.as_deref().map(enc),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_matches_s3() {
        assert_eq!(url_encode("a b/c+d"), "a%20b/c%2Bd");
        assert_eq!(url_encode("ü"), "%C3%BC");
        assert_eq!(url_encode("safe-_.~"), "safe-_.~");
    }

    #[test]
    fn tokens_round_trip() {
        let t = encode_token("dir/ü key");
        assert_eq!(decode_token(&t).ok().as_deref(), Some("dir/ü key"));
        assert!(decode_token("!!!").is_err());
    }
}
