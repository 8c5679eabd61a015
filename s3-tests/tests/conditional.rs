//! Conditional requests: `If-None-Match: *` and `If-Match` on PutObject,
//! CompleteMultipartUpload, CopyObject and DeleteObject are decided inside the
//! metadata state machine, so among concurrent racers exactly one wins;
//! conditional GETs answer 304 and 412.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder;
use aws_sdk_s3::operation::copy_object::{CopyObjectError, CopyObjectOutput};
use aws_sdk_s3::types::MetadataDirective;
use cairn_s3_tests::*;

/// Clients racing for one key in each round, and rounds.
const RACERS: usize = 32;
const ROUNDS: usize = 100;
/// An ETag no object has.
const WRONG_ETAG: &str = "\"00000000000000000000000000000000\"";

/// Sends a CopyObject with `If-None-Match: *` added (the SDK has no setter for it).
async fn send_if_absent(
    request: CopyObjectFluentBuilder,
) -> Result<CopyObjectOutput, SdkError<CopyObjectError, HttpResponse>> {
    let request = request.customize().mutate_request(|r| {
        r.headers_mut().insert("if-none-match", "*");
    });
    request.send().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_star_races_have_exactly_one_winner() {
    with_bucket("race", async |c, bucket| {
        for round in 0..ROUNDS {
            let key = format!("contested-{round}");
            let mut racers = Vec::with_capacity(RACERS);
            for racer in 0..RACERS {
                let (c, bucket, key) = (c.clone(), bucket.to_owned(), key.clone());
                racers.push(tokio::spawn(async move {
                    let body = format!("racer {racer}").into_bytes();
                    let put = put_request(&c, &bucket, &key, &body).if_none_match("*");
                    let r = put.send().await;
                    let outcome = r
                        .map(|_| ())
                        .map_err(|e| (error_code(&e), error_status(&e)));
                    (racer, outcome)
                }));
            }
            let mut winners = Vec::new();
            for r in racers {
                let (racer, outcome) = r.await.expect("racer task");
                match outcome {
                    Ok(()) => winners.push(racer),
                    Err((code, status)) => {
                        let refused = (code.as_deref(), status);
                        let expected = (Some("PreconditionFailed"), Some(412));
                        assert_eq!(refused, expected, "round {round}")
                    }
                }
            }
            assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
            let stored = get_bytes(c, bucket, &key).await;
            let winner = format!("racer {}", winners[0]).into_bytes();
            assert_eq!(stored, winner, "round {round}: the winner's body is stored");
        }
    })
    .await;
}

#[tokio::test]
async fn if_match_on_put_and_delete() {
    with_bucket("ifmatch", async |c, bucket| {
        let put = put_bytes(c, bucket, "k", b"one").await;
        let etag = put.e_tag().expect("etag").to_string();
        let wrong = put_request(c, bucket, "k", b"two").if_match(WRONG_ETAG);
        expect_s3_error(wrong.send().await, "PreconditionFailed", 412);
        let matching = put_request(c, bucket, "k", b"two").if_match(&etag);
        matching.send().await.expect("matching If-Match");
        let absent = put_request(c, bucket, "absent", b"x").if_match(&etag);
        expect_s3_error(absent.send().await, "NoSuchKey", 404);
        let delete = c.delete_object().bucket(bucket).key("k");
        let delete = delete.if_match(WRONG_ETAG).send().await;
        expect_s3_error(delete, "PreconditionFailed", 412);
        assert_eq!(get_bytes(c, bucket, "k").await, b"two", "still there");
        let head = head_object(c, bucket, "k").await;
        let current = head.e_tag().expect("etag").to_string();
        let delete = c.delete_object().bucket(bucket).key("k").if_match(&current);
        delete.send().await.expect("matching delete");
        assert_no_object(c, bucket, "k").await;
    })
    .await;
}

#[tokio::test]
async fn conditional_complete_and_copy() {
    with_bucket("condmpu", async |c, bucket| {
        put_bytes(c, bucket, "taken", b"first").await;
        let upload_id = start_upload(c, bucket, "taken").await;
        let part = upload_part(c, bucket, "taken", &upload_id, 1, b"second").await;
        let complete = complete_request(c, bucket, "taken", &upload_id, vec![part]);
        let complete = complete.if_none_match("*").send().await;
        expect_s3_error(complete, "PreconditionFailed", 412);
        let body = get_bytes(c, bucket, "taken").await;
        assert_eq!(
            body, b"first",
            "a failed conditional complete changes nothing"
        );

        // CopyObject with If-None-Match: * onto an existing key.
        let source = format!("{bucket}/taken");
        let onto = copy_request(c, bucket, "taken", &source);
        let onto = send_if_absent(onto.metadata_directive(MetadataDirective::Replace)).await;
        expect_s3_error(onto, "PreconditionFailed", 412);
        let fresh = send_if_absent(copy_request(c, bucket, "fresh", &source)).await;
        fresh.expect("copy to a new key with If-None-Match: *");
    })
    .await;
}

#[tokio::test]
async fn conditional_get_answers_304_and_412() {
    with_bucket("condget", async |c, bucket| {
        let put = put_bytes(c, bucket, "k", b"data").await;
        let etag = put.e_tag().expect("etag").to_string();
        let not_modified = get_request(c, bucket, "k")
            .if_none_match(&etag)
            .send()
            .await;
        let err = not_modified.expect_err("If-None-Match with the current ETag");
        assert_eq!(error_status(&err), Some(304));
        let failed = get_request(c, bucket, "k")
            .if_match("\"0123\"")
            .send()
            .await;
        expect_s3_error(failed, "PreconditionFailed", 412);
        let got = get_with(c, bucket, "k", |r| r.if_match(&etag)).await;
        assert_eq!(collect_body(got).await, b"data");
    })
    .await;
}
