//! Tenants, seen by two users: the shared target's root key (user A, which
//! makes the buckets here) and a second key made with `cairn admin key
//! create` and no grant (user B, as the public S3 suites' "alt" user). B
//! gets AccessDenied on every operation on A's bucket until `cairn admin
//! key allow` grants it; then exactly the granted operations work, until
//! `key deny`. ListBuckets shows each key only its buckets; a bucket name
//! is one namespace; unsigned requests are refused. Skipped against an
//! endpoint without `S3_ALT_ACCESS_KEY_ID` and `CAIRN_ADMIN_CONFIG`.

use cairn_s3_tests::*;
use std::time::Duration;

/// How long a grant change may take to reach the gateway (its grants
/// cache trusts an entry for a second).
const GRANT_SETTLE: Duration = Duration::from_secs(10);

fn alt_client() -> Option<(Client, std::path::PathBuf)> {
    let t = target();
    match (&t.alt, &t.admin_config) {
        (Some((a, s)), Some(config)) => Some((t.client_with_keys(a, s), config.clone())),
        _ => {
            eprintln!("skipped: no second user (S3_ALT_ACCESS_KEY_ID, CAIRN_ADMIN_CONFIG)");
            None
        }
    }
}

fn admin(config: &std::path::Path, args: &[&str]) {
    let mut cmd = std::process::Command::new(cairn_testkit::cairn_bin());
    cmd.arg("admin").args(args).arg("--config").arg(config);
    let out = cairn_testkit::run_bounded(&mut cmd, cairn_testkit::ADMIN_TIMEOUT);
    assert!(out.status.success(), "cairn admin {args:?}: {out:?}");
}

fn alt_key() -> String {
    target().alt.as_ref().expect("alt user").0.clone()
}

/// Waits until `probe` (an operation of B, answering its S3 error code)
/// is denied (`denied`) or not; panics if that never happens.
async fn until_denied<F, Fut>(denied: bool, probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let deadline = tokio::time::Instant::now() + GRANT_SETTLE;
    while (probe().await.as_deref() == Some("AccessDenied")) != denied {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the grant change never took effect"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `probe` stops answering AccessDenied (a grant took effect).
async fn until_allowed<F, Fut>(probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    until_denied(false, probe).await
}

#[tokio::test]
async fn a_second_user_is_denied_until_granted_then_gets_exactly_the_grant() {
    let Some((b, config)) = alt_client() else {
        return;
    };
    with_bucket("tenant", async |a: &Client, bucket: &str| {
        put_bytes(a, bucket, "doc", b"only for A").await;
        let src = format!("{bucket}/doc");

        // Nothing of A's bucket is B's.
        expect_s3_error(
            get_request(&b, bucket, "doc").send().await,
            "AccessDenied",
            403,
        );
        let head = head_request(&b, bucket, "doc").send().await;
        assert_eq!(error_status(&head.expect_err("HEAD refused")), Some(403));
        expect_s3_error(
            put_request(&b, bucket, "b", b"x").send().await,
            "AccessDenied",
            403,
        );
        expect_s3_error(
            b.delete_object().bucket(bucket).key("doc").send().await,
            "AccessDenied",
            403,
        );
        expect_s3_error(
            b.list_objects_v2().bucket(bucket).send().await,
            "AccessDenied",
            403,
        );
        expect_s3_error(
            b.create_multipart_upload()
                .bucket(bucket)
                .key("m")
                .send()
                .await,
            "AccessDenied",
            403,
        );
        expect_s3_error(
            b.get_bucket_versioning().bucket(bucket).send().await,
            "AccessDenied",
            403,
        );
        expect_s3_error(
            b.delete_bucket().bucket(bucket).send().await,
            "AccessDenied",
            403,
        );
        let head_bucket = b.head_bucket().bucket(bucket).send().await;
        assert_eq!(
            error_status(&head_bucket.expect_err("HeadBucket refused")),
            Some(403)
        );
        // B's own bucket: B owns it; copying A's object into it needs read on A's.
        let mine = create_bucket(&b, "tenant-b").await;
        expect_s3_error(
            copy_request(&b, &mine, "copy", &src).send().await,
            "AccessDenied",
            403,
        );
        // A bucket name is one namespace: B cannot take A's.
        expect_s3_error(
            b.create_bucket().bucket(bucket).send().await,
            "BucketAlreadyExists",
            409,
        );
        // Each key lists its own buckets; the root key sees all.
        let names = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
            out.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string))
                .collect()
        };
        let b_sees = names(b.list_buckets().send().await.expect("B lists"));
        assert!(
            b_sees.contains(&mine) && !b_sees.contains(&bucket.to_string()),
            "{b_sees:?}"
        );
        let a_sees = names(a.list_buckets().send().await.expect("A lists"));
        assert!(
            a_sees.contains(&mine) && a_sees.contains(&bucket.to_string()),
            "{a_sees:?}"
        );

        // Read granted: reads work, writes still do not.
        admin(
            &config,
            &["key", "allow", &alt_key(), "--bucket", bucket, "--read"],
        );
        until_allowed(|| async {
            get_request(&b, bucket, "doc")
                .send()
                .await
                .err()
                .and_then(|e| error_code(&e))
        })
        .await;
        assert_eq!(get_bytes(&b, bucket, "doc").await, b"only for A");
        assert!(list_keys(&b, bucket).await.contains(&"doc".to_string()));
        copy_object(&b, &mine, "copy", &src).await;
        expect_s3_error(
            put_request(&b, bucket, "b", b"x").send().await,
            "AccessDenied",
            403,
        );
        expect_s3_error(
            b.delete_bucket().bucket(bucket).send().await,
            "AccessDenied",
            403,
        );
        let b_sees = names(b.list_buckets().send().await.expect("B lists"));
        assert!(
            b_sees.contains(&bucket.to_string()),
            "a granted bucket is listed: {b_sees:?}"
        );

        // Write granted (no read): a write-only upload key.
        admin(
            &config,
            &["key", "allow", &alt_key(), "--bucket", bucket, "--write"],
        );
        until_allowed(|| async {
            put_request(&b, bucket, "from-b", b"B wrote")
                .send()
                .await
                .err()
                .and_then(|e| error_code(&e))
        })
        .await;
        expect_s3_error(
            get_request(&b, bucket, "doc").send().await,
            "AccessDenied",
            403,
        );
        assert_eq!(get_bytes(a, bucket, "from-b").await, b"B wrote");

        // Denied again: nothing.
        admin(&config, &["key", "deny", &alt_key(), "--bucket", bucket]);
        until_denied(true, || async {
            put_request(&b, bucket, "late", b"x")
                .send()
                .await
                .err()
                .and_then(|e| error_code(&e))
        })
        .await;
        delete_object(a, bucket, "late").await;
        cleanup_bucket(&b, &mine).await;
    })
    .await;
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let t = target();
    with_bucket("anon", async |a: &Client, bucket: &str| {
        put_bytes(a, bucket, "k", b"v").await;
        let resp = reqwest::get(format!("{}/{bucket}/k", t.endpoint))
            .await
            .expect("an answer");
        assert_eq!(resp.status().as_u16(), 403);
        let body = resp.text().await.unwrap_or_default();
        assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    })
    .await;
}

/// A public-read policy on a prefix: anonymous GET and HEAD of it work,
/// nothing else does; a policy can give a key an upload right its grants
/// lack and deny it deletes; only owners read or change a policy; what the
/// subset lacks answers NotImplemented.
#[tokio::test]
async fn a_bucket_policy_opens_a_public_prefix_and_gives_an_upload_key() {
    let t = target();
    let alt = alt_client();
    with_bucket("policy", async |a: &Client, bucket: &str| {
        put_bytes(a, bucket, "public/index.html", b"<h1>hi</h1>").await;
        put_bytes(a, bucket, "private/notes", b"secret").await;
        let anon = |key: &str| format!("{}/{bucket}/{key}", t.endpoint);
        let status = async |url: String| reqwest::get(url).await.expect("an answer").status().as_u16();
        assert_eq!(status(anon("public/index.html")).await, 403, "no policy yet");

        let doc = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "site", "Effect": "Allow",
                "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/public/*"}}]}}"#
        );
        a.put_bucket_policy().bucket(bucket).policy(&doc).send().await.expect("PutBucketPolicy");
        let got = a.get_bucket_policy().bucket(bucket).send().await.expect("GetBucketPolicy");
        assert_eq!(got.policy(), Some(doc.as_str()));

        let resp = reqwest::get(anon("public/index.html")).await.expect("an answer");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.bytes().await.expect("body").as_ref(), b"<h1>hi</h1>");
        let head = reqwest::Client::new().head(anon("public/index.html")).send().await.expect("HEAD");
        assert_eq!(head.status().as_u16(), 200);
        assert_eq!(status(anon("private/notes")).await, 403);
        assert_eq!(status(format!("{}/{bucket}?list-type=2", t.endpoint)).await, 403);
        let put = reqwest::Client::new().put(anon("public/new")).body("x").send().await.expect("PUT");
        assert_eq!(put.status().as_u16(), 403);

        // Outside the subset: NotImplemented, never ignored; nonsense: MalformedPolicy.
        let conditional = doc.replace(r#""Sid": "site","#, r#""Sid": "site", "Condition": {"StringEquals": {"aws:UserAgent": "curl"}},"#);
        expect_s3_error(
            a.put_bucket_policy().bucket(bucket).policy(conditional).send().await,
            "NotImplemented",
            501,
        );
        expect_s3_error(
            a.put_bucket_policy().bucket(bucket).policy("{not json").send().await,
            "MalformedPolicy",
            400,
        );

        if let Some((b, _)) = &alt {
            let alt_id = alt_key();
            // Only owners see or change a policy.
            expect_s3_error(b.get_bucket_policy().bucket(bucket).send().await, "AccessDenied", 403);
            expect_s3_error(
                b.put_bucket_policy().bucket(bucket).policy(&doc).send().await,
                "AccessDenied",
                403,
            );
            // An upload key by policy: put into inbox/, nothing else.
            let upload = format!(
                r#"{{"Statement": [
                    {{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{bucket}/public/*"}},
                    {{"Effect": "Allow", "Principal": {{"AWS": ["{alt_id}"]}}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::{bucket}/inbox/*"}},
                    {{"Effect": "Deny", "Principal": {{"AWS": ["{alt_id}"]}}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::{bucket}/*"}}
                ]}}"#
            );
            a.put_bucket_policy().bucket(bucket).policy(&upload).send().await.expect("PutBucketPolicy");
            put_bytes(b, bucket, "inbox/drop", b"from B").await;
            assert_eq!(get_bytes(a, bucket, "inbox/drop").await, b"from B");
            expect_s3_error(get_request(b, bucket, "inbox/drop").send().await, "AccessDenied", 403);
            expect_s3_error(put_request(b, bucket, "elsewhere", b"x").send().await, "AccessDenied", 403);
            // Even with a write grant, the policy's deny of deletes holds.
            let config = t.admin_config.clone().expect("admin config");
            admin(&config, &["key", "allow", &alt_id, "--bucket", bucket, "--write"]);
            until_allowed(|| async { put_request(b, bucket, "granted", b"x").send().await.err().and_then(|e| error_code(&e)) }).await;
            expect_s3_error(
                b.delete_object().bucket(bucket).key("inbox/drop").send().await,
                "AccessDenied",
                403,
            );
            admin(&config, &["key", "deny", &alt_id, "--bucket", bucket]);
        }

        a.delete_bucket_policy().bucket(bucket).send().await.expect("DeleteBucketPolicy");
        expect_s3_error(a.get_bucket_policy().bucket(bucket).send().await, "NoSuchBucketPolicy", 404);
        assert_eq!(status(anon("public/index.html")).await, 403, "the policy is gone");
    })
    .await;
}
