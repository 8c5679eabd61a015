//! Conditional requests: `If-None-Match: *` and `If-Match` on PutObject,
//! CompleteMultipartUpload, CopyObject and DeleteObject are decided inside the
//! metadata state machine, so among concurrent racers exactly one wins;
//! conditional GETs answer 304 and 412.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use cairn_s3_tests::*;

/// Clients racing for one key in each round, and rounds.
const RACERS: usize = 32;
const ROUNDS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_star_races_have_exactly_one_winner() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "race").await;
        for round in 0..ROUNDS {
            let key = format!("contested-{round}");
            let mut racers = Vec::with_capacity(RACERS);
            for racer in 0..RACERS {
                let (c, bucket, key) = (c.clone(), bucket.clone(), key.clone());
                racers.push(tokio::spawn(async move {
                    let body = format!("racer {racer}").into_bytes();
                    let r = c
                        .put_object()
                        .bucket(&bucket)
                        .key(&key)
                        .if_none_match("*")
                        .body(ByteStream::from(body))
                        .send()
                        .await;
                    (
                        racer,
                        r.map(|_| ())
                            .map_err(|e| (error_code(&e), error_status(&e))),
                    )
                }));
            }
            let mut winners = Vec::new();
            for r in racers {
                let (racer, outcome) = r.await.expect("racer task");
                match outcome {
                    Ok(()) => winners.push(racer),
                    Err((code, status)) => {
                        assert_eq!(
                            (code.as_deref(), status),
                            (Some("PreconditionFailed"), Some(412)),
                            "round {round}"
                        )
                    }
                }
            }
            assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
            let stored = collect_body(
                c.get_object()
                    .bucket(&bucket)
                    .key(&key)
                    .send()
                    .await
                    .expect("get"),
            )
            .await;
            assert_eq!(
                stored,
                format!("racer {}", winners[0]).into_bytes(),
                "round {round}: the winner's body is stored"
            );
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await;
}

#[tokio::test]
async fn if_match_on_put_and_delete() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "ifmatch").await;
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"one"))
            .send()
            .await
            .expect("put");
        let etag = put.e_tag().expect("etag").to_string();
        let wrong = "\"00000000000000000000000000000000\"";
        expect_s3_error(
            c.put_object()
                .bucket(&bucket)
                .key("k")
                .if_match(wrong)
                .body(ByteStream::from_static(b"two"))
                .send()
                .await,
            "PreconditionFailed",
            412,
        );
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .if_match(&etag)
            .body(ByteStream::from_static(b"two"))
            .send()
            .await
            .expect("matching If-Match");
        expect_s3_error(
            c.put_object()
                .bucket(&bucket)
                .key("absent")
                .if_match(&etag)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        expect_s3_error(
            c.delete_object()
                .bucket(&bucket)
                .key("k")
                .if_match(wrong)
                .send()
                .await,
            "PreconditionFailed",
            412,
        );
        let body = collect_body(
            c.get_object()
                .bucket(&bucket)
                .key("k")
                .send()
                .await
                .expect("still there"),
        )
        .await;
        assert_eq!(body, b"two");
        let current = c
            .head_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("head")
            .e_tag()
            .expect("etag")
            .to_string();
        c.delete_object()
            .bucket(&bucket)
            .key("k")
            .if_match(&current)
            .send()
            .await
            .expect("matching delete");
        expect_s3_error(
            c.head_object().bucket(&bucket).key("k").send().await,
            "NotFound",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await;
}

#[tokio::test]
async fn conditional_complete_and_copy() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "condmpu").await;
        c.put_object()
            .bucket(&bucket)
            .key("taken")
            .body(ByteStream::from_static(b"first"))
            .send()
            .await
            .expect("put");
        let upload = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("taken")
            .send()
            .await
            .expect("create");
        let id = upload.upload_id().expect("id").to_string();
        let part = c
            .upload_part()
            .bucket(&bucket)
            .key("taken")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from_static(b"second"))
            .send()
            .await
            .expect("part");
        let parts = CompletedMultipartUpload::builder()
            .parts(
                CompletedPart::builder()
                    .part_number(1)
                    .e_tag(part.e_tag().expect("etag"))
                    .build(),
            )
            .build();
        expect_s3_error(
            c.complete_multipart_upload()
                .bucket(&bucket)
                .key("taken")
                .upload_id(&id)
                .if_none_match("*")
                .multipart_upload(parts)
                .send()
                .await,
            "PreconditionFailed",
            412,
        );
        let body = collect_body(
            c.get_object()
                .bucket(&bucket)
                .key("taken")
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!(
            body, b"first",
            "a failed conditional complete changes nothing"
        );

        // CopyObject with If-None-Match: * onto an existing key.
        let copy = c
            .copy_object()
            .bucket(&bucket)
            .key("taken")
            .copy_source(format!("{bucket}/taken"))
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert("if-none-match", "*");
            })
            .send()
            .await;
        expect_s3_error(copy, "PreconditionFailed", 412);
        c.copy_object()
            .bucket(&bucket)
            .key("fresh")
            .copy_source(format!("{bucket}/taken"))
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert("if-none-match", "*");
            })
            .send()
            .await
            .expect("copy to a new key with If-None-Match: *");
        cleanup_bucket(&c, &bucket).await;
    })
    .await;
}

#[tokio::test]
async fn conditional_get_answers_304_and_412() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "condget").await;
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"data"))
            .send()
            .await
            .expect("put");
        let etag = put.e_tag().expect("etag").to_string();
        let not_modified = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .if_none_match(&etag)
            .send()
            .await;
        let err = not_modified.expect_err("If-None-Match with the current ETag");
        assert_eq!(error_status(&err), Some(304));
        expect_s3_error(
            c.get_object()
                .bucket(&bucket)
                .key("k")
                .if_match("\"0123\"")
                .send()
                .await,
            "PreconditionFailed",
            412,
        );
        let body = collect_body(
            c.get_object()
                .bucket(&bucket)
                .key("k")
                .if_match(&etag)
                .send()
                .await
                .expect("matching If-Match"),
        )
        .await;
        assert_eq!(body, b"data");
        cleanup_bucket(&c, &bucket).await;
    })
    .await;
}
