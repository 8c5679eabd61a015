//! Multipart uploads: Create / UploadPart / Complete (with the exact S3
//! multipart ETag), ListParts, ListMultipartUploads, Abort, and the errors of
//! CompleteMultipartUpload.

use aws_sdk_s3::operation::list_parts::ListPartsOutput;
use aws_sdk_s3::types::CompletedPart;
use cairn_s3_tests::*;

/// The smallest size S3 accepts for a part that is not the last one.
const MIN_PART_SIZE: usize = 5 * MIB;
/// An odd-sized last part.
const LAST_PART_SIZE: usize = MIB + 123;
/// A part that is too small to be anything but the last one.
const TINY_PART_SIZE: usize = MIB;

/// UploadPart that also checks the part's ETag is the quoted MD5 of its data.
async fn upload_checked(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    number: i32,
    data: &[u8],
) -> CompletedPart {
    let part = upload_part(c, bucket, key, upload_id, number, data).await;
    let etag = part.e_tag().expect("UploadPart returns an ETag");
    assert_eq!(
        etag,
        etag_of(data),
        "part {number} ETag is the quoted MD5 of the part"
    );
    part
}

/// [`upload_checked`] of every part, numbered from 1.
async fn upload_all_checked(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[Vec<u8>],
) -> Vec<CompletedPart> {
    let mut completed = Vec::new();
    for (n, part) in (1..).zip(parts) {
        completed.push(upload_checked(c, bucket, key, upload_id, n, part).await);
    }
    completed
}

/// ListParts as (number, size, ETag) rows.
fn part_rows(out: &ListPartsOutput) -> Vec<(Option<i32>, Option<i64>, Option<String>)> {
    let parts = out.parts().iter();
    let rows = parts.map(|p| (p.part_number(), p.size(), p.e_tag().map(str::to_owned)));
    rows.collect()
}

/// The (number, size, ETag) row ListParts should show for `data` as part `number`.
fn row_of(number: i32, data: &[u8]) -> (Option<i32>, Option<i64>, Option<String>) {
    (Some(number), Some(data.len() as i64), Some(etag_of(data)))
}

fn part_numbers(out: &ListPartsOutput) -> Vec<i32> {
    out.parts().iter().filter_map(|p| p.part_number()).collect()
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
    with_bucket("mpu", async |c, bucket| {
        let key = "big/object.bin";
        let out = upload_request(c, bucket, key)
            .content_type("application/x-parts")
            .metadata("origin", "multipart")
            .send()
            .await
            .expect("CreateMultipartUpload");
        let upload_id = out.upload_id().expect("UploadId").to_owned();
        let parts = three_parts();
        let completed = upload_all_checked(c, bucket, key, &upload_id, &parts).await;
        let done = complete(c, bucket, key, &upload_id, completed).await;
        let expected_etag = multipart_etag(&parts);
        assert_eq!(done.e_tag(), Some(expected_etag.as_str()), "Complete ETag");
        assert_eq!(done.key(), Some(key));
        assert_eq!(done.bucket(), Some(bucket));

        let whole = parts.concat();
        let head = head_object(c, bucket, key).await;
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
        assert_eq!(meta(head.metadata(), "origin"), Some("multipart"));
        let back = get_bytes(c, bucket, key).await;
        assert!(
            back == whole,
            "body differs: md5 {} vs {}",
            md5_hex(&back),
            md5_hex(&whole)
        );

        let listed = list_v2(c, bucket).await;
        let [entry] = listed.contents() else {
            panic!("one object expected: {:?}", listed.contents())
        };
        assert_eq!(entry.size(), Some(whole.len() as i64));
        assert_eq!(entry.e_tag(), Some(expected_etag.as_str()));
        let uploads = c.list_multipart_uploads().bucket(bucket).send().await;
        let uploads = uploads.expect("ListMultipartUploads");
        assert!(
            uploads.uploads().is_empty(),
            "completed upload still listed: {:?}",
            uploads.uploads()
        );
    })
    .await
}

#[tokio::test]
async fn single_part_upload_and_overwrite_of_existing_object() {
    with_bucket("mpu-one", async |c, bucket| {
        put_bytes(c, bucket, "k", b"old").await;
        let upload_id = start_upload(c, bucket, "k").await;
        let data = random_bytes(TINY_PART_SIZE);
        let part = upload_checked(c, bucket, "k", &upload_id, 1, &data).await;
        // One small part is fine: it is the last.
        let done = complete(c, bucket, "k", &upload_id, vec![part]).await;
        assert_eq!(
            done.e_tag(),
            Some(multipart_etag(&[&data]).as_str()),
            "one-part ETag ends in -1"
        );
        assert_eq!(
            get_bytes(c, bucket, "k").await,
            data,
            "the upload replaced the old object"
        );
    })
    .await
}

#[tokio::test]
async fn list_parts_reports_uploaded_parts_and_pages() {
    with_bucket("listparts", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let parts = [
            random_bytes(MIN_PART_SIZE),
            random_bytes(KIB),
            random_bytes(2 * KIB),
        ];
        upload_all_checked(c, bucket, "k", &upload_id, &parts).await;
        let out = list_parts(c, bucket, "k", &upload_id).await;
        assert_eq!(out.upload_id(), Some(upload_id.as_str()));
        assert_eq!(out.is_truncated(), Some(false));
        let expected: Vec<_> = (1..).zip(&parts).map(|(n, p)| row_of(n, p)).collect();
        assert_eq!(part_rows(&out), expected, "ListParts (number, size, ETag)");

        let first = list_parts_with(c, bucket, "k", &upload_id, |r| r.max_parts(2)).await;
        assert_eq!(part_numbers(&first), [1, 2]);
        assert_eq!(first.is_truncated(), Some(true));
        assert_eq!(first.next_part_number_marker(), Some("2"));
        let rest = list_parts_with(c, bucket, "k", &upload_id, |r| r.part_number_marker("2")).await;
        assert_eq!(part_numbers(&rest), [3]);
        assert_eq!(rest.is_truncated(), Some(false));

        abort(c, bucket, "k", &upload_id).await;
    })
    .await
}

#[tokio::test]
async fn aborted_upload_is_no_such_upload() {
    with_bucket("abort", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let part = upload_checked(c, bucket, "k", &upload_id, 1, &random_bytes(KIB)).await;
        abort(c, bucket, "k", &upload_id).await;

        let again = part_request(c, bucket, "k", &upload_id, 2, b"late");
        expect_s3_error(again.send().await, "NoSuchUpload", 404);
        let parts = list_parts_request(c, bucket, "k", &upload_id);
        expect_s3_error(parts.send().await, "NoSuchUpload", 404);
        let complete = complete_request(c, bucket, "k", &upload_id, vec![part]);
        expect_s3_error(complete.send().await, "NoSuchUpload", 404);
        let get = get_request(c, bucket, "k").send().await;
        expect_s3_error(get, "NoSuchKey", 404);
    })
    .await
}

#[tokio::test]
async fn complete_with_unknown_upload_id_is_no_such_upload() {
    with_bucket("unknownid", async |c, bucket| {
        let part = part(1, Some(&etag_of(b"x")));
        let unknown = "this-upload-id-does-not-exist";
        let result = complete_request(c, bucket, "k", unknown, vec![part]);
        expect_s3_error(result.send().await, "NoSuchUpload", 404);
        let abort = c.abort_multipart_upload().bucket(bucket).key("k");
        expect_s3_error(abort.upload_id("nope").send().await, "NoSuchUpload", 404);
    })
    .await
}

#[tokio::test]
async fn wrong_or_missing_part_is_invalid_part() {
    with_bucket("invalidpart", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let data = random_bytes(MIN_PART_SIZE);
        let good = upload_checked(c, bucket, "k", &upload_id, 1, &data).await;
        let last = upload_checked(c, bucket, "k", &upload_id, 2, b"tail").await;

        let wrong_etag = part(1, Some(&etag_of(b"not the part")));
        let never_uploaded = part(3, Some(&etag_of(b"ghost")));
        for parts in [
            vec![wrong_etag, last.clone()],
            vec![good.clone(), last.clone(), never_uploaded],
        ] {
            let result = complete_request(c, bucket, "k", &upload_id, parts);
            expect_s3_error(result.send().await, "InvalidPart", 400);
        }

        // The failed attempts leave the upload usable.
        complete(c, bucket, "k", &upload_id, vec![good, last]).await;
        let mut whole = data;
        whole.extend_from_slice(b"tail");
        assert_eq!(get_bytes(c, bucket, "k").await, whole);
    })
    .await
}

/// Uploads parts of these sizes to `k`, completes them (in reverse order if
/// asked) expecting the S3 error `code`, and answers the upload id.
async fn complete_refused(
    c: &Client,
    bucket: &str,
    sizes: [usize; 2],
    reversed: bool,
    code: &str,
) -> String {
    let upload_id = start_upload(c, bucket, "k").await;
    let parts: Vec<Vec<u8>> = sizes.into_iter().map(random_bytes).collect();
    let mut completed = upload_all_checked(c, bucket, "k", &upload_id, &parts).await;
    if reversed {
        completed.reverse();
    }
    let result = complete_request(c, bucket, "k", &upload_id, completed);
    expect_s3_error(result.send().await, code, 400);
    upload_id
}

#[tokio::test]
async fn parts_out_of_order_is_invalid_part_order() {
    with_bucket("order", async |c, bucket| {
        let sizes = [MIN_PART_SIZE, KIB];
        let upload_id = complete_refused(c, bucket, sizes, true, "InvalidPartOrder").await;
        abort(c, bucket, "k", &upload_id).await;
    })
    .await
}

#[tokio::test]
async fn small_non_last_part_is_entity_too_small() {
    with_bucket("toosmall", async |c, bucket| {
        // UploadPart itself accepts any size; only Complete knows which part is last.
        let sizes = [TINY_PART_SIZE; 2];
        let upload_id = complete_refused(c, bucket, sizes, false, "EntityTooSmall").await;
        assert_no_object(c, bucket, "k").await;
        abort(c, bucket, "k", &upload_id).await;
    })
    .await
}

#[tokio::test]
async fn reuploading_a_part_number_replaces_it() {
    with_bucket("reupload", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let first = random_bytes(MIN_PART_SIZE);
        let stale = upload_checked(c, bucket, "k", &upload_id, 1, &first).await;
        let replacement = random_bytes(MIN_PART_SIZE + KIB);
        let fresh = upload_checked(c, bucket, "k", &upload_id, 1, &replacement).await;
        let tail = random_bytes(KIB);
        let last = upload_checked(c, bucket, "k", &upload_id, 2, &tail).await;

        let out = list_parts(c, bucket, "k", &upload_id).await;
        assert_eq!(
            part_rows(&out),
            [row_of(1, &replacement), row_of(2, &tail)],
            "part 1 was replaced"
        );

        let result = complete_request(
            c,
            bucket,
            "k",
            &upload_id,
            vec![stale.clone(), last.clone()],
        );
        expect_s3_error(result.send().await, "InvalidPart", 400);

        // Part 1 listed twice, the older answer first (a client that listed
        // both uploads of the part): the last entry stands for it.
        let done = complete(
            c,
            bucket,
            "k",
            &upload_id,
            vec![stale, fresh.clone(), last.clone()],
        )
        .await;
        assert_eq!(
            done.e_tag(),
            Some(multipart_etag(&[&replacement, &tail]).as_str())
        );
        let mut whole = replacement;
        whole.extend_from_slice(&tail);
        assert!(
            get_bytes(c, bucket, "k").await == whole,
            "body is the replacement part plus the tail"
        );
    })
    .await
}

#[tokio::test]
async fn multipart_with_checksums_when_required_client() {
    with_client_bucket(client_when_required(), "mpu-legacy", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let parts = [random_bytes(MIN_PART_SIZE), random_bytes(LAST_PART_SIZE)];
        let completed = upload_all_checked(c, bucket, "k", &upload_id, &parts).await;
        let done = complete(c, bucket, "k", &upload_id, completed).await;
        assert_eq!(done.e_tag(), Some(multipart_etag(&parts).as_str()));
        assert!(
            get_bytes(c, bucket, "k").await == parts.concat(),
            "body round-trips"
        );
    })
    .await
}

/// A client whose CompleteMultipartUpload answer was lost sends it again:
/// the upload is gone, yet the second request answers 200 with the first
/// result (ETag, key), not NoSuchUpload; the object is written once.
#[tokio::test]
async fn completing_a_completed_upload_again_answers_the_first_result() {
    with_bucket("completeagain", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let parts = [random_bytes(MIN_PART_SIZE), random_bytes(KIB)];
        let completed = upload_all_checked(c, bucket, "k", &upload_id, &parts).await;
        let first = complete(c, bucket, "k", &upload_id, completed.clone()).await;
        let again = complete(c, bucket, "k", &upload_id, completed.clone()).await;
        assert_eq!(again.e_tag(), first.e_tag());
        assert_eq!(again.e_tag(), Some(multipart_etag(&parts).as_str()));
        assert_eq!(again.key(), Some("k"));
        let mut whole = parts[0].clone();
        whole.extend_from_slice(&parts[1]);
        assert!(get_bytes(c, bucket, "k").await == whole);
        assert_eq!(list_keys(c, bucket).await, ["k"]);
        // The upload itself is gone: its parts cannot be listed or added to.
        let listed = list_parts_request(c, bucket, "k", &upload_id);
        expect_s3_error(listed.send().await, "NoSuchUpload", 404);
        // The same upload id under another key is no upload of that key.
        let elsewhere = complete_request(c, bucket, "other", &upload_id, completed);
        expect_s3_error(elsewhere.send().await, "NoSuchUpload", 404);
    })
    .await
}
