//! Small helpers shared by the tests: time bounds and the per-test bucket
//! ([`with_bucket`]), names, data, digests, checksums, error checks.

use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::types::{ChecksumAlgorithm, Delete, ObjectIdentifier};
use md5::{Digest, Md5};
use rand::RngCore;

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;

/// Upper bound on one test's run time.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest bucket name S3 allows.
const MAX_BUCKET_NAME_LEN: usize = 63;
/// Random hex characters at the end of every unique bucket name.
const BUCKET_SUFFIX_HEX_LEN: usize = 8;
/// Keys per DeleteObjects call when cleaning up.
const DELETE_BATCH: usize = 1000;

/// Runs a test body, failing the test if it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<T>(body: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TEST_TIMEOUT, body).await {
        Ok(value) => value,
        Err(_) => panic!("test did not finish within {TEST_TIMEOUT:?}"),
    }
}

/// A valid, lowercase bucket name unique to this call: `<prefix>-<pid>-<n>-<random>`.
pub fn unique_bucket(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut clean: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    clean = clean.trim_matches('-').to_owned();
    if clean.is_empty() {
        clean.push('t');
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = hex::encode(random_bytes(BUCKET_SUFFIX_HEX_LEN / 2));
    let tail = format!("-{}-{n}-{random}", std::process::id());
    clean.truncate(MAX_BUCKET_NAME_LEN - tail.len());
    let clean = clean.trim_end_matches('-');
    format!("{clean}{tail}")
}

/// Creates a uniquely named bucket and returns its name (panics if that fails).
pub async fn create_bucket(client: &Client, prefix: &str) -> String {
    let bucket = unique_bucket(prefix);
    if let Err(e) = client.create_bucket().bucket(&bucket).send().await {
        panic!("CreateBucket {bucket} failed: {}", DisplayErrorContext(&e));
    }
    bucket
}

/// A test against a fresh bucket: runs `body` with a default client and a
/// new bucket named after `prefix`, within [`TEST_TIMEOUT`], and removes the
/// bucket when the body returns ([`cleanup_bucket`]; a failing test leaves it).
pub async fn with_bucket(prefix: &str, body: impl AsyncFnOnce(&Client, &str)) {
    with_client_bucket(crate::client(), prefix, body).await
}

/// [`with_bucket`] with the given client.
pub async fn with_client_bucket(c: Client, prefix: &str, body: impl AsyncFnOnce(&Client, &str)) {
    bounded(async {
        let bucket = create_bucket(&c, prefix).await;
        body(&c, &bucket).await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

/// Best-effort removal of a bucket and everything in it. Only done against an
/// external endpoint: the in-process server's data dir is thrown away anyway,
/// and cleaning up there would only add load (and unrelated failure points).
pub async fn cleanup_bucket(client: &Client, bucket: &str) {
    if crate::server::target().in_process {
        return;
    }
    if let Ok(uploads) = client.list_multipart_uploads().bucket(bucket).send().await {
        for upload in uploads.uploads() {
            if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                let _ = client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await;
            }
        }
    }
    let mut token: Option<String> = None;
    loop {
        let Ok(page) = client
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
        else {
            break;
        };
        let ids: Vec<ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
            .collect();
        for batch in ids.chunks(DELETE_BATCH) {
            if let Ok(delete) = Delete::builder()
                .set_objects(Some(batch.to_vec()))
                .quiet(true)
                .build()
            {
                let _ = client
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await;
            }
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let _ = client.delete_bucket().bucket(bucket).send().await;
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut data = vec![0u8; n];
    rand::rng().fill_bytes(&mut data);
    data
}

/// Lowercase hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// The base64 `Content-MD5` header value of `body`.
pub fn content_md5(body: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(body))
}

/// The ETag S3 gives a single-part upload of `data`: the quoted hex MD5.
pub fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", md5_hex(data))
}

/// The ETag S3 gives a completed multipart upload of these parts, in order:
/// `"<hex md5 of the concatenated binary part md5s>-<part count>"`.
pub fn multipart_etag<P: AsRef<[u8]>>(parts: &[P]) -> String {
    let mut outer = Md5::new();
    for part in parts {
        outer.update(Md5::digest(part.as_ref()));
    }
    format!("\"{}-{}\"", hex::encode(outer.finalize()), parts.len())
}

/// Reads a GetObject body to the end.
pub async fn collect_body(output: GetObjectOutput) -> Vec<u8> {
    match output.body.collect().await {
        Ok(data) => data.into_bytes().to_vec(),
        Err(e) => panic!(
            "reading the GetObject body failed: {}",
            DisplayErrorContext(&e)
        ),
    }
}

/// The S3 error code of a failed call, if the server answered with one.
pub fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned)
}

/// The HTTP status of a failed call, if there was a response.
pub fn error_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Asserts that `result` is an S3 error with this code and HTTP status, and returns the error.
#[track_caller]
pub fn expect_s3_error<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    code: &str,
    status: u16,
) -> SdkError<E, HttpResponse>
where
    T: Debug,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        Ok(output) => {
            panic!("expected S3 error {code} ({status}), but the call succeeded: {output:?}")
        }
        Err(err) => err,
    };
    let got_code = error_code(&err);
    let got_status = error_status(&err);
    if got_code.as_deref() != Some(code) || got_status != Some(status) {
        panic!(
            "expected S3 error {code} ({status}), got code {got_code:?} status {got_status:?}: {}; body: {}",
            DisplayErrorContext(&err),
            error_body(&err)
        );
    }
    err
}

/// The body of a failed call's response as (lossy) UTF-8, empty if there was none.
pub fn error_body<E>(err: &SdkError<E, HttpResponse>) -> String {
    err.raw_response()
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// Decodes `application/x-www-form-urlencoded`-style text (`+` is a space,
/// `%XX` a byte), as S3 clients do with `encoding-type=url` listings.
pub fn url_decode_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
            {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The base64 `x-amz-checksum-*` value of `data` for an algorithm named as
/// in its header (`crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`), computed
/// with the SDK's own checksum crate.
pub fn checksum_b64(algorithm: &str, data: &[u8]) -> String {
    use std::str::FromStr;
    let mut checksum = aws_smithy_checksums::ChecksumAlgorithm::from_str(algorithm)
        .unwrap_or_else(|_| panic!("unknown checksum algorithm {algorithm}"))
        .into_impl();
    checksum.update(data);
    checksum
        .header_value()
        .to_str()
        .expect("base64 header value")
        .to_owned()
}

/// The SDK's name for a checksum algorithm named as in its header.
pub fn sdk_algorithm(name: &str) -> ChecksumAlgorithm {
    match name {
        "crc32" => ChecksumAlgorithm::Crc32,
        "crc32c" => ChecksumAlgorithm::Crc32C,
        "crc64nvme" => ChecksumAlgorithm::Crc64Nvme,
        "sha1" => ChecksumAlgorithm::Sha1,
        "sha256" => ChecksumAlgorithm::Sha256,
        other => panic!("no SDK algorithm for {other}"),
    }
}

/// The checksum field of an SDK output (or part) for an algorithm named as
/// in its header (`crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`).
#[macro_export]
macro_rules! checksum_field {
    ($out:expr, $alg:expr) => {
        match $alg {
            "crc32" => $out.checksum_crc32(),
            "crc32c" => $out.checksum_crc32_c(),
            "crc64nvme" => $out.checksum_crc64_nvme(),
            "sha1" => $out.checksum_sha1(),
            "sha256" => $out.checksum_sha256(),
            other => panic!("no checksum field for {other}"),
        }
    };
}

/// S3's composite checksum of a multipart object: the checksum of the
/// concatenated binary part checksums, then `-<parts>`.
pub fn composite_checksum(algorithm: &str, part_checksums: &[String]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut joined = Vec::new();
    for c in part_checksums {
        joined.extend(b64.decode(c).expect("base64 part checksum"));
    }
    format!(
        "{}-{}",
        checksum_b64(algorithm, &joined),
        part_checksums.len()
    )
}
