//! S3 helpers of the tests: a client with the SDK's retries off (every
//! failure a test sees is the server's answer), whole-object PUT and GET that
//! panic with the S3 error's full context, and small accessors of errors.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;

/// The region every test client signs for.
pub const REGION: &str = "us-east-1";
/// Header choosing a bucket's redundancy at CreateBucket.
pub const REDUNDANCY_HEADER: &str = "x-cairn-redundancy";

/// A path-style client of `endpoint` signing with the given key pair, with
/// the SDK's retries off.
pub fn client_for(endpoint: &str, access: &str, secret: &str) -> Client {
    let creds = aws_sdk_s3::config::Credentials::new(access, secret, None, None, "cairn-testkit");
    let config = aws_sdk_s3::config::Builder::new()
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(creds)
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .behavior_version_latest()
        .build();
    Client::from_conf(config)
}

/// PUTs `data` as `bucket/key`; panics with the S3 error on failure.
pub async fn put_bytes(c: &Client, bucket: &str, key: &str, data: &[u8]) -> PutObjectOutput {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {bucket}/{key}: {}", DisplayErrorContext(&e)))
}

/// Uploads `parts` (numbered from 1) as the multipart object `bucket/key`;
/// panics with the S3 error on failure. Answers the ETag Complete gave.
pub async fn put_multipart(c: &Client, bucket: &str, key: &str, parts: &[&[u8]]) -> String {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let fail =
        |what: &str, e: &dyn std::fmt::Display| -> ! { panic!("{what} {bucket}/{key}: {e}") };
    let upload = c
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| fail("CreateMultipartUpload", &DisplayErrorContext(&e)));
    let id = upload.upload_id().unwrap_or_default().to_string();
    let mut done = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(part.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| fail("UploadPart", &DisplayErrorContext(&e)));
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
    }
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(done))
        .build();
    let out = c
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(completed)
        .send()
        .await
        .unwrap_or_else(|e| fail("CompleteMultipartUpload", &DisplayErrorContext(&e)));
    out.e_tag().unwrap_or_default().to_string()
}

/// GETs `bucket/key` whole; panics with the S3 error on failure.
pub async fn get_bytes(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key}: {}", DisplayErrorContext(&e)));
    out.body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key}: body: {e}"))
        .into_bytes()
        .to_vec()
}

/// Creates `bucket` with a chosen redundancy (`replicas=N` or `ec=K+M`);
/// panics with the S3 error on failure.
pub async fn create_bucket_with_redundancy(c: &Client, bucket: &str, redundancy: &str) {
    try_create_bucket_with_redundancy(c, bucket, redundancy)
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket} ({redundancy}): {e}"));
}

/// Creates `bucket` with a chosen redundancy; the S3 error, with its context, on failure.
pub async fn try_create_bucket_with_redundancy(
    c: &Client,
    bucket: &str,
    redundancy: &str,
) -> Result<(), String> {
    let redundancy = redundancy.to_owned();
    c.create_bucket()
        .bucket(bucket)
        .customize()
        .mutate_request(move |r| {
            r.headers_mut()
                .insert(REDUNDANCY_HEADER, redundancy.clone());
        })
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DisplayErrorContext(&e).to_string())
}

/// The HTTP status of a failed S3 call, when the server answered at all.
pub fn http_status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}
