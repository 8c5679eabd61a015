//! Authentication: credential errors, unsigned requests, clock skew and
//! payload hash checks (presigned URLs are in `presigned.rs`).

use std::time::{Duration, SystemTime};

use cairn_s3_tests::*;

/// Further from the server's clock than the 15 minutes SigV4 tolerates.
const SKEW: Duration = Duration::from_secs(30 * 60);
/// An access key the server has never issued.
const UNKNOWN_ACCESS_KEY: &str = "AKIANOSUCHKEY0000000";

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    with_bucket("wrongsecret", async |c, bucket| {
        let t = target();
        let bad = client_with_keys(&t.access_key, "definitely-not-the-secret-key-0000000000");
        expect_s3_error(
            bad.list_buckets().send().await,
            "SignatureDoesNotMatch",
            403,
        );
        let put = put_request(&bad, bucket, "k", b"x").send().await;
        expect_s3_error(put, "SignatureDoesNotMatch", 403);
        assert_no_object(c, bucket, "k").await;
    })
    .await
}

#[tokio::test]
async fn unknown_access_key_is_invalid_access_key_id() {
    with_bucket("unknownkey", async |_, bucket| {
        let bad = client_with_keys(UNKNOWN_ACCESS_KEY, &target().secret_key);
        expect_s3_error(bad.list_buckets().send().await, "InvalidAccessKeyId", 403);
        expect_s3_error(
            bad.get_object().bucket(bucket).key("k").send().await,
            "InvalidAccessKeyId",
            403,
        );
    })
    .await
}

#[tokio::test]
async fn unsigned_requests_are_access_denied() {
    with_bucket("anon", async |c, bucket| {
        put_bytes(c, bucket, "secret", b"classified").await;
        let t = target();
        for (method, path) in [
            ("GET", "/".to_owned()),
            ("GET", format!("/{bucket}")),
            ("GET", format!("/{bucket}?list-type=2")),
            ("GET", format!("/{bucket}/secret")),
            ("PUT", format!("/{bucket}/planted")),
            ("DELETE", format!("/{bucket}/secret")),
        ] {
            let mut request = RawRequest::new(method, path.clone());
            if method == "PUT" {
                request = request.body(b"anonymous write".to_vec());
            }
            let response = t
                .send_unsigned(request)
                .await
                .expect("raw unsigned request");
            assert_eq!(
                response.status,
                403,
                "unsigned {method} {path}: {}",
                response.text()
            );
            assert_eq!(
                response.error_code().as_deref(),
                Some("AccessDenied"),
                "unsigned {method} {path}"
            );
            assert!(
                !response.text().contains("classified"),
                "object data leaked to an anonymous request"
            );
        }
        // The object survives.
        assert_eq!(get_bytes(c, bucket, "secret").await, b"classified");
        assert_no_object(c, bucket, "planted").await;
    })
    .await
}

#[tokio::test]
async fn health_endpoint_needs_no_signature() {
    bounded(async {
        let t = target();
        if !t.in_process {
            eprintln!("skipped: /health is cairn-specific and {ENDPOINT_ENV} is set");
            return;
        }
        let response = t
            .send_unsigned(RawRequest::new("GET", "/health"))
            .await
            .expect("GET /health");
        assert_eq!(response.status, 200, "GET /health: {}", response.text());
    })
    .await
}

#[tokio::test]
async fn raw_signed_requests_are_accepted() {
    with_bucket("rawsigned", async |_, bucket| {
        let hashed = RawRequest::new("PUT", format!("/{bucket}/hashed"));
        let put = send_raw(hashed.body(b"signed payload".to_vec())).await;
        let text = put.text();
        assert_eq!(put.status, 200, "signed PUT with a payload hash: {text}");
        assert_eq!(
            put.header("etag"),
            Some(etag_of(b"signed payload").as_str())
        );

        let unsigned_payload = RawRequest::new("PUT", format!("/{bucket}/unsigned-payload"))
            .body(b"unsigned payload".to_vec())
            .payload(Payload::Unsigned);
        let put = send_raw(unsigned_payload).await;
        let text = put.text();
        assert_eq!(put.status, 200, "signed PUT with UNSIGNED-PAYLOAD: {text}");

        let get = raw_signed("GET", format!("/{bucket}/unsigned-payload")).await;
        assert_eq!(get.status, 200);
        assert_eq!(&get.body[..], b"unsigned payload");
    })
    .await
}

#[tokio::test]
async fn payload_altered_in_flight_is_rejected() {
    with_bucket("tamperbody", async |c, bucket| {
        let request = RawRequest::new("PUT", format!("/{bucket}/k"))
            .body(b"what was signed".to_vec())
            .tampered_body(b"what was sent!!".to_vec());
        let response = send_raw(request).await;
        // The body does not match x-amz-content-sha256.
        assert_raw_error(&response, "XAmzContentSHA256Mismatch", 400);
        assert_no_object(c, bucket, "k").await;
    })
    .await
}

#[tokio::test]
async fn skewed_clock_is_request_time_too_skewed() {
    with_bucket("skew", async |_, bucket| {
        let past = SystemTime::now() - SKEW;
        let future = SystemTime::now() + SKEW;
        for when in [past, future] {
            let request = RawRequest::new("GET", format!("/{bucket}?list-type=2")).signed_at(when);
            let response = send_raw(request).await;
            // Signed SKEW off.
            assert_raw_error(&response, "RequestTimeTooSkewed", 403);
        }
    })
    .await
}
