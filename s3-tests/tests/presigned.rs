//! Presigned URLs: GET and PUT through URLs signed with SigV4 query
//! parameters (valid, tampered with, expired).

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use cairn_s3_tests::*;

const PRESIGN_VALIDITY: Duration = Duration::from_secs(15 * 60);
const PRESIGNED_GET_SIZE: usize = 64 * KIB;
const PRESIGNED_PUT_SIZE: usize = 100 * KIB;

#[tokio::test]
async fn presigned_get_works() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "presignget").await;
        let data = random_bytes(PRESIGNED_GET_SIZE);
        c.put_object()
            .bucket(&bucket)
            .key("dir/shared file.bin")
            .body(ByteStream::from(data.clone()))
            .content_type("application/x-shared")
            .send()
            .await
            .expect("PutObject");
        let config = PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("presigning config");
        let presigned = c
            .get_object()
            .bucket(&bucket)
            .key("dir/shared file.bin")
            .presigned(config)
            .await
            .expect("presign GET");
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
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn presigned_put_works() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "presignput").await;
        let data = random_bytes(PRESIGNED_PUT_SIZE);
        let config = PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("presigning config");
        let presigned = c
            .put_object()
            .bucket(&bucket)
            .key("uploaded")
            .content_type("text/x-presigned")
            .presigned(config)
            .await
            .expect("presign PUT");
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

        let got = c
            .get_object()
            .bucket(&bucket)
            .key("uploaded")
            .send()
            .await
            .expect("GetObject");
        assert_eq!(
            got.content_type(),
            Some("text/x-presigned"),
            "signed Content-Type was stored"
        );
        assert!(
            collect_body(got).await == data,
            "presigned PUT body differs"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
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
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "presigntamper").await;
        put_object(&c, &bucket, "k", b"data").await;
        put_object(&c, &bucket, "other", b"other data").await;
        let config = PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("presigning config");
        let presigned = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .presigned(config)
            .await
            .expect("presign GET");

        let bad_signature = tamper_signature(presigned.uri());
        let response = send_to_url("GET", &bad_signature, presigned.headers(), Vec::new())
            .await
            .expect("GET");
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

        let other_key =
            presigned
                .uri()
                .replacen(&format!("/{bucket}/k?"), &format!("/{bucket}/other?"), 1);
        assert_ne!(other_key, presigned.uri(), "path rewrite applied");
        let response = send_to_url("GET", &other_key, presigned.headers(), Vec::new())
            .await
            .expect("GET");
        assert_eq!(
            response.status,
            403,
            "URL reused for another key: {}",
            response.text()
        );
        assert_eq!(
            response.error_code().as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert!(!response.text().contains("other data"));

        let as_delete = send_to_url("DELETE", presigned.uri(), presigned.headers(), Vec::new())
            .await
            .expect("DELETE");
        assert_eq!(
            as_delete.status,
            403,
            "GET URL used for DELETE: {}",
            as_delete.text()
        );
        c.head_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("object survives");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn expired_presigned_url_is_rejected() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "presignexpired").await;
        put_object(&c, &bucket, "k", b"data").await;
        let config = PresigningConfig::builder()
            .start_time(SystemTime::now() - 2 * PRESIGN_VALIDITY)
            .expires_in(PRESIGN_VALIDITY)
            .build()
            .expect("presigning config");
        let presigned = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .presigned(config)
            .await
            .expect("presign GET");
        let response = send_to_url("GET", presigned.uri(), presigned.headers(), Vec::new())
            .await
            .expect("GET");
        assert_eq!(response.status, 403, "expired URL: {}", response.text());
        assert_eq!(response.error_code().as_deref(), Some("AccessDenied"));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
