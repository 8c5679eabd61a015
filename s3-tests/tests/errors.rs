//! Error behaviour across the API: the S3 XML error format, unimplemented
//! operations (a clean 501 NotImplemented, never a 500 or a dropped
//! connection), and malformed input answered with 4xx.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
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
async fn unimplemented_lifecycle_is_not_implemented() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "nolifecycle").await;
        let rule = LifecycleRule::builder()
            .id("expire-tmp")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
            .expiration(LifecycleExpiration::builder().days(LIFECYCLE_DAYS).build())
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
            .send_signed(RawRequest::new("GET", format!("/{bucket}?lifecycle")))
            .await
            .expect("raw");
        assert_eq!(raw.status, 501, "GET ?lifecycle: {}", raw.text());
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
