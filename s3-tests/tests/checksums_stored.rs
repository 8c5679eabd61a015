//! Checksums kept and answered: an upload's verified `x-amz-checksum-*` (or
//! the CRC64NVME S3 computes when none is sent) comes back on GET/HEAD with
//! `x-amz-checksum-mode: ENABLED`, in PutObject / CopyObject answers and in
//! GetObjectAttributes; multipart uploads created with a checksum algorithm
//! keep each part's checksum, validate the list at Complete and get the
//! composite `<base64>-<parts>` checksum, or for FULL_OBJECT uploads (CRCs)
//! the CRC of all the object's bytes, as at AWS.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    ObjectAttributes,
};
use cairn_s3_tests::*;

const MIN_PART_SIZE: usize = 5 * MIB;
const SMALL: usize = 3 * KIB;
/// Several internal chunks.
const LARGE: usize = 2 * MIB + 99;

/// The checksum field of an SDK output for an algorithm named as in its header.
macro_rules! field {
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

fn sdk_algorithm(name: &str) -> ChecksumAlgorithm {
    match name {
        "crc32" => ChecksumAlgorithm::Crc32,
        "crc32c" => ChecksumAlgorithm::Crc32C,
        "crc64nvme" => ChecksumAlgorithm::Crc64Nvme,
        "sha1" => ChecksumAlgorithm::Sha1,
        "sha256" => ChecksumAlgorithm::Sha256,
        other => panic!("no SDK algorithm for {other}"),
    }
}

const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

#[tokio::test]
async fn put_checksums_are_kept_and_answered_with_checksum_mode() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cks-put").await;
        for alg in ALGORITHMS {
            let key = format!("obj-{alg}");
            let data = random_bytes(LARGE);
            let expected = checksum_b64(alg, &data);
            let put = c
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .checksum_algorithm(sdk_algorithm(alg))
                .body(ByteStream::from(data.clone()))
                .send()
                .await
                .expect("PutObject");
            assert_eq!(field!(put, alg), Some(expected.as_str()), "PUT {alg}");
            assert_eq!(put.checksum_type(), Some(&ChecksumType::FullObject));

            // The SDK validates what the GET answers against the body.
            read_back(
                &c,
                &bucket,
                &key,
                alg,
                &expected,
                ChecksumType::FullObject,
                &data,
            )
            .await;

            // Not asked for, not answered; no checksum of a mere range.
            let plain = c
                .head_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .expect("HEAD");
            assert_eq!(field!(plain, alg), None);
            let ranged = c
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .range("bytes=10-20")
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .expect("ranged GET");
            assert_eq!(field!(ranged, alg), None);
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn uploads_without_a_checksum_get_a_crc64nvme() {
    bounded(async {
        let c = client_when_required();
        let bucket = create_bucket(&c, "cks-default").await;
        let data = random_bytes(SMALL);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("PutObject without a checksum");
        let expected = checksum_b64("crc64nvme", &data);
        assert_eq!(put.checksum_crc64_nvme(), Some(expected.as_str()));
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("k")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("HEAD");
        assert_eq!(head.checksum_crc64_nvme(), Some(expected.as_str()));
        assert_eq!(head.checksum_crc32(), None);

        // A copy keeps the source's checksum (same bytes).
        let copy = c
            .copy_object()
            .bucket(&bucket)
            .key("copy")
            .copy_source(format!("{bucket}/k"))
            .send()
            .await
            .expect("CopyObject");
        let result = copy.copy_object_result().expect("CopyObjectResult");
        assert_eq!(result.checksum_crc64_nvme(), Some(expected.as_str()));
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("copy")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("HEAD copy");
        assert_eq!(head.checksum_crc64_nvme(), Some(expected.as_str()));

        // A copy asking for another algorithm gets it, computed from the
        // copied bytes (inline and chunked sources alike).
        let large = random_bytes(LARGE);
        c.put_object()
            .bucket(&bucket)
            .key("large")
            .body(ByteStream::from(large.clone()))
            .send()
            .await
            .expect("PutObject large");
        for (src, bytes) in [("k", &data), ("large", &large)] {
            let dst = format!("{src}-sha1");
            let copy = c
                .copy_object()
                .bucket(&bucket)
                .key(&dst)
                .copy_source(format!("{bucket}/{src}"))
                .checksum_algorithm(ChecksumAlgorithm::Sha1)
                .send()
                .await
                .expect("CopyObject with an algorithm");
            let sha1 = checksum_b64("sha1", bytes);
            let result = copy.copy_object_result().expect("CopyObjectResult");
            assert_eq!(result.checksum_sha1(), Some(sha1.as_str()), "{src}");
            let head = c
                .head_object()
                .bucket(&bucket)
                .key(&dst)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .expect("HEAD copy");
            assert_eq!(head.checksum_sha1(), Some(sha1.as_str()));
            assert_eq!(head.checksum_crc64_nvme(), None);
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

/// Starts an upload with `algorithm`, uploads `parts` (the SDK computes each
/// part's checksum) and returns the upload id and the part checksums the
/// server answered.
async fn checksummed_upload(
    c: &Client,
    bucket: &str,
    key: &str,
    alg: &str,
    parts: &[Vec<u8>],
) -> (String, Vec<String>, Vec<String>) {
    typed_upload(c, bucket, key, alg, None, parts).await
}

/// As `checksummed_upload`, with an explicit `x-amz-checksum-type` (None:
/// the algorithm's default, which is answered: FULL_OBJECT for CRC64NVME,
/// COMPOSITE otherwise).
async fn typed_upload(
    c: &Client,
    bucket: &str,
    key: &str,
    alg: &str,
    kind: Option<ChecksumType>,
    parts: &[Vec<u8>],
) -> (String, Vec<String>, Vec<String>) {
    let create = c
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(sdk_algorithm(alg))
        .set_checksum_type(kind.clone())
        .send()
        .await
        .expect("CreateMultipartUpload");
    assert_eq!(create.checksum_algorithm(), Some(&sdk_algorithm(alg)));
    let default_kind = if alg == "crc64nvme" {
        ChecksumType::FullObject
    } else {
        ChecksumType::Composite
    };
    assert_eq!(create.checksum_type(), Some(&kind.unwrap_or(default_kind)));
    let upload_id = create.upload_id().expect("UploadId").to_string();
    let mut etags = Vec::new();
    let mut sums = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let out = c
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(i as i32 + 1)
            .checksum_algorithm(sdk_algorithm(alg))
            .body(ByteStream::from(part.clone()))
            .send()
            .await
            .expect("UploadPart");
        let sum = field!(out, alg).expect("UploadPart answers the part's checksum");
        assert_eq!(sum, checksum_b64(alg, part));
        sums.push(sum.to_string());
        etags.push(out.e_tag().expect("ETag").to_string());
    }
    // ListParts reports the algorithm, the type and every part's checksum.
    let listed = c
        .list_parts()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .expect("ListParts");
    assert_eq!(listed.checksum_algorithm(), Some(&sdk_algorithm(alg)));
    assert_eq!(listed.checksum_type(), create.checksum_type());
    let listed_sums: Vec<Option<&str>> = listed.parts().iter().map(|p| field!(p, alg)).collect();
    let want: Vec<Option<&str>> = sums.iter().map(|s| Some(s.as_str())).collect();
    assert_eq!(listed_sums, want, "ListParts checksums");
    (upload_id, etags, sums)
}

/// An upload in progress: where it goes and its id.
struct Uploaded<'a> {
    bucket: &'a str,
    key: &'a str,
    upload_id: &'a str,
}

/// Completes `object` with the part checksums `given`, then checks that
/// Complete's answer, HEAD and GET (checksum mode) name the object checksum
/// `expected` of type `kind`, and that the body reads back as `body` (for a
/// full-object checksum the SDK also checks the body against it).
#[allow(clippy::too_many_arguments)]
async fn complete_and_read_back(
    c: &Client,
    object: &Uploaded<'_>,
    alg: &str,
    etags: &[String],
    given: &[Option<String>],
    expected: &str,
    kind: ChecksumType,
    body: &[u8],
) {
    let done = c
        .complete_multipart_upload()
        .bucket(object.bucket)
        .key(object.key)
        .upload_id(object.upload_id)
        .multipart_upload(completed(alg, etags, given))
        .send()
        .await
        .expect("CompleteMultipartUpload");
    assert_eq!(field!(done, alg), Some(expected), "{alg}");
    assert_eq!(done.checksum_type(), Some(&kind));
    read_back(c, object.bucket, object.key, alg, expected, kind, body).await;
}

/// HEAD and GET in checksum mode name the checksum `expected` of type
/// `kind`, and the body reads back as `body`.
async fn read_back(
    c: &Client,
    bucket: &str,
    key: &str,
    alg: &str,
    expected: &str,
    kind: ChecksumType,
    body: &[u8],
) {
    let head = c
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("HEAD");
    assert_eq!(field!(head, alg), Some(expected), "HEAD {alg}");
    assert_eq!(head.checksum_type(), Some(&kind));
    let get = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("GET");
    assert_eq!(field!(get, alg), Some(expected), "GET {alg}");
    assert!(collect_body(get).await == body);
}

fn completed(alg: &str, etags: &[String], sums: &[Option<String>]) -> CompletedMultipartUpload {
    let parts = etags
        .iter()
        .zip(sums)
        .enumerate()
        .map(|(i, (etag, sum))| {
            let b = CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(etag);
            let b = match alg {
                "crc32" => b.set_checksum_crc32(sum.clone()),
                "crc32c" => b.set_checksum_crc32_c(sum.clone()),
                "crc64nvme" => b.set_checksum_crc64_nvme(sum.clone()),
                "sha1" => b.set_checksum_sha1(sum.clone()),
                "sha256" => b.set_checksum_sha256(sum.clone()),
                other => panic!("no part checksum field for {other}"),
            };
            b.build()
        })
        .collect();
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

#[tokio::test]
async fn multipart_uploads_get_composite_checksums() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cks-mpu").await;
        for alg in ["crc32", "crc32c", "sha1", "sha256"] {
            let key = format!("mp-{alg}");
            let parts = vec![
                random_bytes(MIN_PART_SIZE),
                random_bytes(MIN_PART_SIZE + 1),
                random_bytes(SMALL),
            ];
            let (upload_id, etags, sums) = checksummed_upload(&c, &bucket, &key, alg, &parts).await;
            let expected = composite_checksum(alg, &sums);
            let given: Vec<Option<String>> = sums.iter().cloned().map(Some).collect();
            let object = Uploaded {
                bucket: &bucket,
                key: &key,
                upload_id: &upload_id,
            };
            complete_and_read_back(
                &c,
                &object,
                alg,
                &etags,
                &given,
                &expected,
                ChecksumType::Composite,
                &parts.concat(),
            )
            .await;

            // One part: that part's own checksum (validated by the SDK).
            let part2 = c
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .part_number(2)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .expect("GET partNumber=2");
            assert_eq!(field!(part2, alg), Some(sums[1].as_str()));
            assert!(collect_body(part2).await == parts[1]);

            let attrs = c
                .get_object_attributes()
                .bucket(&bucket)
                .key(&key)
                .object_attributes(ObjectAttributes::Checksum)
                .object_attributes(ObjectAttributes::ObjectParts)
                .send()
                .await
                .expect("GetObjectAttributes");
            let sum = attrs.checksum().expect("Checksum");
            assert_eq!(field!(sum, alg), Some(expected.as_str()));
            assert_eq!(sum.checksum_type(), Some(&ChecksumType::Composite));
            let listed: Vec<Option<&str>> = attrs
                .object_parts()
                .expect("ObjectParts")
                .parts()
                .iter()
                .map(|p| field!(p, alg))
                .collect();
            let want: Vec<Option<&str>> = sums.iter().map(|s| Some(s.as_str())).collect();
            assert_eq!(listed, want);
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn multipart_checksum_errors() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cks-mpu-err").await;
        let parts = vec![random_bytes(MIN_PART_SIZE), random_bytes(SMALL)];
        let (upload_id, etags, sums) = checksummed_upload(&c, &bucket, "k", "crc32", &parts).await;
        let complete = |given: Vec<Option<String>>| {
            c.complete_multipart_upload()
                .bucket(&bucket)
                .key("k")
                .upload_id(&upload_id)
                .multipart_upload(completed("crc32", &etags, &given))
                .send()
        };
        let err = expect_s3_error(
            complete(vec![Some(sums[0].clone()), None]).await,
            "InvalidRequest",
            400,
        );
        let body = err
            .raw_response()
            .and_then(|r| r.body().bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        assert!(
            body.contains("missing for part 2"),
            "names the part: {body}"
        );
        expect_s3_error(
            complete(vec![Some(sums[0].clone()), Some(sums[0].clone())]).await,
            "InvalidPart",
            400,
        );
        // A part with another algorithm, or none, is refused before storing.
        expect_s3_error(
            c.upload_part()
                .bucket(&bucket)
                .key("k")
                .upload_id(&upload_id)
                .part_number(3)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
            "InvalidRequest",
            400,
        );
        expect_s3_error(
            client_when_required()
                .upload_part()
                .bucket(&bucket)
                .key("k")
                .upload_id(&upload_id)
                .part_number(3)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
            "InvalidRequest",
            400,
        );
        // The refusals left the upload completable.
        let given: Vec<Option<String>> = sums.iter().cloned().map(Some).collect();
        complete(given).await.expect("Complete with every checksum");

        // Types an algorithm does not have: SHA digests do not combine, and
        // CRC64NVME is FULL_OBJECT only.
        expect_s3_error(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key("full-sha")
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_type(ChecksumType::FullObject)
                .send()
                .await,
            "InvalidRequest",
            400,
        );
        expect_s3_error(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key("nvme")
                .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
                .checksum_type(ChecksumType::Composite)
                .send()
                .await,
            "InvalidRequest",
            400,
        );
        expect_s3_error(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key("typeonly")
                .checksum_type(ChecksumType::Composite)
                .send()
                .await,
            "InvalidRequest",
            400,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn upload_part_copy_computes_the_parts_checksum() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cks-partcopy").await;
        let source = random_bytes(MIN_PART_SIZE + 100);
        c.put_object()
            .bucket(&bucket)
            .key("src")
            .body(ByteStream::from(source.clone()))
            .send()
            .await
            .expect("PutObject");
        let create = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("dst")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .expect("Create");
        let upload_id = create.upload_id().expect("UploadId");
        let copied = &source[50..50 + MIN_PART_SIZE];
        let out = c
            .upload_part_copy()
            .bucket(&bucket)
            .key("dst")
            .upload_id(upload_id)
            .part_number(1)
            .copy_source(format!("{bucket}/src"))
            .copy_source_range(format!("bytes=50-{}", 50 + MIN_PART_SIZE - 1))
            .send()
            .await
            .expect("UploadPartCopy");
        let result = out.copy_part_result().expect("CopyPartResult");
        let sum = checksum_b64("sha256", copied);
        assert_eq!(result.checksum_sha256(), Some(sum.as_str()));
        let etags = vec![result.e_tag().expect("ETag").to_string()];
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("dst")
            .upload_id(upload_id)
            .multipart_upload(completed("sha256", &etags, &[Some(sum.clone())]))
            .send()
            .await
            .expect("Complete");
        assert_eq!(
            done.checksum_sha256(),
            Some(composite_checksum("sha256", &[sum]).as_str())
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn full_object_multipart_checksums_are_the_crc_of_all_the_bytes() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cks-full").await;
        for (alg, kind) in [
            ("crc32", Some(ChecksumType::FullObject)),
            ("crc32c", Some(ChecksumType::FullObject)),
            ("crc64nvme", None),
        ] {
            let key = format!("full-{alg}");
            let parts = vec![random_bytes(MIN_PART_SIZE + 3), random_bytes(SMALL)];
            let whole = parts.concat();
            let expected = checksum_b64(alg, &whole);
            let (upload_id, etags, sums) = typed_upload(&c, &bucket, &key, alg, kind, &parts).await;
            let given: Vec<Option<String>> = sums.iter().cloned().map(Some).collect();
            let object = Uploaded {
                bucket: &bucket,
                key: &key,
                upload_id: &upload_id,
            };
            complete_and_read_back(
                &c,
                &object,
                alg,
                &etags,
                &given,
                &expected,
                ChecksumType::FullObject,
                &whole,
            )
            .await;
        }

        // Part checksums may be left out of a FULL_OBJECT Complete; an
        // object checksum sent with it must match.
        let parts = vec![random_bytes(MIN_PART_SIZE), random_bytes(SMALL)];
        let (upload_id, etags, _) = typed_upload(
            &c,
            &bucket,
            "checked",
            "crc32",
            Some(ChecksumType::FullObject),
            &parts,
        )
        .await;
        let unlisted = completed("crc32", &etags, &[None, None]);
        expect_s3_error(
            c.complete_multipart_upload()
                .bucket(&bucket)
                .key("checked")
                .upload_id(&upload_id)
                .multipart_upload(unlisted.clone())
                .checksum_crc32(checksum_b64("crc32", b"other bytes"))
                .send()
                .await,
            "BadDigest",
            400,
        );
        let whole = checksum_b64("crc32", &parts.concat());
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("checked")
            .upload_id(&upload_id)
            .multipart_upload(unlisted)
            .checksum_crc32(whole.clone())
            .send()
            .await
            .expect("Complete with the right object checksum");
        assert_eq!(done.checksum_crc32(), Some(whole.as_str()));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn multipart_without_an_algorithm_gets_a_full_object_crc64nvme() {
    bounded(async {
        let bucket = create_bucket(&client(), "cks-mpu-default").await;
        // With the SDK's default part checksums (CRC32) and with none at all.
        for (name, c) in [
            ("default", client()),
            ("when-required", client_when_required()),
        ] {
            let parts = vec![random_bytes(MIN_PART_SIZE + 5), random_bytes(SMALL)];
            upload_multipart(&c, &bucket, name, &parts).await;
            let whole = parts.concat();
            let expected = checksum_b64("crc64nvme", &whole);
            let head = c
                .head_object()
                .bucket(&bucket)
                .key(name)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .expect("HEAD");
            assert_eq!(
                head.checksum_crc64_nvme(),
                Some(expected.as_str()),
                "{name}"
            );
            assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
            assert_eq!(head.checksum_crc32(), None);
            let get = client()
                .get_object()
                .bucket(&bucket)
                .key(name)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .expect("GET (the SDK checks the CRC64NVME)");
            assert!(collect_body(get).await == whole);
        }

        // An upload in progress without an algorithm lists no part checksums.
        let c = client();
        let create = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("pending")
            .send()
            .await
            .expect("Create");
        assert_eq!(create.checksum_algorithm(), None);
        let upload_id = create.upload_id().expect("UploadId");
        c.upload_part()
            .bucket(&bucket)
            .key("pending")
            .upload_id(upload_id)
            .part_number(1)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await
            .expect("UploadPart");
        let listed = c
            .list_parts()
            .bucket(&bucket)
            .key("pending")
            .upload_id(upload_id)
            .send()
            .await
            .expect("ListParts");
        assert_eq!(listed.checksum_algorithm(), None);
        assert_eq!(listed.parts().len(), 1);
        assert_eq!(listed.parts()[0].checksum_crc64_nvme(), None);
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("pending")
            .upload_id(upload_id)
            .send()
            .await
            .expect("Abort");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
