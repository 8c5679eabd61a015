//! Bucket lifecycle: the configuration calls (Put/Get/DeleteBucketLifecycle)
//! with AWS's validation errors, and the lifecycle job carrying rules out —
//! objects under a rule's prefix and inside its size range, or carrying its
//! tag, are deleted once expired, others stay; on a bucket with versioning,
//! the rules for noncurrent versions and delete markers are validated and a
//! delete marker left alone is removed. (Days-based expiry and upload abortion are decided
//! by the same pure functions, unit-tested in `cairn_types::lifecycle`.)

use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, Tag,
};
use cairn_s3_tests::*;

const DAY_SECS: i64 = 86_400;
/// Lifecycle passes a test waits for before it judges what the job did.
const JOB_PASSES_WAITED: u64 = 20;
/// Pause between two looks at what the job did.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Objects smaller than this are covered by the expiring rule.
const SIZE_LIMIT: i64 = 1000;

fn rule(id: &str, prefix: &str) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
}

async fn put_config(
    c: &Client,
    bucket: &str,
    rules: Vec<LifecycleRule>,
) -> Result<(), (u16, String)> {
    let config = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .expect("configuration");
    c.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            (
                error_status(&e).unwrap_or(0),
                error_code(&e).unwrap_or_default(),
            )
        })
}

/// Polls `probe` until its answer is `done`, or the lifecycle job had time
/// for many passes; answers the last answer (the caller asserts on it).
async fn until_job_done<T, F, Fut>(probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(JOB_PASSES_WAITED * TEST_LIFECYCLE_INTERVAL_SECS.max(1));
    loop {
        let answer = probe().await;
        if done(&answer) || tokio::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn today_midnight() -> i64 {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    now - now % DAY_SECS
}

#[tokio::test]
async fn configuration_round_trips_and_is_validated() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "lc-config").await;
        let missing = c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await;
        expect_s3_error(missing, "NoSuchLifecycleConfiguration", 404);
        let rules = vec![
            rule("logs", "logs/")
                .expiration(LifecycleExpiration::builder().days(30).build())
                .build()
                .expect("rule"),
            rule("uploads", "")
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(7)
                        .build(),
                )
                .build()
                .expect("rule"),
        ];
        put_config(&c, &bucket, rules)
            .await
            .expect("PutBucketLifecycle");
        let got = c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketLifecycle");
        let rules = got.rules();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].id(), Some("logs"));
        assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(30));
        assert_eq!(rules[0].filter().and_then(|f| f.prefix()), Some("logs/"));
        assert_eq!(
            rules[1]
                .abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation()),
            Some(7)
        );

        let zero_days = rule("z", "")
            .expiration(LifecycleExpiration::builder().days(0).build())
            .build()
            .expect("rule");
        assert_eq!(
            put_config(&c, &bucket, vec![zero_days]).await,
            Err((400, "InvalidArgument".into()))
        );
        let noon = rule("n", "")
            .expiration(
                LifecycleExpiration::builder()
                    .date(DateTime::from_secs(today_midnight() + DAY_SECS / 2))
                    .build(),
            )
            .build()
            .expect("rule");
        assert_eq!(
            put_config(&c, &bucket, vec![noon]).await,
            Err((400, "InvalidArgument".into()))
        );
        let same_id = || {
            rule("dup", "")
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .expect("rule")
        };
        assert_eq!(
            put_config(&c, &bucket, vec![same_id(), same_id()]).await,
            Err((400, "InvalidArgument".into()))
        );
        let abort_by_tag = LifecycleRule::builder()
            .id("t")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .tag(Tag::builder().key("k").value("v").build().expect("tag"))
                    .build(),
            )
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(1)
                    .build(),
            )
            .build()
            .expect("rule");
        assert_eq!(
            put_config(&c, &bucket, vec![abort_by_tag]).await,
            Err((400, "InvalidRequest".into()))
        );
        // Refused configurations changed nothing.
        let got = c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .expect("get");
        assert_eq!(got.rules().len(), 2);

        c.delete_bucket_lifecycle()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucketLifecycle");
        let gone = c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await;
        expect_s3_error(gone, "NoSuchLifecycleConfiguration", 404);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn expired_objects_are_deleted_by_the_lifecycle_job() {
    if !target().in_process {
        eprintln!("skipped: needs a server whose lifecycle job runs every few seconds");
        return;
    }
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "lc-expire").await;
        let put = |key: &'static str, size: usize| {
            let c = c.clone();
            let bucket = bucket.clone();
            async move {
                c.put_object()
                    .bucket(&bucket)
                    .key(key)
                    .body(ByteStream::from(random_bytes(size)))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
            }
        };
        put("expire/a", 10).await;
        put("expire/b", 20).await;
        put("expire/big", 4 * KIB).await;
        put("keep/c", 10).await;
        put("tagged/plain", 10).await;
        c.put_object()
            .bucket(&bucket)
            .key("tagged/tmp")
            .tagging("tier=tmp&team=a")
            .body(ByteStream::from_static(b"scratch"))
            .send()
            .await
            .expect("put tagged/tmp");
        // Expired as of today's midnight (already past): every covered object goes.
        let expire = LifecycleRule::builder()
            .id("expire-small")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("expire/")
                            .object_size_less_than(SIZE_LIMIT)
                            .build(),
                    )
                    .build(),
            )
            .expiration(
                LifecycleExpiration::builder()
                    .date(DateTime::from_secs(today_midnight()))
                    .build(),
            )
            .build()
            .expect("rule");
        let by_tag = LifecycleRule::builder()
            .id("expire-tmp")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .tag(
                        Tag::builder()
                            .key("tier")
                            .value("tmp")
                            .build()
                            .expect("tag"),
                    )
                    .build(),
            )
            .expiration(
                LifecycleExpiration::builder()
                    .date(DateTime::from_secs(today_midnight()))
                    .build(),
            )
            .build()
            .expect("rule");
        put_config(&c, &bucket, vec![expire, by_tag])
            .await
            .expect("PutBucketLifecycle");
        let got = c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketLifecycle");
        let tag = got.rules()[1].filter().and_then(|f| f.tag());
        assert_eq!(tag.map(|t| (t.key(), t.value())), Some(("tier", "tmp")));

        let keys = until_job_done(
            || async {
                let listed = c
                    .list_objects_v2()
                    .bucket(&bucket)
                    .send()
                    .await
                    .expect("list");
                listed
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string))
                    .collect::<Vec<String>>()
            },
            |keys| keys.len() <= 3,
        )
        .await;
        assert_eq!(
            keys,
            vec!["expire/big", "keep/c", "tagged/plain"],
            "the job deleted exactly the covered objects"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn versioned_rules_are_validated_and_lone_markers_expire() {
    bounded(async {
        let c = client();
        let bucket = cairn_s3_tests::versions::versioned_bucket(&c, "lc-markers").await;
        let marker_rule = |prefix: &str| {
            rule("markers", prefix)
                .expiration(
                    LifecycleExpiration::builder()
                        .expired_object_delete_marker(true)
                        .build(),
                )
                .build()
                .expect("rule")
        };
        let with_days = rule("both", "")
            .expiration(
                LifecycleExpiration::builder()
                    .days(3)
                    .expired_object_delete_marker(true)
                    .build(),
            )
            .build()
            .expect("rule");
        assert_eq!(
            put_config(&c, &bucket, vec![with_days]).await,
            Err((400, "MalformedXML".into()))
        );
        let newer = rule("newer", "")
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(1)
                    .newer_noncurrent_versions(2)
                    .build(),
            )
            .build()
            .expect("rule");
        assert_eq!(
            put_config(&c, &bucket, vec![newer]).await,
            Err((501, "NotImplemented".into()))
        );
        let noncurrent = rule("old", "")
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(30)
                    .build(),
            )
            .build()
            .expect("rule");
        put_config(&c, &bucket, vec![noncurrent, marker_rule("gone/")])
            .await
            .expect("PutBucketLifecycle");
        let got = c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketLifecycle");
        let rules = got.rules();
        assert_eq!(
            rules[0]
                .noncurrent_version_expiration()
                .and_then(|n| n.noncurrent_days()),
            Some(30)
        );
        assert_eq!(
            rules[1]
                .expiration()
                .and_then(|e| e.expired_object_delete_marker()),
            Some(true)
        );
        if !target().in_process {
            eprintln!("the job itself is checked only where it runs every few seconds");
            cairn_s3_tests::versions::purge(&c, &bucket).await;
            return;
        }
        // A marker with an older version under it stays; a lone one goes.
        cairn_s3_tests::versions::put_version(&c, &bucket, "gone/kept", b"data").await;
        for key in ["gone/kept", "gone/lone"] {
            c.delete_object()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .expect("DeleteObject");
        }
        let markers = until_job_done(
            || async {
                let listed = c
                    .list_object_versions()
                    .bucket(&bucket)
                    .send()
                    .await
                    .expect("ListObjectVersions");
                listed
                    .delete_markers()
                    .iter()
                    .filter_map(|m| m.key().map(str::to_string))
                    .collect::<Vec<String>>()
            },
            |markers| markers.len() <= 1,
        )
        .await;
        assert_eq!(markers, vec!["gone/kept"], "only the lone marker expired");
        cairn_s3_tests::versions::purge(&c, &bucket).await;
    })
    .await
}
