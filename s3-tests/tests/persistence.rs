//! Durability across a restart: a private server is filled, shut down, and
//! started again on the same data dir; everything must read back identically,
//! tags, stored checksums and a checksummed upload in progress included.
//! Skipped when `S3_ENDPOINT` is set (the test needs to own the server).

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedPart};
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

/// Runs `body` with a fresh data dir for private servers, within the test
/// timeout; skipped against an external endpoint.
async fn with_data_dir(body: impl AsyncFnOnce(&Path)) {
    if !private_servers_supported() {
        eprintln!("skipped: {ENDPOINT_ENV} is set, so this test cannot own a server");
        return;
    }
    bounded(async {
        let dir = tempfile::tempdir().expect("data dir");
        body(dir.path()).await;
    })
    .await
}

/// Starts a private server on `dir`; `what` names the start when it fails.
async fn start(dir: &Path, what: &str) -> PrivateServer {
    start_private_server(dir).await.expect(what)
}

/// PutObject; answers the ETag.
async fn put(c: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    let out = put_bytes(c, bucket, key, data).await;
    out.e_tag().expect("ETag").to_owned()
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
    let out = put_with(c, bucket, &content_type_key, &data, |r| {
        r.content_type("application/x-durable")
            .metadata("survives", "restart")
    })
    .await;
    let etag = out.e_tag().expect("ETag").to_owned();
    objects.insert(content_type_key.clone(), (data, etag));

    // A deleted object must stay deleted, an overwritten one overwritten.
    put(c, bucket, "deleted", b"gone").await;
    delete_object(c, bucket, "deleted").await;
    put(c, bucket, "overwritten", &random_bytes(CHUNKED_SIZE)).await;
    let second = random_bytes(INLINE_SIZE);
    let etag = put(c, bucket, "overwritten", &second).await;
    objects.insert("overwritten".to_owned(), (second, etag));

    // A completed multipart upload.
    let parts = [random_bytes(MIN_PART_SIZE), random_bytes(LAST_PART_SIZE)];
    let etag = upload_multipart(c, bucket, "multipart", &parts).await;
    assert_eq!(etag, multipart_etag(&parts));
    objects.insert("multipart".to_owned(), (parts.concat(), etag));

    // An upload still in progress, with one part.
    let pending_id = start_upload(c, bucket, "pending").await;
    let pending_part = random_bytes(MIN_PART_SIZE);
    upload_part(c, bucket, "pending", &pending_id, 1, &pending_part).await;

    Expected {
        objects,
        content_type_key,
        pending_upload: ("pending".to_owned(), pending_id, pending_part),
    }
}

async fn verify(c: &Client, bucket: &str, other_bucket: &str, expected: &Expected) {
    let listed = c
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets after restart");
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&bucket) && names.contains(&other_bucket),
        "buckets: {names:?}"
    );

    let keys = list_keys(c, bucket).await;
    let expected_keys: Vec<String> = expected.objects.keys().cloned().collect();
    assert_eq!(keys, expected_keys, "listing after restart");

    for (key, (data, etag)) in &expected.objects {
        let got = get_object(c, bucket, key).await;
        assert_eq!(got.e_tag(), Some(etag.as_str()), "{key} ETag after restart");
        let length = got.content_length();
        assert_eq!(
            length,
            Some(data.len() as i64),
            "{key} length after restart"
        );
        let body = collect_body(got).await;
        assert!(&body == data, "{key}: body differs after restart");
    }
    let range = format!("bytes={}-{}", MIB - 10, 2 * MIB + 10);
    let ranged = get_with(c, bucket, "dir/chunked.bin", |r| r.range(range)).await;
    let (data, _) = &expected.objects["dir/chunked.bin"];
    let read = collect_body(ranged).await;
    assert!(
        read == data[MIB - 10..=2 * MIB + 10],
        "ranged read after restart"
    );

    let head = head_object(c, bucket, &expected.content_type_key).await;
    assert_eq!(head.content_type(), Some("application/x-durable"));
    assert_eq!(meta(head.metadata(), "survives"), Some("restart"));
    let deleted = get_request(c, bucket, "deleted").send().await;
    expect_s3_error(deleted, "NoSuchKey", 404);

    // The in-progress upload survived and can be finished.
    let (key, id, part) = &expected.pending_upload;
    let parts = list_parts(c, bucket, key, id).await;
    let parts = parts.parts().iter();
    let listed: Vec<(Option<i32>, Option<i64>)> =
        parts.map(|p| (p.part_number(), p.size())).collect();
    assert_eq!(listed, [(Some(1), Some(part.len() as i64))]);
    let tail = random_bytes(LAST_PART_SIZE);
    let first = CompletedPart::builder()
        .part_number(1)
        .e_tag(etag_of(part))
        .build();
    let second = upload_part(c, bucket, key, id, 2, &tail).await;
    // Complete an upload started before the restart.
    complete(c, bucket, key, id, vec![first, second]).await;
    let resumed = get_bytes(c, bucket, key).await;
    let whole = [part.as_slice(), tail.as_slice()].concat();
    assert!(resumed == whole, "resumed upload body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_restart() {
    with_data_dir(async |dir| {
        let first = start(dir, "first start").await;
        let c = first.target().client();
        let bucket = create_bucket(&c, "durable").await;
        let other_bucket = create_bucket(&c, "durable-empty").await;
        let expected = fill(&c, &bucket).await;
        drop(c);
        first.shutdown().await.expect("clean shutdown");

        let second = start(dir, "restart on the same data dir").await;
        let c = second.target().client();
        verify(&c, &bucket, &other_bucket, &expected).await;
        drop(c);
        second.shutdown().await.expect("second shutdown");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_the_configured_keys_working() {
    with_data_dir(async |dir| {
        let first = start(dir, "first start").await;
        let access_key = &first.target().access_key;
        assert_eq!(
            access_key, TEST_ACCESS_KEY,
            "the configured access key is used"
        );
        let c = first.target().client();
        let bucket = create_bucket(&c, "keys").await;
        drop(c);
        first.shutdown().await.expect("shutdown");

        let second = start(dir, "restart").await;
        let c = second.target().client();
        // HeadBucket with the same keys after restart.
        head_bucket(&c, &bucket).await;
        let bad = second
            .target()
            .client_with_keys(TEST_ACCESS_KEY, "wrong-secret-after-restart-000000000000");
        let refused = bad.list_objects_v2().bucket(&bucket).send().await;
        expect_s3_error(refused, "SignatureDoesNotMatch", 403);
        drop((c, bad));
        second.shutdown().await.expect("shutdown");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_checksums_survive_a_restart() {
    with_data_dir(async |dir| {
        let first = start(dir, "first start").await;
        let c = first.target().client();
        let bucket = create_bucket(&c, "durable-extras").await;
        let data = random_bytes(CHUNKED_SIZE);
        put_with(&c, &bucket, "tagged", &data, |r| {
            r.tagging("kept=yes")
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
        })
        .await;
        let tags = tagging(vec![tag("env", "prod")]);
        let put_tags = c.put_bucket_tagging().bucket(&bucket).tagging(tags);
        put_tags.send().await.expect("PutBucketTagging");
        // An upload with a checksum algorithm, left half done over the restart.
        let upload = upload_request(&c, &bucket, "mp")
            .tagging("from=upload")
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .expect("Create");
        let upload_id = upload.upload_id().expect("UploadId").to_string();
        let crc32_part = async |c: &Client, n: i32, data: &[u8]| {
            let request = part_request(c, &bucket, "mp", &upload_id, n, data);
            let request = request.checksum_algorithm(ChecksumAlgorithm::Crc32);
            request.send().await.expect("UploadPart")
        };
        let part1 = random_bytes(MIN_PART_SIZE);
        let out1 = crc32_part(&c, 1, &part1).await;
        drop(c);
        first.shutdown().await.expect("clean shutdown");

        let second = start(dir, "restart").await;
        let c = second.target().client();
        let (tags, _) = tags_of(&c, &bucket, "tagged", None).await;
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].0, "kept");
        let enabled = ChecksumMode::Enabled;
        let head = head_with(&c, &bucket, "tagged", |r| r.checksum_mode(enabled)).await;
        let sha256 = checksum_b64("sha256", &data);
        assert_eq!(head.checksum_sha256(), Some(sha256.as_str()));
        let bucket_tags = c.get_bucket_tagging().bucket(&bucket).send().await;
        let bucket_tags = bucket_tags.expect("GetBucketTagging");
        assert_eq!(bucket_tags.tag_set().len(), 1);

        let part2 = random_bytes(LAST_PART_SIZE);
        let out2 = crc32_part(&c, 2, &part2).await;
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
        // Complete after the restart.
        let done = complete(&c, &bucket, "mp", &upload_id, parts).await;
        assert_eq!(
            done.checksum_crc32(),
            Some(composite_checksum("crc32", &sums).as_str()),
            "the part checksum stored before the restart counts"
        );
        let (mp_tags, _) = tags_of(&c, &bucket, "mp", None).await;
        assert_eq!(mp_tags[0].0, "from");
        drop(c);
        second.shutdown().await.expect("second shutdown");
    })
    .await
}
