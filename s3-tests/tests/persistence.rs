//! Durability across a restart: a private server is filled, shut down, and
//! started again on the same data dir; everything must read back identically,
//! tags, stored checksums and a checksummed upload in progress included.
//! Skipped when `S3_ENDPOINT` is set (the test needs to own the server).

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use cairn_s3_tests::*;

/// Small enough to be stored inline in metadata, if the server does that.
const INLINE_SIZE: usize = 100;
/// Several 1 MiB chunks plus a partial one.
const CHUNKED_SIZE: usize = 3 * MIB + 333;
const MIN_PART_SIZE: usize = 5 * MIB;
const LAST_PART_SIZE: usize = 2 * KIB;

/// What was written before the restart, to compare after it.
struct Expected {
    objects: BTreeMap<String, (Vec<u8>, String)>,
    content_type_key: String,
    pending_upload: (String, String, Vec<u8>),
}

async fn put(c: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PutObject {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })
        .e_tag()
        .expect("ETag")
        .to_owned()
}

async fn upload_part(
    c: &Client,
    bucket: &str,
    key: &str,
    id: &str,
    n: i32,
    data: &[u8],
) -> CompletedPart {
    let out = c
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .part_number(n)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "UploadPart {n}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    CompletedPart::builder()
        .part_number(n)
        .set_e_tag(out.e_tag().map(str::to_owned))
        .build()
}

async fn fill(c: &Client, bucket: &str) -> Expected {
    let mut objects = BTreeMap::new();
    for (key, data) in [
        ("empty", Vec::new()),
        ("inline", random_bytes(INLINE_SIZE)),
        ("dir/chunked.bin", random_bytes(CHUNKED_SIZE)),
        ("ünï cödé/key", random_bytes(KIB)),
    ] {
        let etag = put(c, bucket, key, &data).await;
        objects.insert(key.to_owned(), (data, etag));
    }

    let content_type_key = "with-metadata".to_owned();
    let data = random_bytes(KIB);
    let out = c
        .put_object()
        .bucket(bucket)
        .key(&content_type_key)
        .body(ByteStream::from(data.clone()))
        .content_type("application/x-durable")
        .metadata("survives", "restart")
        .send()
        .await
        .expect("PutObject with metadata");
    objects.insert(
        content_type_key.clone(),
        (data, out.e_tag().expect("ETag").to_owned()),
    );

    // A deleted object must stay deleted, an overwritten one overwritten.
    put(c, bucket, "deleted", b"gone").await;
    c.delete_object()
        .bucket(bucket)
        .key("deleted")
        .send()
        .await
        .expect("DeleteObject");
    put(c, bucket, "overwritten", &random_bytes(CHUNKED_SIZE)).await;
    let second = random_bytes(INLINE_SIZE);
    let etag = put(c, bucket, "overwritten", &second).await;
    objects.insert("overwritten".to_owned(), (second, etag));

    // A completed multipart upload.
    let id = c
        .create_multipart_upload()
        .bucket(bucket)
        .key("multipart")
        .send()
        .await
        .expect("Create");
    let id = id.upload_id().expect("UploadId").to_owned();
    let parts = [random_bytes(MIN_PART_SIZE), random_bytes(LAST_PART_SIZE)];
    let mut completed = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        completed.push(upload_part(c, bucket, "multipart", &id, i as i32 + 1, part).await);
    }
    let done = c
        .complete_multipart_upload()
        .bucket(bucket)
        .key("multipart")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("Complete");
    assert_eq!(done.e_tag(), Some(multipart_etag(&parts).as_str()));
    objects.insert(
        "multipart".to_owned(),
        (parts.concat(), multipart_etag(&parts)),
    );

    // An upload still in progress, with one part.
    let pending = c
        .create_multipart_upload()
        .bucket(bucket)
        .key("pending")
        .send()
        .await
        .expect("Create pending");
    let pending_id = pending.upload_id().expect("UploadId").to_owned();
    let pending_part = random_bytes(MIN_PART_SIZE);
    upload_part(c, bucket, "pending", &pending_id, 1, &pending_part).await;

    Expected {
        objects,
        content_type_key,
        pending_upload: ("pending".to_owned(), pending_id, pending_part),
    }
}

async fn verify(c: &Client, bucket: &str, other_bucket: &str, expected: &Expected) {
    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets after restart")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert!(
        names.contains(&bucket.to_owned()) && names.contains(&other_bucket.to_owned()),
        "buckets: {names:?}"
    );

    let listed = c
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectsV2 after restart");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    let expected_keys: Vec<&str> = expected.objects.keys().map(String::as_str).collect();
    assert_eq!(keys, expected_keys, "listing after restart");

    for (key, (data, etag)) in &expected.objects {
        let got = c
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "GetObject {key} after restart: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
        assert_eq!(got.e_tag(), Some(etag.as_str()), "{key} ETag after restart");
        assert_eq!(
            got.content_length(),
            Some(data.len() as i64),
            "{key} length after restart"
        );
        let body = collect_body(got).await;
        assert!(&body == data, "{key}: body differs after restart");
    }
    let ranged = c
        .get_object()
        .bucket(bucket)
        .key("dir/chunked.bin")
        .range(format!("bytes={}-{}", MIB - 10, 2 * MIB + 10))
        .send()
        .await
        .expect("ranged GET after restart");
    let (data, _) = &expected.objects["dir/chunked.bin"];
    assert!(
        collect_body(ranged).await == data[MIB - 10..=2 * MIB + 10],
        "ranged read after restart"
    );

    let head = c
        .head_object()
        .bucket(bucket)
        .key(&expected.content_type_key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_type(), Some("application/x-durable"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("survives"))
            .map(String::as_str),
        Some("restart")
    );
    expect_s3_error(
        c.get_object().bucket(bucket).key("deleted").send().await,
        "NoSuchKey",
        404,
    );

    // The in-progress upload survived and can be finished.
    let (key, id, part) = &expected.pending_upload;
    let parts = c
        .list_parts()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .send()
        .await
        .expect("ListParts after restart");
    let listed: Vec<(Option<i32>, Option<i64>)> = parts
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.size()))
        .collect();
    assert_eq!(listed, [(Some(1), Some(part.len() as i64))]);
    let tail = random_bytes(LAST_PART_SIZE);
    let first = CompletedPart::builder()
        .part_number(1)
        .e_tag(etag_of(part))
        .build();
    let second = upload_part(c, bucket, key, id, 2, &tail).await;
    c.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(first)
                .parts(second)
                .build(),
        )
        .send()
        .await
        .expect("Complete an upload started before the restart");
    let got = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObject pending");
    assert!(
        collect_body(got).await == [part.as_slice(), tail.as_slice()].concat(),
        "resumed upload body"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_restart() {
    if !private_servers_supported() {
        eprintln!("skipped: {ENDPOINT_ENV} is set, so this test cannot own a server");
        return;
    }
    bounded(async {
        let dir = tempfile::tempdir().expect("data dir");
        let first = start_private_server(dir.path()).await.expect("first start");
        let c = first.target().client();
        let bucket = create_bucket(&c, "durable").await;
        let other_bucket = create_bucket(&c, "durable-empty").await;
        let expected = fill(&c, &bucket).await;
        drop(c);
        first.shutdown().await.expect("clean shutdown");

        let second = start_private_server(dir.path())
            .await
            .expect("restart on the same data dir");
        let c = second.target().client();
        verify(&c, &bucket, &other_bucket, &expected).await;
        drop(c);
        second.shutdown().await.expect("second shutdown");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_the_configured_keys_working() {
    if !private_servers_supported() {
        eprintln!("skipped: {ENDPOINT_ENV} is set, so this test cannot own a server");
        return;
    }
    bounded(async {
        let dir = tempfile::tempdir().expect("data dir");
        let first = start_private_server(dir.path()).await.expect("first start");
        assert_eq!(
            first.target().access_key,
            TEST_ACCESS_KEY,
            "the configured access key is used"
        );
        let c = first.target().client();
        let bucket = create_bucket(&c, "keys").await;
        drop(c);
        first.shutdown().await.expect("shutdown");

        let second = start_private_server(dir.path()).await.expect("restart");
        let c = second.target().client();
        c.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("HeadBucket with the same keys after restart");
        let bad = second
            .target()
            .client_with_keys(TEST_ACCESS_KEY, "wrong-secret-after-restart-000000000000");
        expect_s3_error(
            bad.list_objects_v2().bucket(&bucket).send().await,
            "SignatureDoesNotMatch",
            403,
        );
        drop((c, bad));
        second.shutdown().await.expect("shutdown");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_checksums_survive_a_restart() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, Tag, Tagging};
    if !private_servers_supported() {
        eprintln!("skipped: {ENDPOINT_ENV} is set, so this test cannot own a server");
        return;
    }
    bounded(async {
        let dir = tempfile::tempdir().expect("data dir");
        let first = start_private_server(dir.path()).await.expect("first start");
        let c = first.target().client();
        let bucket = create_bucket(&c, "durable-extras").await;
        let data = random_bytes(CHUNKED_SIZE);
        c.put_object()
            .bucket(&bucket)
            .key("tagged")
            .tagging("kept=yes")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("PutObject");
        c.put_bucket_tagging()
            .bucket(&bucket)
            .tagging(
                Tagging::builder()
                    .tag_set(
                        Tag::builder()
                            .key("env")
                            .value("prod")
                            .build()
                            .expect("tag"),
                    )
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .expect("PutBucketTagging");
        // An upload with a checksum algorithm, left half done over the restart.
        let upload = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .tagging("from=upload")
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .expect("Create");
        let upload_id = upload.upload_id().expect("UploadId").to_string();
        let part1 = random_bytes(MIN_PART_SIZE);
        let out1 = c
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&upload_id)
            .part_number(1)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(part1.clone()))
            .send()
            .await
            .expect("UploadPart 1");
        drop(c);
        first.shutdown().await.expect("clean shutdown");

        let second = start_private_server(dir.path()).await.expect("restart");
        let c = second.target().client();
        let tags = c
            .get_object_tagging()
            .bucket(&bucket)
            .key("tagged")
            .send()
            .await
            .expect("GetObjectTagging");
        assert_eq!(tags.tag_set().len(), 1);
        assert_eq!(tags.tag_set()[0].key(), "kept");
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("tagged")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("HEAD");
        assert_eq!(
            head.checksum_sha256(),
            Some(checksum_b64("sha256", &data).as_str())
        );
        let bucket_tags = c
            .get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketTagging");
        assert_eq!(bucket_tags.tag_set().len(), 1);

        let part2 = random_bytes(LAST_PART_SIZE);
        let out2 = c
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&upload_id)
            .part_number(2)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(part2.clone()))
            .send()
            .await
            .expect("UploadPart 2");
        let sums: Vec<String> = [out1.checksum_crc32(), out2.checksum_crc32()]
            .into_iter()
            .map(|s| s.expect("part checksum").to_string())
            .collect();
        let parts = [(1, &out1.e_tag, &sums[0]), (2, &out2.e_tag, &sums[1])]
            .into_iter()
            .map(|(n, etag, sum)| {
                CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(etag.clone())
                    .checksum_crc32(sum.clone())
                    .build()
            })
            .collect();
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .expect("Complete after the restart");
        assert_eq!(
            done.checksum_crc32(),
            Some(composite_checksum("crc32", &sums).as_str()),
            "the part checksum stored before the restart counts"
        );
        let mp_tags = c
            .get_object_tagging()
            .bucket(&bucket)
            .key("mp")
            .send()
            .await
            .expect("GetObjectTagging mp");
        assert_eq!(mp_tags.tag_set()[0].key(), "from");
        drop(c);
        second.shutdown().await.expect("second shutdown");
    })
    .await
}
