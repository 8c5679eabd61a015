//! Presigned URLs: GET and PUT through URLs signed with SigV4 query
//! parameters (valid, tampered with, expired).

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use cairn_s3_tests::*;

const PRESIGN_VALIDITY: Duration = Duration::from_secs(15 * 60);
const PRESIGNED_GET_SIZE: usize = 64 * KIB;
const PRESIGNED_PUT_SIZE: usize = 100 * KIB;

#[tokio::test]
async fn presigned_get_works() {
    with_bucket("presignget", async |c, bucket| {
        let data = random_bytes(PRESIGNED_GET_SIZE);
        let key = "dir/shared file.bin";
        put_with(c, bucket, key, &data, |r| {
            r.content_type("application/x-shared")
        })
        .await;
        let presigned = presign_get(c, bucket, key, valid_now()).await;
        assert!(
            presigned.uri().contains("X-Amz-Signature="),
            "query-string auth: {}",
            presigned.uri()
        );
        let response = send_to_url(
            presigned.method(),
            presigned.uri(),
            presigned.headers(),
            Vec::new(),
        )
        .await
        .expect("fetch presigned GET");
        assert_eq!(response.status, 200, "presigned GET: {}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("application/x-shared")
        );
        assert_eq!(response.header("etag"), Some(etag_of(&data).as_str()));
        assert!(response.body[..] == data[..], "presigned GET body differs");
    })
    .await
}

#[tokio::test]
async fn presigned_put_works() {
    with_bucket("presignput", async |c, bucket| {
        let data = random_bytes(PRESIGNED_PUT_SIZE);
        let put = c.put_object().bucket(bucket).key("uploaded");
        let put = put
            .content_type("text/x-presigned")
            .presigned(valid_now())
            .await;
        let presigned = put.expect("presign PUT");
        let response = send_to_url(
            presigned.method(),
            presigned.uri(),
            presigned.headers(),
            data.clone(),
        )
        .await
        .expect("presigned PUT");
        assert_eq!(response.status, 200, "presigned PUT: {}", response.text());
        assert_eq!(response.header("etag"), Some(etag_of(&data).as_str()));

        let got = get_object(c, bucket, "uploaded").await;
        assert_eq!(
            got.content_type(),
            Some("text/x-presigned"),
            "signed Content-Type was stored"
        );
        assert!(
            collect_body(got).await == data,
            "presigned PUT body differs"
        );
    })
    .await
}

/// A presigning configuration valid from now for [`PRESIGN_VALIDITY`].
fn valid_now() -> PresigningConfig {
    PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("presigning config")
}

/// A presigned GetObject of `key`.
async fn presign_get(
    c: &Client,
    bucket: &str,
    key: &str,
    config: PresigningConfig,
) -> PresignedRequest {
    let presigned = get_request(c, bucket, key).presigned(config).await;
    presigned.expect("presign GET")
}

/// Sends `method` without a body to `uri` with the headers `presigned` asks for.
async fn fetch(method: &str, uri: &str, presigned: &PresignedRequest) -> RawResponse {
    let response = send_to_url(method, uri, presigned.headers(), Vec::new()).await;
    response.unwrap_or_else(|e| panic!("{method} {uri}: {e:#}"))
}

/// Changes the last hex digit of the `X-Amz-Signature` query value.
fn tamper_signature(uri: &str) -> String {
    const PARAM: &str = "X-Amz-Signature=";
    let start = uri.find(PARAM).expect("presigned URL has X-Amz-Signature") + PARAM.len();
    let end = uri[start..].find('&').map_or(uri.len(), |i| start + i);
    let mut signature: Vec<char> = uri[start..end].chars().collect();
    let last = signature.last_mut().expect("non-empty signature");
    *last = if *last == '0' { '1' } else { '0' };
    format!(
        "{}{}{}",
        &uri[..start],
        signature.into_iter().collect::<String>(),
        &uri[end..]
    )
}

#[tokio::test]
async fn tampered_presigned_urls_are_rejected() {
    with_bucket("presigntamper", async |c, bucket| {
        put_bytes(c, bucket, "k", b"data").await;
        put_bytes(c, bucket, "other", b"other data").await;
        let presigned = presign_get(c, bucket, "k", valid_now()).await;

        let bad_signature = tamper_signature(presigned.uri());
        let response = fetch("GET", &bad_signature, &presigned).await;
        assert_eq!(
            response.status,
            403,
            "tampered signature: {}",
            response.text()
        );
        assert_eq!(
            response.error_code().as_deref(),
            Some("SignatureDoesNotMatch")
        );

        let (own, other) = (format!("/{bucket}/k?"), format!("/{bucket}/other?"));
        let other_key = presigned.uri().replacen(&own, &other, 1);
        assert_ne!(other_key, presigned.uri(), "path rewrite applied");
        let response = fetch("GET", &other_key, &presigned).await;
        let text = response.text();
        assert_eq!(response.status, 403, "URL reused for another key: {text}");
        assert_eq!(
            response.error_code().as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert!(!text.contains("other data"));

        let as_delete = fetch("DELETE", presigned.uri(), &presigned).await;
        let text = as_delete.text();
        assert_eq!(as_delete.status, 403, "GET URL used for DELETE: {text}");
        // The object survives.
        head_object(c, bucket, "k").await;
    })
    .await
}

#[tokio::test]
async fn expired_presigned_url_is_rejected() {
    with_bucket("presignexpired", async |c, bucket| {
        put_bytes(c, bucket, "k", b"data").await;
        let config = PresigningConfig::builder()
            .start_time(SystemTime::now() - 2 * PRESIGN_VALIDITY)
            .expires_in(PRESIGN_VALIDITY)
            .build()
            .expect("presigning config");
        let presigned = presign_get(c, bucket, "k", config).await;
        let response = fetch("GET", presigned.uri(), &presigned).await;
        assert_eq!(response.status, 403, "expired URL: {}", response.text());
        assert_eq!(response.error_code().as_deref(), Some("AccessDenied"));
    })
    .await
}
