//! One-line forms of the S3 calls the tests make over and over: writes,
//! reads, deletes and listings that must succeed (they panic naming the
//! call, the bucket, the key and the S3 error when they do not), checks that
//! an object or a bucket is gone, the steps of a multipart upload, and
//! object tags. The `*_with` forms take a closure that adds options to the
//! request builder, so a test still shows every header it sends.

use std::collections::HashMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
use aws_sdk_s3::operation::complete_multipart_upload::builders::CompleteMultipartUploadFluentBuilder;
use aws_sdk_s3::operation::copy_object::CopyObjectOutput;
use aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder;
use aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::head_object::builders::HeadObjectFluentBuilder;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::list_objects_v2::builders::ListObjectsV2FluentBuilder;
use aws_sdk_s3::operation::list_parts::ListPartsOutput;
use aws_sdk_s3::operation::list_parts::builders::ListPartsFluentBuilder;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::operation::upload_part::builders::UploadPartFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging};

use crate::util::expect_s3_error;

/// Panics with the operation, where it went and the error with its context.
fn failed<E: std::error::Error + 'static>(op: &str, bucket: &str, key: &str, e: &E) -> ! {
    panic!("{op} {bucket}/{key}: {}", DisplayErrorContext(e))
}

/// A PutObject of `data`, for the caller to add options to and send.
pub fn put_request(c: &Client, bucket: &str, key: &str, data: &[u8]) -> PutObjectFluentBuilder {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
}

/// PutObject of `data` with the options `with` adds; panics when it fails.
pub async fn put_with(
    c: &Client,
    bucket: &str,
    key: &str,
    data: &[u8],
    with: impl FnOnce(PutObjectFluentBuilder) -> PutObjectFluentBuilder,
) -> PutObjectOutput {
    let result = with(put_request(c, bucket, key, data)).send().await;
    result.unwrap_or_else(|e| failed("PutObject", bucket, key, &e))
}

/// A GetObject of `key`, for the caller to add options to and send.
pub fn get_request(c: &Client, bucket: &str, key: &str) -> GetObjectFluentBuilder {
    c.get_object().bucket(bucket).key(key)
}

/// GetObject with the options `with` adds; panics when it fails.
pub async fn get_with(
    c: &Client,
    bucket: &str,
    key: &str,
    with: impl FnOnce(GetObjectFluentBuilder) -> GetObjectFluentBuilder,
) -> GetObjectOutput {
    let result = with(get_request(c, bucket, key)).send().await;
    result.unwrap_or_else(|e| failed("GetObject", bucket, key, &e))
}

/// GetObject of the current object; panics when it fails.
pub async fn get_object(c: &Client, bucket: &str, key: &str) -> GetObjectOutput {
    get_with(c, bucket, key, |r| r).await
}

/// A HeadObject of `key`, for the caller to add options to and send.
pub fn head_request(c: &Client, bucket: &str, key: &str) -> HeadObjectFluentBuilder {
    c.head_object().bucket(bucket).key(key)
}

/// HeadObject with the options `with` adds; panics when it fails.
pub async fn head_with(
    c: &Client,
    bucket: &str,
    key: &str,
    with: impl FnOnce(HeadObjectFluentBuilder) -> HeadObjectFluentBuilder,
) -> HeadObjectOutput {
    let result = with(head_request(c, bucket, key)).send().await;
    result.unwrap_or_else(|e| failed("HeadObject", bucket, key, &e))
}

/// HeadObject of the current object; panics when it fails.
pub async fn head_object(c: &Client, bucket: &str, key: &str) -> HeadObjectOutput {
    head_with(c, bucket, key, |r| r).await
}

/// DeleteObject of the current object; panics when it fails.
pub async fn delete_object(c: &Client, bucket: &str, key: &str) -> DeleteObjectOutput {
    let result = c.delete_object().bucket(bucket).key(key).send().await;
    result.unwrap_or_else(|e| failed("DeleteObject", bucket, key, &e))
}

/// Asserts that HEAD of `key` answers 404 NotFound: nothing is stored there.
pub async fn assert_no_object(c: &Client, bucket: &str, key: &str) {
    let head = head_request(c, bucket, key).send().await;
    if let Ok(found) = &head {
        panic!("{bucket}/{key} exists, expected none: {found:?}");
    }
    expect_s3_error(head, "NotFound", 404);
}

/// A CopyObject of `source` (`bucket/key`, already encoded) to `key`, for the
/// caller to add options to and send.
pub fn copy_request(c: &Client, bucket: &str, key: &str, source: &str) -> CopyObjectFluentBuilder {
    c.copy_object().bucket(bucket).key(key).copy_source(source)
}

/// CopyObject of `source` to `key`; panics when it fails.
pub async fn copy_object(c: &Client, bucket: &str, key: &str, source: &str) -> CopyObjectOutput {
    let result = copy_request(c, bucket, key, source).send().await;
    result.unwrap_or_else(|e| failed("CopyObject", bucket, key, &e))
}

/// CreateBucket of exactly this name; panics when it fails.
pub async fn create_bucket_named(c: &Client, bucket: &str) {
    if let Err(e) = c.create_bucket().bucket(bucket).send().await {
        failed("CreateBucket", bucket, "", &e);
    }
}

/// HeadBucket; panics when it fails.
pub async fn head_bucket(c: &Client, bucket: &str) {
    if let Err(e) = c.head_bucket().bucket(bucket).send().await {
        failed("HeadBucket", bucket, "", &e);
    }
}

/// DeleteBucket; panics when it fails.
pub async fn delete_bucket(c: &Client, bucket: &str) {
    if let Err(e) = c.delete_bucket().bucket(bucket).send().await {
        failed("DeleteBucket", bucket, "", &e);
    }
}

/// Asserts that HeadBucket answers 404 NotFound: the bucket does not exist.
pub async fn assert_no_bucket(c: &Client, bucket: &str) {
    let head = c.head_bucket().bucket(bucket).send().await;
    if let Ok(found) = &head {
        panic!("bucket {bucket} exists, expected none: {found:?}");
    }
    expect_s3_error(head, "NotFound", 404);
}

/// One ListObjectsV2 page with the options `with` adds; panics when it fails.
pub async fn list_v2_with(
    c: &Client,
    bucket: &str,
    with: impl FnOnce(ListObjectsV2FluentBuilder) -> ListObjectsV2FluentBuilder,
) -> ListObjectsV2Output {
    let result = with(c.list_objects_v2().bucket(bucket)).send().await;
    result.unwrap_or_else(|e| failed("ListObjectsV2", bucket, "", &e))
}

/// The first ListObjectsV2 page of the whole bucket; panics when it fails.
pub async fn list_v2(c: &Client, bucket: &str) -> ListObjectsV2Output {
    list_v2_with(c, bucket, |r| r).await
}

/// The keys of a listing page's entries, in the order listed.
pub fn keys_of(page: &ListObjectsV2Output) -> Vec<String> {
    let keys = page.contents().iter().filter_map(|o| o.key());
    keys.map(str::to_owned).collect()
}

/// The keys of the first ListObjectsV2 page of the whole bucket.
pub async fn list_keys(c: &Client, bucket: &str) -> Vec<String> {
    keys_of(&list_v2(c, bucket).await)
}

/// A CreateMultipartUpload of `key`, for the caller to add options to and send.
pub fn upload_request(c: &Client, bucket: &str, key: &str) -> CreateMultipartUploadFluentBuilder {
    c.create_multipart_upload().bucket(bucket).key(key)
}

/// CreateMultipartUpload of `key`; checks the answer names the bucket and
/// key, and returns the upload id.
pub async fn start_upload(c: &Client, bucket: &str, key: &str) -> String {
    let result = upload_request(c, bucket, key).send().await;
    let out = result.unwrap_or_else(|e| failed("CreateMultipartUpload", bucket, key, &e));
    assert_eq!(out.bucket(), Some(bucket));
    assert_eq!(out.key(), Some(key));
    out.upload_id()
        .expect("CreateMultipartUpload returns an UploadId")
        .to_owned()
}

/// A part of a Complete request: its number and the ETag UploadPart answered.
pub fn part(number: i32, etag: Option<&str>) -> CompletedPart {
    let etag = etag.map(str::to_owned);
    CompletedPart::builder()
        .part_number(number)
        .set_e_tag(etag)
        .build()
}

/// An UploadPart of `data` as part `number`, for the caller to add options
/// to and send.
pub fn part_request(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    data: &[u8],
) -> UploadPartFluentBuilder {
    let request = c.upload_part().bucket(bucket).key(key).upload_id(upload_id);
    request
        .part_number(number)
        .body(ByteStream::from(data.to_vec()))
}

/// UploadPart of `data` as part `number`; panics when it fails, and returns
/// the part as Complete names it.
pub async fn upload_part(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    data: &[u8],
) -> CompletedPart {
    let result = part_request(c, bucket, key, upload_id, number, data)
        .send()
        .await;
    let out = result.unwrap_or_else(|e| failed(&format!("UploadPart {number}"), bucket, key, &e));
    part(number, out.e_tag())
}

/// Uploads `parts` numbered from 1 (with whatever checksum behaviour `c` has).
pub async fn upload_parts<P: AsRef<[u8]>>(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[P],
) -> Vec<CompletedPart> {
    let mut completed = Vec::with_capacity(parts.len());
    for (n, data) in (1..).zip(parts) {
        completed.push(upload_part(c, bucket, key, upload_id, n, data.as_ref()).await);
    }
    completed
}

/// The body of a CompleteMultipartUpload naming `parts`.
pub fn completion(parts: Vec<CompletedPart>) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

/// A CompleteMultipartUpload naming `parts`, for the caller to add options
/// to and send.
pub fn complete_request(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> CompleteMultipartUploadFluentBuilder {
    let request = c.complete_multipart_upload().bucket(bucket).key(key);
    request
        .upload_id(upload_id)
        .multipart_upload(completion(parts))
}

/// CompleteMultipartUpload naming `parts`; panics when it fails.
pub async fn complete(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> CompleteMultipartUploadOutput {
    let result = complete_request(c, bucket, key, upload_id, parts)
        .send()
        .await;
    result.unwrap_or_else(|e| failed("CompleteMultipartUpload", bucket, key, &e))
}

/// AbortMultipartUpload; panics when it fails.
pub async fn abort(c: &Client, bucket: &str, key: &str, upload_id: &str) {
    let request = c.abort_multipart_upload().bucket(bucket).key(key);
    if let Err(e) = request.upload_id(upload_id).send().await {
        failed("AbortMultipartUpload", bucket, key, &e);
    }
}

/// A ListParts of an upload, for the caller to add options to and send.
pub fn list_parts_request(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> ListPartsFluentBuilder {
    c.list_parts().bucket(bucket).key(key).upload_id(upload_id)
}

/// ListParts of an upload with the options `with` adds; panics when it fails.
pub async fn list_parts_with(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    with: impl FnOnce(ListPartsFluentBuilder) -> ListPartsFluentBuilder,
) -> ListPartsOutput {
    let result = with(list_parts_request(c, bucket, key, upload_id))
        .send()
        .await;
    result.unwrap_or_else(|e| failed("ListParts", bucket, key, &e))
}

/// ListParts of an upload (first page); panics when it fails.
pub async fn list_parts(c: &Client, bucket: &str, key: &str, upload_id: &str) -> ListPartsOutput {
    list_parts_with(c, bucket, key, upload_id, |r| r).await
}

/// Uploads `parts` as one multipart object, numbered from 1 (with whatever
/// checksum behaviour `c` has), and returns the ETag Complete answered.
pub async fn upload_multipart<P: AsRef<[u8]>>(
    c: &Client,
    bucket: &str,
    key: &str,
    parts: &[P],
) -> String {
    let upload_id = start_upload(c, bucket, key).await;
    let completed = upload_parts(c, bucket, key, &upload_id, parts).await;
    let done = complete(c, bucket, key, &upload_id, completed).await;
    done.e_tag().expect("ETag").to_string()
}

/// A tag.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().expect("tag")
}

/// A tag set.
pub fn tagging(tags: Vec<Tag>) -> Tagging {
    let tagging = Tagging::builder().set_tag_set(Some(tags)).build();
    tagging.expect("tagging")
}

/// GetObjectTagging (of `version`, or the current object): the tags as
/// (key, value) pairs in the order answered, and the version id answered.
pub async fn tags_of(
    c: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (Vec<(String, String)>, Option<String>) {
    let request = c.get_object_tagging().bucket(bucket).key(key);
    let result = request
        .set_version_id(version.map(str::to_owned))
        .send()
        .await;
    let out = result.unwrap_or_else(|e| failed("GetObjectTagging", bucket, key, &e));
    let tags = out.tag_set().iter();
    let tags = tags.map(|t| (t.key().to_owned(), t.value().to_owned()));
    (tags.collect(), out.version_id().map(str::to_owned))
}

/// A user metadata entry of a HEAD or GET answer.
pub fn meta<'a>(metadata: Option<&'a HashMap<String, String>>, name: &str) -> Option<&'a str> {
    metadata.and_then(|m| m.get(name)).map(String::as_str)
}
