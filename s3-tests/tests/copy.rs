//! CopyObject: within and across buckets, metadata COPY vs REPLACE, sources
//! with awkward keys and multipart sources, and the copy errors; and
//! UploadPartCopy (whole sources, `x-amz-copy-source-range`, source conditions).

use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::MetadataDirective;
use cairn_s3_tests::*;

/// Bigger than one internal chunk, so the copy crosses chunk boundaries.
const SOURCE_SIZE: usize = 3 * MIB + 17;
const MIN_PART_SIZE: usize = 5 * MIB;
/// A multi-chunk object that a copy overwrites.
const STALE_DESTINATION_SIZE: usize = 2 * MIB;
/// A source bigger than a minimum part, so one copied range can be a
/// non-last part, and crossing several internal chunks.
const PART_SOURCE_SIZE: usize = MIN_PART_SIZE + MIB + 333;
/// Where part 1 of the assembled object starts in its source: off a chunk boundary.
const RANGE_START: usize = 1000;
/// Times before and after anything the tests write.
const PAST_SECS: i64 = 1_000_000;
const FUTURE_SECS: i64 = 4_000_000_000;

fn source_of(bucket: &str, key: &str) -> String {
    format!("{bucket}/{}", encode_key(key))
}

/// PutObject of a copy source with system and user metadata to copy.
async fn put_source(c: &Client, bucket: &str, key: &str, data: &[u8]) {
    put_with(c, bucket, key, data, |r| {
        r.content_type("image/png")
            .cache_control("max-age=99")
            .content_disposition("inline")
            .metadata("owner", "alice")
            .metadata("purpose", "copy-source")
    })
    .await;
}

#[tokio::test]
async fn copy_within_bucket_keeps_data_and_metadata() {
    with_bucket("copy", async |c, bucket| {
        let data = random_bytes(SOURCE_SIZE);
        put_source(c, bucket, "src", &data).await;
        let out = copy_object(c, bucket, "dst", &source_of(bucket, "src")).await;
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

        let head = head_object(c, bucket, "dst").await;
        assert_eq!(head.content_type(), Some("image/png"));
        assert_eq!(head.cache_control(), Some("max-age=99"));
        assert_eq!(head.content_disposition(), Some("inline"));
        assert_eq!(meta(head.metadata(), "owner"), Some("alice"));
        assert_eq!(meta(head.metadata(), "purpose"), Some("copy-source"));
        assert_eq!(head.content_length(), Some(SOURCE_SIZE as i64));
        let copied = get_bytes(c, bucket, "dst").await;
        assert!(copied == data, "copied bytes differ");
        assert!(
            get_bytes(c, bucket, "src").await == data,
            "source unchanged"
        );
    })
    .await
}

#[tokio::test]
async fn copy_across_buckets() {
    with_bucket("copy-from", async |c, from| {
        let to = create_bucket(c, "copy-to").await;
        let data = random_bytes(SOURCE_SIZE);
        put_source(c, from, "dir/src", &data).await;
        copy_object(c, &to, "elsewhere/dst", &source_of(from, "dir/src")).await;
        assert!(get_bytes(c, &to, "elsewhere/dst").await == data);
        let head = head_object(c, &to, "elsewhere/dst").await;
        assert_eq!(head.e_tag(), Some(etag_of(&data).as_str()));
        assert_eq!(meta(head.metadata(), "owner"), Some("alice"));
        cleanup_bucket(c, &to).await;
    })
    .await
}

#[tokio::test]
async fn metadata_directive_replace_replaces_metadata() {
    with_bucket("replace", async |c, bucket| {
        let data = random_bytes(KIB);
        put_source(c, bucket, "src", &data).await;
        copy_request(c, bucket, "dst", &source_of(bucket, "src"))
            .metadata_directive(MetadataDirective::Replace)
            .content_type("text/csv")
            .metadata("owner", "bob")
            .metadata("fresh", "1")
            .send()
            .await
            .expect("CopyObject REPLACE");
        let head = head_object(c, bucket, "dst").await;
        assert_eq!(head.content_type(), Some("text/csv"));
        assert_eq!(
            head.cache_control(),
            None,
            "REPLACE drops headers that were not given again"
        );
        let metadata = head.metadata().cloned().unwrap_or_default();
        assert_eq!(meta(Some(&metadata), "owner"), Some("bob"));
        assert_eq!(meta(Some(&metadata), "fresh"), Some("1"));
        assert!(
            !metadata.contains_key("purpose"),
            "old metadata survived REPLACE: {metadata:?}"
        );
        assert_eq!(get_bytes(c, bucket, "dst").await, data);

        let src = head_object(c, bucket, "src").await;
        let source_type = src.content_type();
        assert_eq!(source_type, Some("image/png"), "source metadata unchanged");
    })
    .await
}

#[tokio::test]
async fn copy_onto_itself_needs_replace() {
    with_bucket("selfcopy", async |c, bucket| {
        let data = random_bytes(KIB);
        put_source(c, bucket, "k", &data).await;
        let itself = source_of(bucket, "k");
        let result = copy_request(c, bucket, "k", &itself).send().await;
        expect_s3_error(result, "InvalidRequest", 400);

        copy_request(c, bucket, "k", &itself)
            .metadata_directive(MetadataDirective::Replace)
            .content_type("application/octet-stream")
            .metadata("rev", "2")
            .send()
            .await
            .expect("self-copy with REPLACE updates metadata");
        let got = get_object(c, bucket, "k").await;
        assert_eq!(got.content_type(), Some("application/octet-stream"));
        assert_eq!(meta(got.metadata(), "rev"), Some("2"));
        let body = collect_body(got).await;
        assert_eq!(body, data, "data survives a metadata-only self copy");
    })
    .await
}

#[tokio::test]
async fn copy_overwrites_existing_destination() {
    with_bucket("copyover", async |c, bucket| {
        let data = random_bytes(KIB);
        put_source(c, bucket, "src", &data).await;
        let stale = random_bytes(STALE_DESTINATION_SIZE);
        put_with(c, bucket, "dst", &stale, |r| r.metadata("stale", "yes")).await;
        copy_object(c, bucket, "dst", &source_of(bucket, "src")).await;
        let got = get_object(c, bucket, "dst").await;
        assert!(
            got.metadata().is_none_or(|m| !m.contains_key("stale")),
            "destination metadata replaced"
        );
        assert_eq!(collect_body(got).await, data);
    })
    .await
}

#[tokio::test]
async fn copy_source_with_awkward_key() {
    with_bucket("copykey", async |c, bucket| {
        let key = "dir with space/ünï+cödé?&=.bin";
        let data = random_bytes(KIB);
        put_source(c, bucket, key, &data).await;
        // The source key travels URL-encoded.
        copy_object(c, bucket, "copy of ünï", &source_of(bucket, key)).await;
        assert_eq!(get_bytes(c, bucket, "copy of ünï").await, data);
    })
    .await
}

#[tokio::test]
async fn copy_of_a_multipart_object() {
    with_bucket("copympu", async |c, bucket| {
        let parts = [random_bytes(MIN_PART_SIZE), random_bytes(KIB)];
        upload_multipart(c, bucket, "mpu", &parts).await;
        let out = copy_object(c, bucket, "copy", &source_of(bucket, "mpu")).await;
        let etag = out.copy_object_result().and_then(|r| r.e_tag());
        let head = head_object(c, bucket, "copy").await;
        assert_eq!(
            head.e_tag(),
            etag,
            "HeadObject ETag matches CopyObjectResult"
        );
        let copied = get_bytes(c, bucket, "copy").await;
        assert!(copied == parts.concat(), "copied bytes differ");
    })
    .await
}

#[tokio::test]
async fn copy_errors() {
    with_bucket("copyerr", async |c, bucket| {
        put_source(c, bucket, "src", b"data").await;
        let absent = unique_bucket("absent");
        for (to_bucket, source, code) in [
            (bucket, source_of(bucket, "nope"), "NoSuchKey"),
            (bucket, source_of(&absent, "src"), "NoSuchBucket"),
            (absent.as_str(), source_of(bucket, "src"), "NoSuchBucket"),
        ] {
            let result = copy_request(c, to_bucket, "dst", &source).send().await;
            expect_s3_error(result, code, 404);
        }
        assert_no_object(c, bucket, "dst").await;
    })
    .await
}

#[tokio::test]
async fn upload_part_copy_builds_an_object_from_ranges_and_whole_sources() {
    with_bucket("partcopy", async |c, bucket| {
        let big = random_bytes(PART_SOURCE_SIZE);
        put_source(c, bucket, "big src", &big).await;
        let small = b"a small inline source".to_vec();
        put_source(c, bucket, "small", &small).await;
        let upload_id = start_upload(c, bucket, "assembled").await;
        let copy_part = |n: i32, key: &str| {
            let request = c.upload_part_copy().bucket(bucket).key("assembled");
            request
                .upload_id(&upload_id)
                .part_number(n)
                .copy_source(source_of(bucket, key))
        };

        // Part 1: a range of the big source starting off a chunk boundary.
        let part1 = big[RANGE_START..RANGE_START + MIN_PART_SIZE].to_vec();
        let range = format!("bytes={RANGE_START}-{}", RANGE_START + MIN_PART_SIZE - 1);
        let out = copy_part(1, "big src")
            .copy_source_range(range)
            .send()
            .await;
        let out = out.expect("UploadPartCopy with a range");
        let result = out.copy_part_result().expect("CopyPartResult");
        assert_eq!(result.e_tag(), Some(etag_of(&part1).as_str()));
        assert!(result.last_modified().is_some());

        // Part 2: uploaded the usual way.
        let part2 = random_bytes(MIN_PART_SIZE);
        let up = upload_part(c, bucket, "assembled", &upload_id, 2, &part2).await;

        // Part 3: a whole (inline) object, guarded by a matching If-Match.
        let if_match = copy_part(3, "small").copy_source_if_match(etag_of(&small));
        let out3 = if_match
            .send()
            .await
            .expect("UploadPartCopy of a whole object");

        let listed = list_parts(c, bucket, "assembled", &upload_id).await;
        let sizes: Vec<Option<i64>> = listed.parts().iter().map(|p| p.size()).collect();
        let min = Some(MIN_PART_SIZE as i64);
        assert_eq!(sizes, vec![min, min, Some(small.len() as i64)]);

        let third = out3.copy_part_result().and_then(|r| r.e_tag());
        let parts = vec![part(1, result.e_tag()), up, part(3, third)];
        let done = complete(c, bucket, "assembled", &upload_id, parts).await;
        let expected = [part1.clone(), part2.clone(), small.clone()];
        assert_eq!(done.e_tag(), Some(multipart_etag(&expected).as_str()));
        let assembled = get_bytes(c, bucket, "assembled").await;
        assert!(assembled == expected.concat(), "assembled bytes differ");
        assert!(
            get_bytes(c, bucket, "big src").await == big,
            "source unchanged"
        );
    })
    .await
}

#[tokio::test]
async fn upload_part_copy_errors_and_source_conditions() {
    with_bucket("partcopyerr", async |c, bucket| {
        let data = b"0123456789".to_vec();
        put_source(c, bucket, "src", &data).await;
        let upload_id = start_upload(c, bucket, "dst").await;
        let copy_to = |key: &str, upload_id: &str, n: i32, source: &str| {
            let request = c.upload_part_copy().bucket(bucket).key(key);
            request
                .upload_id(upload_id)
                .part_number(n)
                .copy_source(source_of(bucket, source))
        };
        let copy = || copy_to("dst", &upload_id, 1, "src");
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
        let beyond = copy().copy_source_range("bytes=5-10").send().await;
        expect_s3_error(beyond, "InvalidRange", 416);

        let past = DateTime::from_secs(PAST_SECS);
        let future = DateTime::from_secs(FUTURE_SECS);
        for failing in [
            copy().copy_source_if_match("\"0000\""),
            copy().copy_source_if_none_match(etag_of(&data)),
            copy().copy_source_if_modified_since(future),
            copy().copy_source_if_unmodified_since(past),
        ] {
            expect_s3_error(failing.send().await, "PreconditionFailed", 412);
        }
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

        let missing = copy_to("dst", &upload_id, 2, "missing").send().await;
        expect_s3_error(missing, "NoSuchKey", 404);
        let other = start_upload(c, bucket, "other").await;
        abort(c, bucket, "other", &other).await;
        let aborted = copy_to("other", &other, 1, "src").send().await;
        expect_s3_error(aborted, "NoSuchUpload", 404);
        let past_last = copy_to("dst", &upload_id, 10_001, "src").send().await;
        expect_s3_error(past_last, "InvalidArgument", 400);
    })
    .await
}
