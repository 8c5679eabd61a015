//! Error behaviour across the API: the S3 XML error format, unimplemented
//! operations (a clean 501 NotImplemented, never a 500 or a dropped
//! connection), malformed input answered with 4xx, and S3's limits: keys
//! over 1024 bytes, a single PUT over 5 GiB, part numbers outside
//! 1..=10000, an upload without a length, a Content-MD5 that is no MD5.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, Transition,
    TransitionStorageClass,
};
use base64::Engine as _;
use cairn_s3_tests::*;

/// S3's limit on key length, in bytes.
const MAX_KEY_LEN: usize = 1024;
const LIFECYCLE_DAYS: i32 = 30;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

#[tokio::test]
async fn errors_are_s3_xml_documents() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "errxml").await;
        let response = target()
            .send_signed(RawRequest::new("GET", format!("/{bucket}/missing")))
            .await
            .expect("raw GET");
        assert_eq!(response.status, 404);
        let content_type = response.header("content-type").unwrap_or_default();
        assert!(
            content_type.contains("xml"),
            "error Content-Type is XML, got {content_type:?}"
        );
        let body = response.text();
        assert!(
            body.contains("<Error>"),
            "error body is an <Error> document: {body}"
        );
        assert_eq!(xml_tag_values(&body, "Code"), ["NoSuchKey"], "{body}");
        assert!(
            xml_tag_values(&body, "Message")
                .first()
                .is_some_and(|m| !m.is_empty()),
            "has a Message: {body}"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "requestid").await;
        let t = target();
        let ok = t
            .send_signed(RawRequest::new("GET", format!("/{bucket}?list-type=2")))
            .await
            .expect("raw list");
        assert_eq!(ok.status, 200);
        let err = t
            .send_signed(RawRequest::new("GET", format!("/{bucket}/missing")))
            .await
            .expect("raw GET");
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
        assert!(
            xml_tag_values(&body, "RequestId")
                .first()
                .is_some_and(|id| !id.is_empty()),
            "error body lacks <RequestId>: {body}"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn unimplemented_bucket_policy_is_not_implemented() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "nopolicy").await;
        expect_s3_error(
            c.get_bucket_policy().bucket(&bucket).send().await,
            "NotImplemented",
            501,
        );
        expect_s3_error(
            c.put_bucket_policy()
                .bucket(&bucket)
                .policy(POLICY)
                .send()
                .await,
            "NotImplemented",
            501,
        );
        // The connection and the server are still fine afterwards.
        c.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("HeadBucket after a 501");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn lifecycle_transitions_are_not_implemented() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "notransition").await;
        let rule = LifecycleRule::builder()
            .id("to-glacier")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
            .transitions(
                Transition::builder()
                    .days(LIFECYCLE_DAYS)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .build()
            .expect("lifecycle rule");
        let config = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()
            .expect("lifecycle configuration");
        let put = c
            .put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(config)
            .send()
            .await;
        expect_s3_error(put, "NotImplemented", 501);

        let raw = target()
            .send_signed(RawRequest::new("GET", format!("/{bucket}?replication")))
            .await
            .expect("raw");
        assert_eq!(raw.status, 501, "GET ?replication: {}", raw.text());
        assert_eq!(raw.error_code().as_deref(), Some("NotImplemented"));
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"ok"))
            .send()
            .await
            .expect("Put after 501");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn malformed_delete_objects_body_is_malformed_xml() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "malformed").await;
        let body = b"<Delete><Object><Key>unterminated".to_vec();
        let md5 = base64::engine::general_purpose::STANDARD
            .encode(hex::decode(md5_hex(&body)).expect("hex"));
        let request = RawRequest::new("POST", format!("/{bucket}?delete"))
            .header("content-md5", md5)
            .body(body);
        let response = target()
            .send_signed(request)
            .await
            .expect("raw POST ?delete");
        assert_eq!(
            response.status,
            400,
            "malformed DeleteObjects: {}",
            response.text()
        );
        assert_eq!(
            response.error_code().as_deref(),
            Some("MalformedXML"),
            "{}",
            response.text()
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn malformed_complete_multipart_body_is_malformed_xml() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "malformedmpu").await;
        let up = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("Create");
        let upload_id = up.upload_id().expect("UploadId");
        let request = RawRequest::new(
            "POST",
            format!("/{bucket}/k?uploadId={}", encode_key(upload_id)),
        )
        .body(b"<CompleteMultipartUpload><Part><PartNumber>one".to_vec());
        let response = target()
            .send_signed(request)
            .await
            .expect("raw POST ?uploadId");
        assert_eq!(
            response.status,
            400,
            "malformed CompleteMultipartUpload: {}",
            response.text()
        );
        assert_eq!(
            response.error_code().as_deref(),
            Some("MalformedXML"),
            "{}",
            response.text()
        );
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(upload_id)
            .send()
            .await
            .expect("Abort");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn over_long_key_is_key_too_long() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "longkey").await;
        let longest = "k".repeat(MAX_KEY_LEN);
        c.put_object()
            .bucket(&bucket)
            .key(&longest)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("1024-byte key");
        let too_long = "k".repeat(MAX_KEY_LEN + 1);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(&too_long)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await;
        expect_s3_error(put, "KeyTooLongError", 400);
        cleanup_bucket(&c, &bucket).await;
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
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut answer = Vec::new();
    // The server answers (and may close) before reading a body it refuses.
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
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
    let config =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(300))
            .expect("presigning config");
    let presigned = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .presigned(config)
        .await
        .expect("presign PUT");
    let uri = presigned.uri().to_string();
    let after_scheme = uri.split_once("://").map_or(uri.as_str(), |(_, r)| r);
    after_scheme
        .find('/')
        .map_or("/".to_string(), |i| after_scheme[i..].to_string())
}

#[tokio::test]
async fn a_single_put_over_5_gib_is_entity_too_large() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "toolarge").await;
        let path = presigned_put_path(&c, &bucket, "huge").await;
        let over = 5u64 * 1024 * 1024 * 1024 + 1;
        let (status, text) = raw_exchange(
            &format!("PUT {path} HTTP/1.1\r\nContent-Length: {over}"),
            b"",
        )
        .await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("<Code>EntityTooLarge</Code>"), "{text}");
        let head = c.head_object().bucket(&bucket).key("huge").send().await;
        expect_s3_error(head, "NotFound", 404);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn a_put_without_a_length_is_missing_content_length() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "nolength").await;
        let path = presigned_put_path(&c, &bucket, "chunked").await;
        let (status, text) = raw_exchange(
            &format!("PUT {path} HTTP/1.1\r\nTransfer-Encoding: chunked"),
            b"5\r\nhello\r\n0\r\n\r\n",
        )
        .await;
        assert_eq!(status, 411, "{text}");
        assert!(text.contains("<Code>MissingContentLength</Code>"), "{text}");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn part_numbers_outside_1_to_10000_are_refused() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "partnum").await;
        let upload = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("CreateMultipartUpload");
        let id = upload.upload_id().expect("upload id");
        for number in [0, 10_001] {
            let part = c
                .upload_part()
                .bucket(&bucket)
                .key("k")
                .upload_id(id)
                .part_number(number)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await;
            expect_s3_error(part, "InvalidArgument", 400);
        }
        c.upload_part()
            .bucket(&bucket)
            .key("k")
            .upload_id(id)
            .part_number(10_000)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("part 10000 is allowed");
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("k")
            .upload_id(id)
            .send()
            .await
            .expect("Abort");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn a_content_md5_that_is_not_an_md5_is_invalid_digest() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "baddigest").await;
        for bad in ["not base64 at all!", "c2hvcnQ="] {
            let put = c
                .put_object()
                .bucket(&bucket)
                .key("k")
                .content_md5(bad)
                .body(ByteStream::from_static(b"payload"))
                .send()
                .await;
            expect_s3_error(put, "InvalidDigest", 400);
        }
        let head = c.head_object().bucket(&bucket).key("k").send().await;
        expect_s3_error(head, "NotFound", 404);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
