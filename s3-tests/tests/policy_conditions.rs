//! Bucket policy conditions: `aws:SourceIp` (the tests reach the server
//! from loopback), `s3:prefix` (what an anonymous listing may ask for) and
//! `aws:SecureTransport` (a deny of plain HTTP, which holds over `http://`
//! and not over `https://`), each decided for anonymous requests, with the
//! root key never locked out by a deny.

use cairn_s3_tests::*;

/// The status of an unsigned GET of `url`.
async fn anon_status(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

async fn put_policy(c: &Client, bucket: &str, doc: &str) {
    c.put_bucket_policy()
        .bucket(bucket)
        .policy(doc)
        .send()
        .await
        .expect("PutBucketPolicy");
}

/// A statement allowing anyone `action` on `resource` under `condition`.
fn allow(bucket: &str, action: &str, resource: &str, condition: &str) -> String {
    format!(
        r#"{{"Effect": "Allow", "Principal": "*", "Action": "{action}",
            "Resource": "arn:aws:s3:::{bucket}{resource}", "Condition": {condition}}}"#
    )
}

fn policy(statements: &[String]) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    )
}

#[tokio::test]
async fn source_ip_decides_where_anonymous_reads_come_from() {
    let t = target();
    with_bucket("pc-ip", async |c: &Client, bucket: &str| {
        put_bytes(c, bucket, "public/a", b"A").await;
        let url = format!("{}/{bucket}/public/a", t.endpoint);
        let from = |cidr: &str| {
            let condition = format!(r#"{{"IpAddress": {{"aws:SourceIp": "{cidr}"}}}}"#);
            policy(&[allow(bucket, "s3:GetObject", "/public/*", &condition)])
        };
        put_policy(c, bucket, &from("127.0.0.0/8")).await;
        assert_eq!(
            anon_status(&url).await,
            200,
            "loopback is inside 127.0.0.0/8"
        );
        put_policy(c, bucket, &from("10.0.0.0/8")).await;
        assert_eq!(
            anon_status(&url).await,
            403,
            "loopback is outside 10.0.0.0/8"
        );
        let outside = r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}"#;
        let doc = policy(&[allow(bucket, "s3:GetObject", "/public/*", outside)]);
        put_policy(c, bucket, &doc).await;
        assert_eq!(anon_status(&url).await, 200, "loopback is in neither block");
        // A malformed block is refused when the policy is put.
        let bad = policy(&[allow(
            bucket,
            "s3:GetObject",
            "/public/*",
            r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/40"}}"#,
        )]);
        let refused = c
            .put_bucket_policy()
            .bucket(bucket)
            .policy(bad)
            .send()
            .await;
        expect_s3_error(refused, "MalformedPolicy", 400);
    })
    .await;
}

#[tokio::test]
async fn s3_prefix_limits_what_an_anonymous_listing_may_ask_for() {
    let t = target();
    with_bucket("pc-prefix", async |c: &Client, bucket: &str| {
        put_bytes(c, bucket, "public/a", b"A").await;
        put_bytes(c, bucket, "private/b", b"B").await;
        let condition = r#"{"StringEquals": {"s3:prefix": "public/"}}"#;
        put_policy(
            c,
            bucket,
            &policy(&[allow(bucket, "s3:ListBucket", "", condition)]),
        )
        .await;
        let list = |query: &str| format!("{}/{bucket}?list-type=2{query}", t.endpoint);
        let resp = reqwest::get(list("&prefix=public%2F"))
            .await
            .expect("an answer");
        assert_eq!(resp.status().as_u16(), 200);
        let body = resp.text().await.expect("body");
        assert!(body.contains("<Key>public/a</Key>"), "{body}");
        assert!(!body.contains("private/b"), "{body}");
        assert_eq!(anon_status(&list("&prefix=private%2F")).await, 403);
        assert_eq!(
            anon_status(&list("")).await,
            403,
            "no prefix: the condition fails"
        );
        // The grant to list is no grant to read.
        let get = format!("{}/{bucket}/public/a", t.endpoint);
        assert_eq!(anon_status(&get).await, 403);
    })
    .await;
}

#[tokio::test]
async fn a_deny_of_plain_http_holds_over_http_only_and_spares_the_root_key() {
    let t = target();
    with_bucket("pc-tls", async |c: &Client, bucket: &str| {
        put_bytes(c, bucket, "public/a", b"A").await;
        let deny_plain = format!(
            r#"{{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
                "Condition": {{"Bool": {{"aws:SecureTransport": "false"}}}}}}"#
        );
        let public = allow(bucket, "s3:GetObject", "/public/*", "{}");
        let url = format!("{}/{bucket}/public/a", t.endpoint);
        put_policy(c, bucket, &policy(std::slice::from_ref(&public))).await;
        assert_eq!(anon_status(&url).await, 200, "public without the deny");
        put_policy(c, bucket, &policy(&[public, deny_plain])).await;
        let https = t.endpoint.starts_with("https://");
        let want = if https { 200 } else { 403 };
        assert_eq!(anon_status(&url).await, want, "https: {https}");
        // The root key is never locked out of its bucket by a deny.
        assert_eq!(get_bytes(c, bucket, "public/a").await, b"A");
        c.delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("the root key removes the policy");
    })
    .await;
}
