//! Multipart uploads: Create / UploadPart / Complete (with the exact S3
//! multipart ETag), ListParts, ListMultipartUploads, Abort, and the errors of
//! CompleteMultipartUpload.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use cairn_s3_tests::*;

/// The smallest size S3 accepts for a part that is not the last one.
const MIN_PART_SIZE: usize = 5 * MIB;
/// An odd-sized last part.
const LAST_PART_SIZE: usize = MIB + 123;
/// A part that is too small to be anything but the last one.
const TINY_PART_SIZE: usize = MIB;

async fn upload_part(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    data: &[u8],
) -> CompletedPart {
    let out = c
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "UploadPart {number}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    let etag = out.e_tag().expect("UploadPart returns an ETag");
    assert_eq!(
        etag,
        etag_of(data),
        "part {number} ETag is the quoted MD5 of the part"
    );
    CompletedPart::builder()
        .part_number(number)
        .e_tag(etag)
        .build()
}

fn completion(parts: Vec<CompletedPart>) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

async fn read(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    collect_body(
        c.get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("GetObject"),
    )
    .await
}

/// Five MiB, five MiB and a bit over one MiB.
fn three_parts() -> Vec<Vec<u8>> {
    vec![
        random_bytes(MIN_PART_SIZE),
        random_bytes(MIN_PART_SIZE),
        random_bytes(LAST_PART_SIZE),
    ]
}

#[tokio::test]
async fn multipart_upload_round_trip_with_exact_etag() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "mpu").await;
        let key = "big/object.bin";
        let out = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .content_type("application/x-parts")
            .metadata("origin", "multipart")
            .send()
            .await
            .expect("CreateMultipartUpload");
        let upload_id = out.upload_id().expect("UploadId").to_owned();
        let parts = three_parts();
        let mut completed = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            completed.push(upload_part(&c, &bucket, key, &upload_id, i as i32 + 1, part).await);
        }
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(completion(completed))
            .send()
            .await
            .expect("CompleteMultipartUpload");
        let expected_etag = multipart_etag(&parts);
        assert_eq!(done.e_tag(), Some(expected_etag.as_str()), "Complete ETag");
        assert_eq!(done.key(), Some(key));
        assert_eq!(done.bucket(), Some(bucket.as_str()));

        let whole = parts.concat();
        let head = c
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(
            head.e_tag(),
            Some(expected_etag.as_str()),
            "HeadObject ETag"
        );
        assert_eq!(head.content_length(), Some(whole.len() as i64));
        assert_eq!(
            head.content_type(),
            Some("application/x-parts"),
            "Content-Type from Create"
        );
        assert_eq!(
            head.metadata()
                .and_then(|m| m.get("origin"))
                .map(String::as_str),
            Some("multipart")
        );
        let back = read(&c, &bucket, key).await;
        assert!(
            back == whole,
            "body differs: md5 {} vs {}",
            md5_hex(&back),
            md5_hex(&whole)
        );

        let listed = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        let [entry] = listed.contents() else {
            panic!("one object expected: {:?}", listed.contents())
        };
        assert_eq!(entry.size(), Some(whole.len() as i64));
        assert_eq!(entry.e_tag(), Some(expected_etag.as_str()));
        let uploads = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListMultipartUploads");
        assert!(
            uploads.uploads().is_empty(),
            "completed upload still listed: {:?}",
            uploads.uploads()
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn single_part_upload_and_overwrite_of_existing_object() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "mpu-one").await;
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"old"))
            .send()
            .await
            .expect("Put");
        let upload_id = start_upload(&c, &bucket, "k").await;
        let data = random_bytes(TINY_PART_SIZE);
        let part = upload_part(&c, &bucket, "k", &upload_id, 1, &data).await;
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![part]))
            .send()
            .await
            .expect("Complete with one small part (it is the last)");
        assert_eq!(
            done.e_tag(),
            Some(multipart_etag(&[&data]).as_str()),
            "one-part ETag ends in -1"
        );
        assert_eq!(
            read(&c, &bucket, "k").await,
            data,
            "the upload replaced the old object"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn list_parts_reports_uploaded_parts_and_pages() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "listparts").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        let parts = [
            random_bytes(MIN_PART_SIZE),
            random_bytes(KIB),
            random_bytes(2 * KIB),
        ];
        for (i, part) in parts.iter().enumerate() {
            upload_part(&c, &bucket, "k", &upload_id, i as i32 + 1, part).await;
        }
        let out = c
            .list_parts()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("ListParts");
        assert_eq!(out.upload_id(), Some(upload_id.as_str()));
        assert_eq!(out.is_truncated(), Some(false));
        let listed: Vec<(Option<i32>, Option<i64>, Option<&str>)> = out
            .parts()
            .iter()
            .map(|p| (p.part_number(), p.size(), p.e_tag()))
            .collect();
        let etags: Vec<String> = parts.iter().map(|p| etag_of(p)).collect();
        let expected: Vec<(Option<i32>, Option<i64>, Option<&str>)> = parts
            .iter()
            .zip(&etags)
            .enumerate()
            .map(|(i, (p, e))| (Some(i as i32 + 1), Some(p.len() as i64), Some(e.as_str())))
            .collect();
        assert_eq!(listed, expected, "ListParts (number, size, ETag)");

        let first = c
            .list_parts()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .max_parts(2)
            .send()
            .await
            .expect("ListParts max-parts 2");
        let numbers: Vec<i32> = first
            .parts()
            .iter()
            .filter_map(|p| p.part_number())
            .collect();
        assert_eq!(numbers, [1, 2]);
        assert_eq!(first.is_truncated(), Some(true));
        assert_eq!(first.next_part_number_marker(), Some("2"));
        let rest = c
            .list_parts()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .part_number_marker("2")
            .send()
            .await
            .expect("ListParts after marker 2");
        let numbers: Vec<i32> = rest
            .parts()
            .iter()
            .filter_map(|p| p.part_number())
            .collect();
        assert_eq!(numbers, [3]);
        assert_eq!(rest.is_truncated(), Some(false));

        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("Abort");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn aborted_upload_is_no_such_upload() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "abort").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        let part = upload_part(&c, &bucket, "k", &upload_id, 1, &random_bytes(KIB)).await;
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("Abort");

        let again = c
            .upload_part()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .part_number(2)
            .body(ByteStream::from_static(b"late"))
            .send()
            .await;
        expect_s3_error(again, "NoSuchUpload", 404);
        let parts = c
            .list_parts()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await;
        expect_s3_error(parts, "NoSuchUpload", 404);
        let complete = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![part]))
            .send()
            .await;
        expect_s3_error(complete, "NoSuchUpload", 404);
        expect_s3_error(
            c.get_object().bucket(&bucket).key("k").send().await,
            "NoSuchKey",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn complete_with_unknown_upload_id_is_no_such_upload() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "unknownid").await;
        let part = CompletedPart::builder()
            .part_number(1)
            .e_tag(etag_of(b"x"))
            .build();
        let result = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id("this-upload-id-does-not-exist")
            .multipart_upload(completion(vec![part]))
            .send()
            .await;
        expect_s3_error(result, "NoSuchUpload", 404);
        let abort = c
            .abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id("nope")
            .send()
            .await;
        expect_s3_error(abort, "NoSuchUpload", 404);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn wrong_or_missing_part_is_invalid_part() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "invalidpart").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        let data = random_bytes(MIN_PART_SIZE);
        let good = upload_part(&c, &bucket, "k", &upload_id, 1, &data).await;
        let last = upload_part(&c, &bucket, "k", &upload_id, 2, b"tail").await;

        let wrong_etag = CompletedPart::builder()
            .part_number(1)
            .e_tag(etag_of(b"not the part"))
            .build();
        let result = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![wrong_etag, last.clone()]))
            .send()
            .await;
        expect_s3_error(result, "InvalidPart", 400);

        let never_uploaded = CompletedPart::builder()
            .part_number(3)
            .e_tag(etag_of(b"ghost"))
            .build();
        let result = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![good.clone(), last.clone(), never_uploaded]))
            .send()
            .await;
        expect_s3_error(result, "InvalidPart", 400);

        // The failed attempts leave the upload usable.
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![good, last]))
            .send()
            .await
            .expect("Complete after failed attempts");
        let mut whole = data;
        whole.extend_from_slice(b"tail");
        assert_eq!(read(&c, &bucket, "k").await, whole);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn parts_out_of_order_is_invalid_part_order() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "order").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        let one = upload_part(
            &c,
            &bucket,
            "k",
            &upload_id,
            1,
            &random_bytes(MIN_PART_SIZE),
        )
        .await;
        let two = upload_part(&c, &bucket, "k", &upload_id, 2, &random_bytes(KIB)).await;
        let result = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![two, one]))
            .send()
            .await;
        expect_s3_error(result, "InvalidPartOrder", 400);
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("Abort");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn small_non_last_part_is_entity_too_small() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "toosmall").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        // UploadPart itself accepts any size; only Complete knows which part is last.
        let one = upload_part(
            &c,
            &bucket,
            "k",
            &upload_id,
            1,
            &random_bytes(TINY_PART_SIZE),
        )
        .await;
        let two = upload_part(
            &c,
            &bucket,
            "k",
            &upload_id,
            2,
            &random_bytes(TINY_PART_SIZE),
        )
        .await;
        let result = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![one, two]))
            .send()
            .await;
        expect_s3_error(result, "EntityTooSmall", 400);
        expect_s3_error(
            c.head_object().bucket(&bucket).key("k").send().await,
            "NotFound",
            404,
        );
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("Abort");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn reuploading_a_part_number_replaces_it() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "reupload").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        let first = random_bytes(MIN_PART_SIZE);
        let stale = upload_part(&c, &bucket, "k", &upload_id, 1, &first).await;
        let replacement = random_bytes(MIN_PART_SIZE + KIB);
        let fresh = upload_part(&c, &bucket, "k", &upload_id, 1, &replacement).await;
        let tail = random_bytes(KIB);
        let last = upload_part(&c, &bucket, "k", &upload_id, 2, &tail).await;

        let out = c
            .list_parts()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("ListParts");
        let listed: Vec<(Option<i32>, Option<i64>, Option<&str>)> = out
            .parts()
            .iter()
            .map(|p| (p.part_number(), p.size(), p.e_tag()))
            .collect();
        let fresh_etag = etag_of(&replacement);
        let tail_etag = etag_of(&tail);
        assert_eq!(
            listed,
            [
                (
                    Some(1),
                    Some(replacement.len() as i64),
                    Some(fresh_etag.as_str())
                ),
                (Some(2), Some(tail.len() as i64), Some(tail_etag.as_str()))
            ],
            "part 1 was replaced"
        );

        let result = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![stale, last.clone()]))
            .send()
            .await;
        expect_s3_error(result, "InvalidPart", 400);

        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(vec![fresh, last]))
            .send()
            .await
            .expect("Complete with the replacement part");
        assert_eq!(
            done.e_tag(),
            Some(multipart_etag(&[&replacement, &tail]).as_str())
        );
        let mut whole = replacement;
        whole.extend_from_slice(&tail);
        assert!(
            read(&c, &bucket, "k").await == whole,
            "body is the replacement part plus the tail"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn multipart_with_checksums_when_required_client() {
    bounded(async {
        let c = client_when_required();
        let bucket = create_bucket(&c, "mpu-legacy").await;
        let upload_id = start_upload(&c, &bucket, "k").await;
        let parts = [random_bytes(MIN_PART_SIZE), random_bytes(LAST_PART_SIZE)];
        let mut completed = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            completed.push(upload_part(&c, &bucket, "k", &upload_id, i as i32 + 1, part).await);
        }
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(&upload_id)
            .multipart_upload(completion(completed))
            .send()
            .await
            .expect("Complete");
        assert_eq!(done.e_tag(), Some(multipart_etag(&parts).as_str()));
        assert!(
            read(&c, &bucket, "k").await == parts.concat(),
            "body round-trips"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
