//! CORS: the bucket configuration calls (Put/Get/DeleteBucketCors) with AWS's
//! validation errors, browser preflights (`OPTIONS`, unsigned) granted or
//! refused by the rules, and the `Access-Control-*` headers on S3 responses
//! to requests that carry an `Origin`.

use std::time::Duration;

use aws_sdk_s3::operation::get_bucket_cors::GetBucketCorsOutput;
use aws_sdk_s3::presigning::PresigningConfig;
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

/// GetBucketCors; panics when it fails.
async fn get_rules(c: &Client, bucket: &str) -> GetBucketCorsOutput {
    let got = c.get_bucket_cors().bucket(bucket).send().await;
    got.expect("GetBucketCors")
}

fn code(text: &str) -> String {
    xml_tag_values(text, "Code")
        .into_iter()
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn configuration_round_trips_and_is_validated() {
    with_bucket("cors-config", async |c, bucket| {
        let missing = c.get_bucket_cors().bucket(bucket).send().await;
        expect_s3_error(missing, "NoSuchCORSConfiguration", 404);
        put_rules(c, bucket, rules()).await.expect("PutBucketCors");
        let got = get_rules(c, bucket).await;
        let got_rules = got.cors_rules();
        assert_eq!(got_rules.len(), 2);
        assert_eq!(got_rules[0].id(), Some("uploads"));
        assert_eq!(got_rules[0].allowed_methods(), ["PUT", "POST"]);
        assert_eq!(got_rules[0].allowed_headers(), ["content-type", "x-amz-*"]);
        assert_eq!(got_rules[0].expose_headers(), ["ETag"]);
        assert_eq!(got_rules[0].max_age_seconds(), Some(600));
        assert_eq!(got_rules[1].allowed_origins(), ["*"]);

        // A method CORS does not know, and an origin with two wildcards.
        for (origin, method) in [("*", "PATCH"), ("https://*.*.example.com", "GET")] {
            let rule = CorsRule::builder()
                .allowed_origins(origin)
                .allowed_methods(method);
            let config = CorsConfiguration::builder().cors_rules(rule.build().expect("rule"));
            let refused = put_rules(c, bucket, config.build().expect("configuration")).await;
            assert_eq!(refused, Err("400 InvalidRequest".into()));
        }
        // The refused configurations changed nothing.
        assert_eq!(get_rules(c, bucket).await.cors_rules().len(), 2);

        let deleted = c.delete_bucket_cors().bucket(bucket).send().await;
        deleted.expect("DeleteBucketCors");
        let gone = c.get_bucket_cors().bucket(bucket).send().await;
        expect_s3_error(gone, "NoSuchCORSConfiguration", 404);
        assert_eq!(
            put_rules(c, "no-such-bucket-for-cors", rules()).await,
            Err("404 NoSuchBucket".into())
        );

        // A deleted bucket takes its configuration along.
        put_rules(c, bucket, rules()).await.expect("PutBucketCors");
        delete_bucket(c, bucket).await;
        create_bucket_named(c, bucket).await;
        let fresh = c.get_bucket_cors().bucket(bucket).send().await;
        expect_s3_error(fresh, "NoSuchCORSConfiguration", 404);
    })
    .await
}

#[tokio::test]
async fn preflights_follow_the_rules() {
    with_bucket("cors-preflight", async |c, bucket| {
        let resp = preflight(
            bucket,
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

        put_rules(c, bucket, rules()).await.expect("PutBucketCors");
        let resp = preflight(
            bucket,
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
            bucket,
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
            let resp = preflight(bucket, "k", &refused).await;
            assert_eq!(resp.status(), 403, "{refused:?}");
            assert_eq!(
                code(&resp.text().await.unwrap_or_default()),
                "AccessForbidden"
            );
        }
        let resp = preflight(bucket, "k", &[("Access-Control-Request-Method", "GET")]).await;
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
    })
    .await
}

#[tokio::test]
async fn responses_to_browser_requests_carry_the_grant() {
    with_bucket("cors-actual", async |c, bucket| {
        put_bytes(c, bucket, "shared.txt", b"hello").await;
        let config = PresigningConfig::expires_in(PRESIGN_VALIDITY).expect("config");
        let presigned = get_request(c, bucket, "shared.txt").presigned(config).await;
        let presigned = presigned.expect("presign");
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

        put_rules(c, bucket, rules()).await.expect("PutBucketCors");
        let after = get(APP_ORIGIN).await;
        assert_eq!(after.status(), 200);
        assert_eq!(after.headers()["access-control-allow-origin"], "*");
        assert_eq!(after.headers()["access-control-allow-methods"], "GET, HEAD");
        assert_eq!(after.bytes().await.expect("body").as_ref(), b"hello");
    })
    .await
}
