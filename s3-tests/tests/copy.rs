//! CopyObject: within and across buckets, metadata COPY vs REPLACE, sources
//! with awkward keys and multipart sources, and the copy errors; and
//! UploadPartCopy (whole sources, `x-amz-copy-source-range`, source conditions).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use cairn_s3_tests::*;

/// Bigger than one internal chunk, so the copy crosses chunk boundaries.
const SOURCE_SIZE: usize = 3 * MIB + 17;
const MIN_PART_SIZE: usize = 5 * MIB;
/// A multi-chunk object that a copy overwrites.
const STALE_DESTINATION_SIZE: usize = 2 * MIB;

fn source_of(bucket: &str, key: &str) -> String {
    format!("{bucket}/{}", encode_key(key))
}

async fn put_source(c: &Client, bucket: &str, key: &str, data: &[u8]) {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .content_type("image/png")
        .cache_control("max-age=99")
        .content_disposition("inline")
        .metadata("owner", "alice")
        .metadata("purpose", "copy-source")
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PutObject {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
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

#[tokio::test]
async fn copy_within_bucket_keeps_data_and_metadata() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "copy").await;
        let data = random_bytes(SOURCE_SIZE);
        put_source(&c, &bucket, "src", &data).await;
        let out = c
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(source_of(&bucket, "src"))
            .send()
            .await
            .expect("CopyObject");
        let result = out.copy_object_result().expect("CopyObjectResult");
        assert_eq!(
            result.e_tag(),
            Some(etag_of(&data).as_str()),
            "copy ETag is the MD5 of the data"
        );
        assert!(
            result.last_modified().is_some(),
            "CopyObjectResult has LastModified"
        );

        let head = c
            .head_object()
            .bucket(&bucket)
            .key("dst")
            .send()
            .await
            .expect("HeadObject dst");
        assert_eq!(head.content_type(), Some("image/png"));
        assert_eq!(head.cache_control(), Some("max-age=99"));
        assert_eq!(head.content_disposition(), Some("inline"));
        let meta = head.metadata().cloned().unwrap_or_default();
        assert_eq!(meta.get("owner").map(String::as_str), Some("alice"));
        assert_eq!(meta.get("purpose").map(String::as_str), Some("copy-source"));
        assert_eq!(head.content_length(), Some(SOURCE_SIZE as i64));
        assert!(
            read(&c, &bucket, "dst").await == data,
            "copied bytes differ"
        );
        assert!(read(&c, &bucket, "src").await == data, "source unchanged");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_across_buckets() {
    bounded(async {
        let c = client();
        let from = create_bucket(&c, "copy-from").await;
        let to = create_bucket(&c, "copy-to").await;
        let data = random_bytes(SOURCE_SIZE);
        put_source(&c, &from, "dir/src", &data).await;
        c.copy_object()
            .bucket(&to)
            .key("elsewhere/dst")
            .copy_source(source_of(&from, "dir/src"))
            .send()
            .await
            .expect("CopyObject across buckets");
        assert!(read(&c, &to, "elsewhere/dst").await == data);
        let head = c
            .head_object()
            .bucket(&to)
            .key("elsewhere/dst")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(head.e_tag(), Some(etag_of(&data).as_str()));
        assert_eq!(
            head.metadata()
                .and_then(|m| m.get("owner"))
                .map(String::as_str),
            Some("alice")
        );
        cleanup_bucket(&c, &from).await;
        cleanup_bucket(&c, &to).await;
    })
    .await
}

#[tokio::test]
async fn metadata_directive_replace_replaces_metadata() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "replace").await;
        let data = random_bytes(KIB);
        put_source(&c, &bucket, "src", &data).await;
        c.copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(source_of(&bucket, "src"))
            .metadata_directive(MetadataDirective::Replace)
            .content_type("text/csv")
            .metadata("owner", "bob")
            .metadata("fresh", "1")
            .send()
            .await
            .expect("CopyObject REPLACE");
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("dst")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(head.content_type(), Some("text/csv"));
        assert_eq!(
            head.cache_control(),
            None,
            "REPLACE drops headers that were not given again"
        );
        let meta = head.metadata().cloned().unwrap_or_default();
        assert_eq!(meta.get("owner").map(String::as_str), Some("bob"));
        assert_eq!(meta.get("fresh").map(String::as_str), Some("1"));
        assert!(
            !meta.contains_key("purpose"),
            "old metadata survived REPLACE: {meta:?}"
        );
        assert_eq!(read(&c, &bucket, "dst").await, data);

        let src = c
            .head_object()
            .bucket(&bucket)
            .key("src")
            .send()
            .await
            .expect("HeadObject src");
        assert_eq!(
            src.content_type(),
            Some("image/png"),
            "source metadata unchanged"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_onto_itself_needs_replace() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "selfcopy").await;
        let data = random_bytes(KIB);
        put_source(&c, &bucket, "k", &data).await;
        let result = c
            .copy_object()
            .bucket(&bucket)
            .key("k")
            .copy_source(source_of(&bucket, "k"))
            .send()
            .await;
        expect_s3_error(result, "InvalidRequest", 400);

        c.copy_object()
            .bucket(&bucket)
            .key("k")
            .copy_source(source_of(&bucket, "k"))
            .metadata_directive(MetadataDirective::Replace)
            .content_type("application/octet-stream")
            .metadata("rev", "2")
            .send()
            .await
            .expect("self-copy with REPLACE updates metadata");
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("GetObject");
        assert_eq!(got.content_type(), Some("application/octet-stream"));
        assert_eq!(
            got.metadata()
                .and_then(|m| m.get("rev"))
                .map(String::as_str),
            Some("2")
        );
        assert_eq!(
            collect_body(got).await,
            data,
            "data survives a metadata-only self copy"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_overwrites_existing_destination() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "copyover").await;
        let data = random_bytes(KIB);
        put_source(&c, &bucket, "src", &data).await;
        c.put_object()
            .bucket(&bucket)
            .key("dst")
            .body(ByteStream::from(random_bytes(STALE_DESTINATION_SIZE)))
            .metadata("stale", "yes")
            .send()
            .await
            .expect("PutObject dst");
        c.copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(source_of(&bucket, "src"))
            .send()
            .await
            .expect("Copy");
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("dst")
            .send()
            .await
            .expect("GetObject");
        assert!(
            got.metadata().is_none_or(|m| !m.contains_key("stale")),
            "destination metadata replaced"
        );
        assert_eq!(collect_body(got).await, data);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_source_with_awkward_key() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "copykey").await;
        let key = "dir with space/ünï+cödé?&=.bin";
        let data = random_bytes(KIB);
        put_source(&c, &bucket, key, &data).await;
        c.copy_object()
            .bucket(&bucket)
            .key("copy of ünï")
            .copy_source(source_of(&bucket, key))
            .send()
            .await
            .expect("CopyObject with a URL-encoded source key");
        assert_eq!(read(&c, &bucket, "copy of ünï").await, data);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_of_a_multipart_object() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "copympu").await;
        let up = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("mpu")
            .send()
            .await
            .expect("Create");
        let upload_id = up.upload_id().expect("UploadId");
        let parts = [random_bytes(MIN_PART_SIZE), random_bytes(KIB)];
        let mut completed = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let out = c
                .upload_part()
                .bucket(&bucket)
                .key("mpu")
                .upload_id(upload_id)
                .part_number(n)
                .body(ByteStream::from(part.clone()))
                .send()
                .await
                .expect("UploadPart");
            completed.push(
                CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .build(),
            );
        }
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("mpu")
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .expect("Complete");
        let out = c
            .copy_object()
            .bucket(&bucket)
            .key("copy")
            .copy_source(source_of(&bucket, "mpu"))
            .send()
            .await
            .expect("CopyObject of a multipart object");
        let etag = out
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(str::to_owned);
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("copy")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(
            head.e_tag(),
            etag.as_deref(),
            "HeadObject ETag matches CopyObjectResult"
        );
        assert!(
            read(&c, &bucket, "copy").await == parts.concat(),
            "copied bytes differ"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_errors() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "copyerr").await;
        put_source(&c, &bucket, "src", b"data").await;

        let missing_key = c
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(source_of(&bucket, "nope"))
            .send()
            .await;
        expect_s3_error(missing_key, "NoSuchKey", 404);

        let absent = unique_bucket("absent");
        let missing_src_bucket = c
            .copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(source_of(&absent, "src"))
            .send()
            .await;
        expect_s3_error(missing_src_bucket, "NoSuchBucket", 404);

        let missing_dst_bucket = c
            .copy_object()
            .bucket(&absent)
            .key("dst")
            .copy_source(source_of(&bucket, "src"))
            .send()
            .await;
        expect_s3_error(missing_dst_bucket, "NoSuchBucket", 404);

        expect_s3_error(
            c.head_object().bucket(&bucket).key("dst").send().await,
            "NotFound",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

/// A source bigger than a minimum part, so one copied range can be a
/// non-last part, and crossing several internal chunks.
const PART_SOURCE_SIZE: usize = MIN_PART_SIZE + MIB + 333;

#[tokio::test]
async fn upload_part_copy_builds_an_object_from_ranges_and_whole_sources() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "partcopy").await;
        let big = random_bytes(PART_SOURCE_SIZE);
        put_source(&c, &bucket, "big src", &big).await;
        let small = b"a small inline source".to_vec();
        put_source(&c, &bucket, "small", &small).await;
        let upload_id = start_upload(&c, &bucket, "assembled").await;

        // Part 1: a range of the big source starting off a chunk boundary.
        let first = 1000usize;
        let part1 = big[first..first + MIN_PART_SIZE].to_vec();
        let out = c
            .upload_part_copy()
            .bucket(&bucket)
            .key("assembled")
            .upload_id(&upload_id)
            .part_number(1)
            .copy_source(source_of(&bucket, "big src"))
            .copy_source_range(format!("bytes={first}-{}", first + MIN_PART_SIZE - 1))
            .send()
            .await
            .expect("UploadPartCopy with a range");
        let result = out.copy_part_result().expect("CopyPartResult");
        assert_eq!(result.e_tag(), Some(etag_of(&part1).as_str()));
        assert!(result.last_modified().is_some());

        // Part 2: uploaded the usual way.
        let part2 = random_bytes(MIN_PART_SIZE);
        let up = c
            .upload_part()
            .bucket(&bucket)
            .key("assembled")
            .upload_id(&upload_id)
            .part_number(2)
            .body(ByteStream::from(part2.clone()))
            .send()
            .await
            .expect("UploadPart");

        // Part 3: a whole (inline) object, guarded by a matching If-Match.
        let out3 = c
            .upload_part_copy()
            .bucket(&bucket)
            .key("assembled")
            .upload_id(&upload_id)
            .part_number(3)
            .copy_source(source_of(&bucket, "small"))
            .copy_source_if_match(etag_of(&small))
            .send()
            .await
            .expect("UploadPartCopy of a whole object");

        let listed = c
            .list_parts()
            .bucket(&bucket)
            .key("assembled")
            .upload_id(&upload_id)
            .send()
            .await
            .expect("ListParts");
        let sizes: Vec<Option<i64>> = listed.parts().iter().map(|p| p.size()).collect();
        assert_eq!(
            sizes,
            vec![
                Some(MIN_PART_SIZE as i64),
                Some(MIN_PART_SIZE as i64),
                Some(small.len() as i64)
            ]
        );

        let etags = [
            result.e_tag().map(str::to_string),
            up.e_tag().map(str::to_string),
            out3.copy_part_result()
                .and_then(|r| r.e_tag())
                .map(str::to_string),
        ];
        let parts: Vec<CompletedPart> = etags
            .iter()
            .enumerate()
            .map(|(i, e)| {
                CompletedPart::builder()
                    .part_number(i as i32 + 1)
                    .set_e_tag(e.clone())
                    .build()
            })
            .collect();
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("assembled")
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .expect("CompleteMultipartUpload");
        let expected = [part1.clone(), part2.clone(), small.clone()];
        assert_eq!(done.e_tag(), Some(multipart_etag(&expected).as_str()));
        assert!(
            read(&c, &bucket, "assembled").await == expected.concat(),
            "assembled bytes differ"
        );
        assert!(
            read(&c, &bucket, "big src").await == big,
            "source unchanged"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn upload_part_copy_errors_and_source_conditions() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "partcopyerr").await;
        let data = b"0123456789".to_vec();
        put_source(&c, &bucket, "src", &data).await;
        let upload_id = start_upload(&c, &bucket, "dst").await;
        let copy = || {
            c.upload_part_copy()
                .bucket(&bucket)
                .key("dst")
                .upload_id(&upload_id)
                .part_number(1)
                .copy_source(source_of(&bucket, "src"))
        };
        for bad in [
            "bytes=-1",
            "bytes=2-",
            "bytes=",
            "bytes=2--1",
            "bytes=5-3",
            "0-3",
        ] {
            let r = copy().copy_source_range(bad).send().await;
            expect_s3_error(r, "InvalidArgument", 400);
        }
        expect_s3_error(
            copy().copy_source_range("bytes=5-10").send().await,
            "InvalidRange",
            416,
        );

        let past = aws_sdk_s3::primitives::DateTime::from_secs(1_000_000);
        let future = aws_sdk_s3::primitives::DateTime::from_secs(4_000_000_000);
        expect_s3_error(
            copy().copy_source_if_match("\"0000\"").send().await,
            "PreconditionFailed",
            412,
        );
        expect_s3_error(
            copy()
                .copy_source_if_none_match(etag_of(&data))
                .send()
                .await,
            "PreconditionFailed",
            412,
        );
        expect_s3_error(
            copy().copy_source_if_modified_since(future).send().await,
            "PreconditionFailed",
            412,
        );
        expect_s3_error(
            copy().copy_source_if_unmodified_since(past).send().await,
            "PreconditionFailed",
            412,
        );
        let ok = copy()
            .copy_source_range("bytes=2-5")
            .copy_source_if_unmodified_since(future)
            .copy_source_if_modified_since(past)
            .send()
            .await
            .expect("conditions that hold");
        assert_eq!(
            ok.copy_part_result().and_then(|r| r.e_tag()),
            Some(etag_of(&data[2..=5]).as_str())
        );

        expect_s3_error(
            c.upload_part_copy()
                .bucket(&bucket)
                .key("dst")
                .upload_id(&upload_id)
                .part_number(2)
                .copy_source(source_of(&bucket, "missing"))
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        let other = start_upload(&c, &bucket, "other").await;
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("other")
            .upload_id(&other)
            .send()
            .await
            .expect("Abort");
        expect_s3_error(
            c.upload_part_copy()
                .bucket(&bucket)
                .key("other")
                .upload_id(&other)
                .part_number(1)
                .copy_source(source_of(&bucket, "src"))
                .send()
                .await,
            "NoSuchUpload",
            404,
        );
        expect_s3_error(
            c.upload_part_copy()
                .bucket(&bucket)
                .key("dst")
                .upload_id(&upload_id)
                .part_number(10_001)
                .copy_source(source_of(&bucket, "src"))
                .send()
                .await,
            "InvalidArgument",
            400,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
