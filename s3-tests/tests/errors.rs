//! Error behaviour across the API: the S3 XML error format, unimplemented
//! operations (a clean 501 NotImplemented, never a 500 or a dropped
//! connection), malformed input answered with 4xx, and S3's limits: keys
//! over 1024 bytes, a single PUT over 5 GiB, part numbers outside
//! 1..=10000, an upload without a length, a Content-MD5 that is no MD5.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, Transition,
    TransitionStorageClass,
};
use cairn_s3_tests::*;

/// S3's limit on key length, in bytes.
const MAX_KEY_LEN: usize = 1024;
/// S3's limit on a single PUT, in bytes.
const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
const LIFECYCLE_DAYS: i32 = 30;
/// A policy outside the supported subset (a condition on the user agent).
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*","Condition":{"StringEquals":{"aws:UserAgent":"curl"}}}]}"#;
/// How long a raw exchange waits for the server to answer and close.
const RAW_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Validity of the presigned PUTs the raw exchanges send.
const PRESIGN_VALIDITY: Duration = Duration::from_secs(300);

#[tokio::test]
async fn errors_are_s3_xml_documents() {
    with_bucket("errxml", async |_, bucket| {
        let response = raw_signed("GET", format!("/{bucket}/missing")).await;
        assert_eq!(response.status, 404);
        let content_type = response.header("content-type").unwrap_or_default();
        assert!(
            content_type.contains("xml"),
            "error Content-Type is XML, got {content_type:?}"
        );
        let body = response.text();
        let document = body.contains("<Error>");
        assert!(document, "error body is an <Error> document: {body}");
        assert_eq!(xml_tag_values(&body, "Code"), ["NoSuchKey"], "{body}");
        let message = xml_tag_values(&body, "Message");
        let has_message = message.first().is_some_and(|m| !m.is_empty());
        assert!(has_message, "has a Message: {body}");
    })
    .await
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    with_bucket("requestid", async |_, bucket| {
        let ok = raw_signed("GET", format!("/{bucket}?list-type=2")).await;
        assert_eq!(ok.status, 200);
        let err = raw_signed("GET", format!("/{bucket}/missing")).await;
        assert_eq!(err.status, 404);
        for (what, response) in [("success", &ok), ("error", &err)] {
            let id = response.header("x-amz-request-id");
            assert!(
                id.is_some_and(|id| !id.is_empty()),
                "{what} response lacks x-amz-request-id: {:?}",
                response.headers
            );
        }
        let body = err.text();
        let ids = xml_tag_values(&body, "RequestId");
        let has_id = ids.first().is_some_and(|id| !id.is_empty());
        assert!(has_id, "error body lacks <RequestId>: {body}");
    })
    .await
}

#[tokio::test]
async fn policies_outside_the_subset_are_not_implemented() {
    with_bucket("nopolicy", async |c, bucket| {
        let get = c.get_bucket_policy().bucket(bucket).send().await;
        expect_s3_error(get, "NoSuchBucketPolicy", 404);
        // Policies outside the subset cairn implements are refused, never
        // stored and silently half-applied.
        let put = c
            .put_bucket_policy()
            .bucket(bucket)
            .policy(POLICY.replace("BUCKET", bucket));
        expect_s3_error(put.send().await, "NotImplemented", 501);
        let get = c.get_bucket_policy().bucket(bucket).send().await;
        expect_s3_error(get, "NoSuchBucketPolicy", 404);
        // The connection and the server are still fine afterwards.
        head_bucket(c, bucket).await;
    })
    .await
}

#[tokio::test]
async fn lifecycle_transitions_are_not_implemented() {
    with_bucket("notransition", async |c, bucket| {
        let transition = Transition::builder()
            .days(LIFECYCLE_DAYS)
            .storage_class(TransitionStorageClass::Glacier)
            .build();
        let rule = LifecycleRule::builder()
            .id("to-glacier")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
            .transitions(transition)
            .build()
            .expect("lifecycle rule");
        let config = BucketLifecycleConfiguration::builder().rules(rule).build();
        let config = config.expect("lifecycle configuration");
        let put = c.put_bucket_lifecycle_configuration().bucket(bucket);
        let put = put.lifecycle_configuration(config).send().await;
        expect_s3_error(put, "NotImplemented", 501);

        let raw = raw_signed("GET", format!("/{bucket}?replication")).await;
        assert_raw_error(&raw, "NotImplemented", 501);
        put_bytes(c, bucket, "k", b"ok").await;
    })
    .await
}

#[tokio::test]
async fn malformed_delete_objects_body_is_malformed_xml() {
    with_bucket("malformed", async |_, bucket| {
        let body = b"<Delete><Object><Key>unterminated".to_vec();
        let request = RawRequest::new("POST", format!("/{bucket}?delete"))
            .header("content-md5", content_md5(&body))
            .body(body);
        let response = send_raw(request).await;
        assert_raw_error(&response, "MalformedXML", 400);
    })
    .await
}

#[tokio::test]
async fn malformed_complete_multipart_body_is_malformed_xml() {
    with_bucket("malformedmpu", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let path = format!("/{bucket}/k?uploadId={}", encode_key(&upload_id));
        let body = b"<CompleteMultipartUpload><Part><PartNumber>one".to_vec();
        let response = send_raw(RawRequest::new("POST", path).body(body)).await;
        assert_raw_error(&response, "MalformedXML", 400);
        abort(c, bucket, "k", &upload_id).await;
    })
    .await
}

#[tokio::test]
async fn over_long_key_is_key_too_long() {
    with_bucket("longkey", async |c, bucket| {
        let longest = "k".repeat(MAX_KEY_LEN);
        put_bytes(c, bucket, &longest, b"x").await;
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        let put = put_request(c, bucket, &too_long, b"x").send().await;
        expect_s3_error(put, "KeyTooLongError", 400);
    })
    .await
}

/// Sends `head` (a request line and headers, no blank line) and then `body`
/// over a raw connection, and reads the status and the answer's body. For
/// requests an HTTP client will not send: a Content-Length the body does not
/// have, or a chunked body where S3 wants a length.
async fn raw_exchange(head: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = target().endpoint.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect to the endpoint");
    let request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let head = stream.write_all(request.as_bytes()).await;
    head.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut answer = Vec::new();
    // The server answers (and may close) before reading a body it refuses.
    let _ = tokio::time::timeout(RAW_ANSWER_TIMEOUT, stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// The path and query of a presigned PUT (the signature covers neither the
/// length nor the body).
async fn presigned_put_path(c: &Client, bucket: &str, key: &str) -> String {
    let config = PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("presigning config");
    let request = c.put_object().bucket(bucket).key(key);
    let presigned = request.presigned(config).await.expect("presign PUT");
    let uri = presigned.uri().to_string();
    let after_scheme = uri.split_once("://").map_or(uri.as_str(), |(_, r)| r);
    after_scheme
        .find('/')
        .map_or("/".to_string(), |i| after_scheme[i..].to_string())
}

#[tokio::test]
async fn a_single_put_over_5_gib_is_entity_too_large() {
    with_bucket("toolarge", async |c, bucket| {
        let path = presigned_put_path(c, bucket, "huge").await;
        let over = MAX_PUT_SIZE + 1;
        let head = format!("PUT {path} HTTP/1.1\r\nContent-Length: {over}");
        let (status, text) = raw_exchange(&head, b"").await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("<Code>EntityTooLarge</Code>"), "{text}");
        assert_no_object(c, bucket, "huge").await;
    })
    .await
}

#[tokio::test]
async fn a_put_without_a_length_is_missing_content_length() {
    with_bucket("nolength", async |c, bucket| {
        let path = presigned_put_path(c, bucket, "chunked").await;
        let head = format!("PUT {path} HTTP/1.1\r\nTransfer-Encoding: chunked");
        let (status, text) = raw_exchange(&head, b"5\r\nhello\r\n0\r\n\r\n").await;
        assert_eq!(status, 411, "{text}");
        assert!(text.contains("<Code>MissingContentLength</Code>"), "{text}");
    })
    .await
}

#[tokio::test]
async fn part_numbers_outside_1_to_10000_are_refused() {
    with_bucket("partnum", async |c, bucket| {
        let id = start_upload(c, bucket, "k").await;
        for number in [0, 10_001] {
            let part = part_request(c, bucket, "k", &id, number, b"x").send().await;
            expect_s3_error(part, "InvalidArgument", 400);
        }
        // Part 10000 is allowed.
        upload_part(c, bucket, "k", &id, 10_000, b"x").await;
        abort(c, bucket, "k", &id).await;
    })
    .await
}

#[tokio::test]
async fn a_content_md5_that_is_not_an_md5_is_invalid_digest() {
    with_bucket("baddigest", async |c, bucket| {
        for bad in ["not base64 at all!", "c2hvcnQ="] {
            let put = put_request(c, bucket, "k", b"payload").content_md5(bad);
            expect_s3_error(put.send().await, "InvalidDigest", 400);
        }
        assert_no_object(c, bucket, "k").await;
    })
    .await
}

/// Encryption at rest and Object Lock are refused, never ignored: an object
/// asked to be encrypted is not stored in the clear, a customer key on a
/// read is answered as for an unencrypted object, and no bucket claims an
/// immutability it does not have.
#[tokio::test]
async fn encryption_and_object_lock_are_refused_not_ignored() {
    with_bucket("nosse", async |c, bucket| {
        let key_b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
        let key_md5 = "hRasmdxgYDKV3nvbahU1MA==";
        let sse_c = put_request(c, bucket, "ssec", b"secret")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(key_b64)
            .sse_customer_key_md5(key_md5);
        expect_s3_error(sse_c.send().await, "NotImplemented", 501);
        for sse in [
            aws_sdk_s3::types::ServerSideEncryption::Aes256,
            aws_sdk_s3::types::ServerSideEncryption::AwsKms,
        ] {
            let put = put_request(c, bucket, "sse", b"secret").server_side_encryption(sse);
            expect_s3_error(put.send().await, "NotImplemented", 501);
        }
        let mpu = upload_request(c, bucket, "ssempu")
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256);
        expect_s3_error(mpu.send().await, "NotImplemented", 501);
        assert!(list_keys(c, bucket).await.is_empty(), "nothing was stored");

        put_bytes(c, bucket, "plain", b"plain").await;
        let read = get_request(c, bucket, "plain")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(key_b64)
            .sse_customer_key_md5(key_md5);
        expect_s3_error(read.send().await, "InvalidRequest", 400);

        let lock = put_request(c, bucket, "locked", b"x")
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
            .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                4_102_444_800,
            ));
        expect_s3_error(lock.send().await, "InvalidRequest", 400);

        let locked_bucket = format!("{bucket}-lock");
        let create = c
            .create_bucket()
            .bucket(&locked_bucket)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await;
        expect_s3_error(create, "NotImplemented", 501);
        let head = c.head_bucket().bucket(&locked_bucket).send().await;
        assert!(head.is_err(), "no bucket was created");
    })
    .await
}
