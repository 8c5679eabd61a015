//! CORS: the bucket configuration calls (Put/Get/DeleteBucketCors) with AWS's
//! validation errors, browser preflights (`OPTIONS`, unsigned) granted or
//! refused by the rules, and the `Access-Control-*` headers on S3 responses
//! to requests that carry an `Origin`.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use cairn_s3_tests::*;

const APP_ORIGIN: &str = "https://app.example.com";
const PRESIGN_VALIDITY: Duration = Duration::from_secs(5 * 60);

fn rules() -> CorsConfiguration {
    let upload = CorsRule::builder()
        .id("uploads")
        .allowed_origins(APP_ORIGIN)
        .allowed_methods("PUT")
        .allowed_methods("POST")
        .allowed_headers("content-type")
        .allowed_headers("x-amz-*")
        .expose_headers("ETag")
        .max_age_seconds(600)
        .build()
        .expect("rule");
    let read = CorsRule::builder()
        .allowed_origins("*")
        .allowed_methods("GET")
        .allowed_methods("HEAD")
        .build()
        .expect("rule");
    CorsConfiguration::builder()
        .cors_rules(upload)
        .cors_rules(read)
        .build()
        .expect("configuration")
}

async fn put_rules(c: &Client, bucket: &str, config: CorsConfiguration) -> Result<(), String> {
    c.put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{} {}",
                error_status(&e).unwrap_or(0),
                error_code(&e).unwrap_or_default()
            )
        })
}

async fn preflight(bucket: &str, key: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().request(
        reqwest::Method::OPTIONS,
        format!("{}/{bucket}/{key}", target().endpoint),
    );
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("OPTIONS reaches the server")
}

fn code(text: &str) -> String {
    xml_tag_values(text, "Code")
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn configuration_round_trips_and_is_validated() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cors-config").await;
        let missing = c.get_bucket_cors().bucket(&bucket).send().await;
        expect_s3_error(missing, "NoSuchCORSConfiguration", 404);
        put_rules(&c, &bucket, rules())
            .await
            .expect("PutBucketCors");
        let got = c
            .get_bucket_cors()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketCors");
        let got_rules = got.cors_rules();
        assert_eq!(got_rules.len(), 2);
        assert_eq!(got_rules[0].id(), Some("uploads"));
        assert_eq!(got_rules[0].allowed_methods(), ["PUT", "POST"]);
        assert_eq!(got_rules[0].allowed_headers(), ["content-type", "x-amz-*"]);
        assert_eq!(got_rules[0].expose_headers(), ["ETag"]);
        assert_eq!(got_rules[0].max_age_seconds(), Some(600));
        assert_eq!(got_rules[1].allowed_origins(), ["*"]);

        let patch = CorsConfiguration::builder()
            .cors_rules(
                CorsRule::builder()
                    .allowed_origins("*")
                    .allowed_methods("PATCH")
                    .build()
                    .expect("rule"),
            )
            .build()
            .expect("configuration");
        assert_eq!(
            put_rules(&c, &bucket, patch).await,
            Err("400 InvalidRequest".into())
        );
        let two_wildcards = CorsConfiguration::builder()
            .cors_rules(
                CorsRule::builder()
                    .allowed_origins("https://*.*.example.com")
                    .allowed_methods("GET")
                    .build()
                    .expect("rule"),
            )
            .build()
            .expect("configuration");
        assert_eq!(
            put_rules(&c, &bucket, two_wildcards).await,
            Err("400 InvalidRequest".into())
        );
        // The refused configurations changed nothing.
        let got = c
            .get_bucket_cors()
            .bucket(&bucket)
            .send()
            .await
            .expect("get");
        assert_eq!(got.cors_rules().len(), 2);

        c.delete_bucket_cors()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucketCors");
        let gone = c.get_bucket_cors().bucket(&bucket).send().await;
        expect_s3_error(gone, "NoSuchCORSConfiguration", 404);
        assert_eq!(
            put_rules(&c, "no-such-bucket-for-cors", rules()).await,
            Err("404 NoSuchBucket".into())
        );

        // A deleted bucket takes its configuration along.
        put_rules(&c, &bucket, rules())
            .await
            .expect("PutBucketCors");
        c.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucket");
        c.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("recreate");
        let fresh = c.get_bucket_cors().bucket(&bucket).send().await;
        expect_s3_error(fresh, "NoSuchCORSConfiguration", 404);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn preflights_follow_the_rules() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cors-preflight").await;
        let resp = preflight(
            &bucket,
            "k",
            &[
                ("Origin", APP_ORIGIN),
                ("Access-Control-Request-Method", "PUT"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 403, "no configuration yet");
        assert_eq!(
            code(&resp.text().await.unwrap_or_default()),
            "AccessForbidden"
        );

        put_rules(&c, &bucket, rules())
            .await
            .expect("PutBucketCors");
        let resp = preflight(
            &bucket,
            "dir/photo.jpg",
            &[
                ("Origin", APP_ORIGIN),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "Content-Type, X-Amz-Date"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], APP_ORIGIN);
        assert_eq!(h["access-control-allow-methods"], "PUT, POST");
        assert_eq!(
            h["access-control-allow-headers"],
            "Content-Type, X-Amz-Date"
        );
        assert_eq!(h["access-control-expose-headers"], "ETag");
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert!(h.contains_key("x-amz-request-id"));

        // Any origin may GET; the answer names `*`.
        let resp = preflight(
            &bucket,
            "k",
            &[
                ("Origin", "https://else.example"),
                ("Access-Control-Request-Method", "GET"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");

        for refused in [
            vec![
                ("Origin", "https://else.example"),
                ("Access-Control-Request-Method", "PUT"),
            ],
            vec![
                ("Origin", APP_ORIGIN),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
            vec![
                ("Origin", APP_ORIGIN),
                ("Access-Control-Request-Method", "DELETE"),
            ],
        ] {
            let resp = preflight(&bucket, "k", &refused).await;
            assert_eq!(resp.status(), 403, "{refused:?}");
            assert_eq!(
                code(&resp.text().await.unwrap_or_default()),
                "AccessForbidden"
            );
        }
        let resp = preflight(&bucket, "k", &[("Access-Control-Request-Method", "GET")]).await;
        assert_eq!(resp.status(), 400, "no Origin");
        let resp = preflight(
            "no-such-bucket-for-cors",
            "k",
            &[
                ("Origin", APP_ORIGIN),
                ("Access-Control-Request-Method", "GET"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 404);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn responses_to_browser_requests_carry_the_grant() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "cors-actual").await;
        c.put_object()
            .bucket(&bucket)
            .key("shared.txt")
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await
            .expect("PutObject");
        let presigned = c
            .get_object()
            .bucket(&bucket)
            .key("shared.txt")
            .presigned(PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("config"))
            .await
            .expect("presign");
        let get = |origin: &'static str| {
            let uri = presigned.uri().to_string();
            async move {
                reqwest::Client::new()
                    .get(uri)
                    .header("Origin", origin)
                    .send()
                    .await
                    .expect("GET")
            }
        };
        let before = get(APP_ORIGIN).await;
        assert_eq!(before.status(), 200);
        assert!(
            before
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );

        put_rules(&c, &bucket, rules())
            .await
            .expect("PutBucketCors");
        let after = get(APP_ORIGIN).await;
        assert_eq!(after.status(), 200);
        assert_eq!(after.headers()["access-control-allow-origin"], "*");
        assert_eq!(after.headers()["access-control-allow-methods"], "GET, HEAD");
        assert_eq!(after.bytes().await.expect("body").as_ref(), b"hello");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
