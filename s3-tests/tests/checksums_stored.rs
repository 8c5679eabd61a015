//! Checksums kept and answered: an upload's verified `x-amz-checksum-*` (or
//! the CRC64NVME S3 computes when none is sent) comes back on GET/HEAD with
//! `x-amz-checksum-mode: ENABLED`, in PutObject / CopyObject answers and in
//! GetObjectAttributes; multipart uploads created with a checksum algorithm
//! keep each part's checksum, validate the list at Complete and get the
//! composite `<base64>-<parts>` checksum, or for FULL_OBJECT uploads (CRCs)
//! the CRC of all the object's bytes, as at AWS.

use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedPart, ObjectAttributes,
};
use cairn_s3_tests::*;

const MIN_PART_SIZE: usize = 5 * MIB;
const SMALL: usize = 3 * KIB;
/// Several internal chunks.
const LARGE: usize = 2 * MIB + 99;

const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// The checksum an object should answer.
struct Answer<'a> {
    alg: &'a str,
    value: &'a str,
    kind: ChecksumType,
}

/// HEAD and GET in checksum mode name the checksum of `answer`, and the
/// body reads back as `body` (for a full-object checksum the SDK also
/// checks the body against it).
async fn read_back(c: &Client, bucket: &str, key: &str, answer: &Answer<'_>, body: &[u8]) {
    let alg = answer.alg;
    let head = head_with(c, bucket, key, |r| r.checksum_mode(ChecksumMode::Enabled)).await;
    assert_eq!(checksum_field!(head, alg), Some(answer.value), "HEAD {alg}");
    assert_eq!(head.checksum_type(), Some(&answer.kind));
    let get = get_with(c, bucket, key, |r| r.checksum_mode(ChecksumMode::Enabled)).await;
    assert_eq!(checksum_field!(get, alg), Some(answer.value), "GET {alg}");
    assert!(collect_body(get).await == body);
}

#[tokio::test]
async fn put_checksums_are_kept_and_answered_with_checksum_mode() {
    with_bucket("cks-put", async |c, bucket| {
        for alg in ALGORITHMS {
            let key = format!("obj-{alg}");
            let data = random_bytes(LARGE);
            let expected = checksum_b64(alg, &data);
            let algorithm = sdk_algorithm(alg);
            let put = put_with(c, bucket, &key, &data, |r| r.checksum_algorithm(algorithm)).await;
            assert_eq!(
                checksum_field!(put, alg),
                Some(expected.as_str()),
                "PUT {alg}"
            );
            assert_eq!(put.checksum_type(), Some(&ChecksumType::FullObject));

            // The SDK validates what the GET answers against the body.
            let kind = ChecksumType::FullObject;
            let answer = Answer {
                alg,
                value: &expected,
                kind,
            };
            read_back(c, bucket, &key, &answer, &data).await;

            // Not asked for, not answered; no checksum of a mere range.
            let plain = head_object(c, bucket, &key).await;
            assert_eq!(checksum_field!(plain, alg), None);
            let ranged = get_with(c, bucket, &key, |r| {
                r.range("bytes=10-20").checksum_mode(ChecksumMode::Enabled)
            })
            .await;
            assert_eq!(checksum_field!(ranged, alg), None);
        }
    })
    .await
}

#[tokio::test]
async fn uploads_without_a_checksum_get_a_crc64nvme() {
    with_client_bucket(client_when_required(), "cks-default", async |c, bucket| {
        let data = random_bytes(SMALL);
        let put = put_bytes(c, bucket, "k", &data).await;
        let expected = checksum_b64("crc64nvme", &data);
        assert_eq!(put.checksum_crc64_nvme(), Some(expected.as_str()));
        let checked = async |key: &str| {
            head_with(c, bucket, key, |r| r.checksum_mode(ChecksumMode::Enabled)).await
        };
        let head = checked("k").await;
        assert_eq!(head.checksum_crc64_nvme(), Some(expected.as_str()));
        assert_eq!(head.checksum_crc32(), None);

        // A copy keeps the source's checksum (same bytes).
        let copy = copy_object(c, bucket, "copy", &format!("{bucket}/k")).await;
        let result = copy.copy_object_result().expect("CopyObjectResult");
        assert_eq!(result.checksum_crc64_nvme(), Some(expected.as_str()));
        let head = checked("copy").await;
        assert_eq!(head.checksum_crc64_nvme(), Some(expected.as_str()));

        // A copy asking for another algorithm gets it, computed from the
        // copied bytes (inline and chunked sources alike).
        let large = random_bytes(LARGE);
        put_bytes(c, bucket, "large", &large).await;
        for (src, bytes) in [("k", &data), ("large", &large)] {
            let dst = format!("{src}-sha1");
            let copy = copy_request(c, bucket, &dst, &format!("{bucket}/{src}"))
                .checksum_algorithm(ChecksumAlgorithm::Sha1)
                .send()
                .await
                .expect("CopyObject with an algorithm");
            let sha1 = checksum_b64("sha1", bytes);
            let result = copy.copy_object_result().expect("CopyObjectResult");
            assert_eq!(result.checksum_sha1(), Some(sha1.as_str()), "{src}");
            let head = checked(&dst).await;
            assert_eq!(head.checksum_sha1(), Some(sha1.as_str()));
            assert_eq!(head.checksum_crc64_nvme(), None);
        }
    })
    .await
}

/// An upload in progress with a checksum algorithm: its key and id, and the
/// ETags and checksums UploadPart answered for its parts.
struct Upload {
    key: String,
    upload_id: String,
    etags: Vec<String>,
    sums: Vec<String>,
}

impl Upload {
    /// Every part with the checksum the server answered for it.
    fn every_sum(&self) -> Vec<Option<String>> {
        self.sums.iter().cloned().map(Some).collect()
    }
}

/// Starts an upload of `key` with `alg` and checksum type `kind` (None: the
/// algorithm's default, which is answered: FULL_OBJECT for CRC64NVME,
/// COMPOSITE otherwise), uploads `parts` (the SDK computes each part's
/// checksum) and checks what ListParts reports.
async fn typed_upload(
    c: &Client,
    bucket: &str,
    key: &str,
    alg: &str,
    kind: Option<ChecksumType>,
    parts: &[Vec<u8>],
) -> Upload {
    let create = upload_request(c, bucket, key)
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
    for (n, part) in (1..).zip(parts) {
        let out = part_request(c, bucket, key, &upload_id, n, part)
            .checksum_algorithm(sdk_algorithm(alg))
            .send()
            .await
            .expect("UploadPart");
        let sum = checksum_field!(out, alg).expect("UploadPart answers the part's checksum");
        assert_eq!(sum, checksum_b64(alg, part));
        sums.push(sum.to_string());
        etags.push(out.e_tag().expect("ETag").to_string());
    }
    // ListParts reports the algorithm, the type and every part's checksum.
    let listed = list_parts(c, bucket, key, &upload_id).await;
    assert_eq!(listed.checksum_algorithm(), Some(&sdk_algorithm(alg)));
    assert_eq!(listed.checksum_type(), create.checksum_type());
    let parts = listed.parts().iter();
    let listed_sums: Vec<Option<&str>> = parts.map(|p| checksum_field!(p, alg)).collect();
    let want: Vec<Option<&str>> = sums.iter().map(|s| Some(s.as_str())).collect();
    assert_eq!(listed_sums, want, "ListParts checksums");
    let key = key.to_owned();
    Upload {
        key,
        upload_id,
        etags,
        sums,
    }
}

/// The parts of a Complete request: each ETag with the part checksum given
/// for it (None: left out).
fn checked_parts(alg: &str, etags: &[String], sums: &[Option<String>]) -> Vec<CompletedPart> {
    let parts = (1..).zip(etags.iter().zip(sums));
    let parts = parts.map(|(n, (etag, sum))| {
        let b = CompletedPart::builder().part_number(n).e_tag(etag);
        let b = match alg {
            "crc32" => b.set_checksum_crc32(sum.clone()),
            "crc32c" => b.set_checksum_crc32_c(sum.clone()),
            "crc64nvme" => b.set_checksum_crc64_nvme(sum.clone()),
            "sha1" => b.set_checksum_sha1(sum.clone()),
            "sha256" => b.set_checksum_sha256(sum.clone()),
            other => panic!("no part checksum field for {other}"),
        };
        b.build()
    });
    parts.collect()
}

/// Completes `upload` with every part checksum, then checks that Complete's
/// answer names the object checksum of `answer`, and reads back `body`.
async fn complete_and_read_back(
    c: &Client,
    bucket: &str,
    upload: &Upload,
    answer: &Answer<'_>,
    body: &[u8],
) {
    let (alg, key) = (answer.alg, upload.key.as_str());
    let parts = checked_parts(alg, &upload.etags, &upload.every_sum());
    let done = complete(c, bucket, key, &upload.upload_id, parts).await;
    assert_eq!(checksum_field!(done, alg), Some(answer.value), "{alg}");
    assert_eq!(done.checksum_type(), Some(&answer.kind));
    read_back(c, bucket, key, answer, body).await;
}

#[tokio::test]
async fn multipart_uploads_get_composite_checksums() {
    with_bucket("cks-mpu", async |c, bucket| {
        for alg in ["crc32", "crc32c", "sha1", "sha256"] {
            let key = format!("mp-{alg}");
            let parts = vec![
                random_bytes(MIN_PART_SIZE),
                random_bytes(MIN_PART_SIZE + 1),
                random_bytes(SMALL),
            ];
            let upload = typed_upload(c, bucket, &key, alg, None, &parts).await;
            let sums = &upload.sums;
            let expected = composite_checksum(alg, sums);
            let kind = ChecksumType::Composite;
            let answer = Answer {
                alg,
                value: &expected,
                kind,
            };
            complete_and_read_back(c, bucket, &upload, &answer, &parts.concat()).await;

            // One part: that part's own checksum (validated by the SDK).
            let part2 = get_with(c, bucket, &key, |r| {
                r.part_number(2).checksum_mode(ChecksumMode::Enabled)
            })
            .await;
            assert_eq!(checksum_field!(part2, alg), Some(sums[1].as_str()));
            assert!(collect_body(part2).await == parts[1]);

            let attrs = c
                .get_object_attributes()
                .bucket(bucket)
                .key(&key)
                .object_attributes(ObjectAttributes::Checksum)
                .object_attributes(ObjectAttributes::ObjectParts)
                .send()
                .await
                .expect("GetObjectAttributes");
            let sum = attrs.checksum().expect("Checksum");
            assert_eq!(checksum_field!(sum, alg), Some(expected.as_str()));
            assert_eq!(sum.checksum_type(), Some(&ChecksumType::Composite));
            let parts = attrs.object_parts().expect("ObjectParts").parts().iter();
            let listed: Vec<Option<&str>> = parts.map(|p| checksum_field!(p, alg)).collect();
            let want: Vec<Option<&str>> = sums.iter().map(|s| Some(s.as_str())).collect();
            assert_eq!(listed, want);
        }
    })
    .await
}

#[tokio::test]
async fn multipart_checksum_errors() {
    with_bucket("cks-mpu-err", async |c, bucket| {
        let parts = vec![random_bytes(MIN_PART_SIZE), random_bytes(SMALL)];
        let upload = typed_upload(c, bucket, "k", "crc32", None, &parts).await;
        let (upload_id, etags, sums) = (&upload.upload_id, &upload.etags, &upload.sums);
        let complete = |given: Vec<Option<String>>| {
            let parts = checked_parts("crc32", etags, &given);
            complete_request(c, bucket, "k", upload_id, parts).send()
        };
        let missing = complete(vec![Some(sums[0].clone()), None]).await;
        let err = expect_s3_error(missing, "InvalidRequest", 400);
        let body = error_body(&err);
        assert!(
            body.contains("missing for part 2"),
            "names the part: {body}"
        );
        let wrong = complete(vec![Some(sums[0].clone()), Some(sums[0].clone())]).await;
        expect_s3_error(wrong, "InvalidPart", 400);
        // A part with another algorithm, or none, is refused before storing.
        let other = part_request(c, bucket, "k", upload_id, 3, b"x");
        let other = other
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await;
        expect_s3_error(other, "InvalidRequest", 400);
        let legacy = client_when_required();
        let none = part_request(&legacy, bucket, "k", upload_id, 3, b"x")
            .send()
            .await;
        expect_s3_error(none, "InvalidRequest", 400);
        // The refusals left the upload completable.
        complete(upload.every_sum())
            .await
            .expect("Complete with every checksum");

        // Types an algorithm does not have: SHA digests do not combine, and
        // CRC64NVME is FULL_OBJECT only.
        for (key, algorithm, kind) in [
            (
                "full-sha",
                Some(ChecksumAlgorithm::Sha256),
                ChecksumType::FullObject,
            ),
            (
                "nvme",
                Some(ChecksumAlgorithm::Crc64Nvme),
                ChecksumType::Composite,
            ),
            ("typeonly", None, ChecksumType::Composite),
        ] {
            let create = upload_request(c, bucket, key).set_checksum_algorithm(algorithm);
            let create = create.checksum_type(kind).send().await;
            expect_s3_error(create, "InvalidRequest", 400);
        }
    })
    .await
}

#[tokio::test]
async fn upload_part_copy_computes_the_parts_checksum() {
    with_bucket("cks-partcopy", async |c, bucket| {
        let source = random_bytes(MIN_PART_SIZE + 100);
        put_bytes(c, bucket, "src", &source).await;
        let create = upload_request(c, bucket, "dst").checksum_algorithm(ChecksumAlgorithm::Sha256);
        let create = create.send().await.expect("Create");
        let upload_id = create.upload_id().expect("UploadId");
        let copied = &source[50..50 + MIN_PART_SIZE];
        let out = c
            .upload_part_copy()
            .bucket(bucket)
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
        let parts = checked_parts("sha256", &etags, &[Some(sum.clone())]);
        let done = complete(c, bucket, "dst", upload_id, parts).await;
        let composite = composite_checksum("sha256", &[sum]);
        assert_eq!(done.checksum_sha256(), Some(composite.as_str()));
    })
    .await
}

#[tokio::test]
async fn full_object_multipart_checksums_are_the_crc_of_all_the_bytes() {
    with_bucket("cks-full", async |c, bucket| {
        for (alg, kind) in [
            ("crc32", Some(ChecksumType::FullObject)),
            ("crc32c", Some(ChecksumType::FullObject)),
            ("crc64nvme", None),
        ] {
            let key = format!("full-{alg}");
            let parts = vec![random_bytes(MIN_PART_SIZE + 3), random_bytes(SMALL)];
            let whole = parts.concat();
            let expected = checksum_b64(alg, &whole);
            let upload = typed_upload(c, bucket, &key, alg, kind, &parts).await;
            let kind = ChecksumType::FullObject;
            let answer = Answer {
                alg,
                value: &expected,
                kind,
            };
            complete_and_read_back(c, bucket, &upload, &answer, &whole).await;
        }

        // Part checksums may be left out of a FULL_OBJECT Complete; an
        // object checksum sent with it must match.
        let parts = vec![random_bytes(MIN_PART_SIZE), random_bytes(SMALL)];
        let kind = Some(ChecksumType::FullObject);
        let upload = typed_upload(c, bucket, "checked", "crc32", kind, &parts).await;
        let unlisted = || checked_parts("crc32", &upload.etags, &[None, None]);
        let complete = |sum: String| {
            let request = complete_request(c, bucket, "checked", &upload.upload_id, unlisted());
            request.checksum_crc32(sum).send()
        };
        let wrong = complete(checksum_b64("crc32", b"other bytes")).await;
        expect_s3_error(wrong, "BadDigest", 400);
        let whole = checksum_b64("crc32", &parts.concat());
        let done = complete(whole.clone()).await;
        let done = done.expect("Complete with the right object checksum");
        assert_eq!(done.checksum_crc32(), Some(whole.as_str()));
    })
    .await
}

#[tokio::test]
async fn multipart_without_an_algorithm_gets_a_full_object_crc64nvme() {
    with_bucket("cks-mpu-default", async |_, bucket| {
        // With the SDK's default part checksums (CRC32) and with none at all.
        for (name, c) in [
            ("default", client()),
            ("when-required", client_when_required()),
        ] {
            let parts = vec![random_bytes(MIN_PART_SIZE + 5), random_bytes(SMALL)];
            upload_multipart(&c, bucket, name, &parts).await;
            let whole = parts.concat();
            let expected = checksum_b64("crc64nvme", &whole);
            let head =
                head_with(&c, bucket, name, |r| r.checksum_mode(ChecksumMode::Enabled)).await;
            let answered = head.checksum_crc64_nvme();
            assert_eq!(answered, Some(expected.as_str()), "{name}");
            assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
            assert_eq!(head.checksum_crc32(), None);
            // The SDK checks the CRC64NVME.
            let enabled = ChecksumMode::Enabled;
            let get = get_with(&client(), bucket, name, |r| r.checksum_mode(enabled)).await;
            assert!(collect_body(get).await == whole);
        }

        // An upload in progress without an algorithm lists no part checksums.
        let c = client();
        let create = upload_request(&c, bucket, "pending").send().await;
        let create = create.expect("Create");
        assert_eq!(create.checksum_algorithm(), None);
        let upload_id = create.upload_id().expect("UploadId");
        upload_part(&c, bucket, "pending", upload_id, 1, b"part").await;
        let listed = list_parts(&c, bucket, "pending", upload_id).await;
        assert_eq!(listed.checksum_algorithm(), None);
        assert_eq!(listed.parts().len(), 1);
        assert_eq!(listed.parts()[0].checksum_crc64_nvme(), None);
        abort(&c, bucket, "pending", upload_id).await;
    })
    .await
}
