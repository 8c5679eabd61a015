//! Bucket lifecycle: the configuration calls (Put/Get/DeleteBucketLifecycle)
//! with AWS's validation errors, and the lifecycle job carrying rules out —
//! objects under a rule's prefix and inside its size range, or carrying its
//! tag, are deleted once expired, others stay; on a bucket with versioning,
//! the rules for noncurrent versions and delete markers are validated and a
//! delete marker left alone is removed. (Days-based expiry and upload abortion are decided
//! by the same pure functions, unit-tested in `cairn_types::lifecycle`.)

use std::time::{Duration, SystemTime};

use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::GetBucketLifecycleConfigurationOutput;
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::builders::{LifecycleExpirationBuilder, LifecycleRuleBuilder};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, Transition, TransitionStorageClass,
};
use cairn_s3_tests::versions::{put_version, with_versioned_bucket};
use cairn_s3_tests::*;

const DAY_SECS: i64 = 86_400;
/// Lifecycle passes a test waits for before it judges what the job did.
const JOB_PASSES_WAITED: u64 = 20;
/// Pause between two looks at what the job did.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Objects smaller than this are covered by the expiring rule.
const SIZE_LIMIT: i64 = 1000;

/// An enabled rule for keys under `prefix`.
fn rule(id: &str, prefix: &str) -> LifecycleRuleBuilder {
    let filter = LifecycleRuleFilter::builder().prefix(prefix).build();
    rule_for(id, filter)
}

/// An enabled rule with this filter.
fn rule_for(id: &str, filter: LifecycleRuleFilter) -> LifecycleRuleBuilder {
    let rule = LifecycleRule::builder().id(id);
    rule.status(ExpirationStatus::Enabled).filter(filter)
}

/// `rule` with the expiration `expiration` sets up, built.
fn expiring(
    rule: LifecycleRuleBuilder,
    expiration: impl FnOnce(LifecycleExpirationBuilder) -> LifecycleExpirationBuilder,
) -> LifecycleRule {
    let rule = rule.expiration(expiration(LifecycleExpiration::builder()).build());
    rule.build().expect("rule")
}

/// `rule` with a transition to GLACIER at `date` (and an expiration a
/// year later), built.
fn transition(rule: LifecycleRuleBuilder, date: DateTime) -> LifecycleRule {
    let to = Transition::builder()
        .date(date)
        .storage_class(TransitionStorageClass::Glacier)
        .build();
    let rule = rule.transitions(to);
    expiring(rule, |e| e.days(365))
}

/// `rule` aborting uploads `days` after they started, built.
fn aborting(rule: LifecycleRuleBuilder, days: i32) -> LifecycleRule {
    let abort = AbortIncompleteMultipartUpload::builder().days_after_initiation(days);
    let rule = rule.abort_incomplete_multipart_upload(abort.build());
    rule.build().expect("rule")
}

/// `rule` expiring noncurrent versions `days` after they stopped being
/// current (keeping `newer` of them, if given), built.
fn noncurrent(rule: LifecycleRuleBuilder, days: i32, newer: Option<i32>) -> LifecycleRule {
    let expiration = NoncurrentVersionExpiration::builder().noncurrent_days(days);
    let expiration = expiration.set_newer_noncurrent_versions(newer).build();
    rule.noncurrent_version_expiration(expiration)
        .build()
        .expect("rule")
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

/// GetBucketLifecycleConfiguration; panics when it fails.
async fn get_config(c: &Client, bucket: &str) -> GetBucketLifecycleConfigurationOutput {
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await;
    got.expect("GetBucketLifecycle")
}

/// Asserts that the bucket has no lifecycle configuration.
async fn assert_no_config(c: &Client, bucket: &str) {
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await;
    expect_s3_error(got, "NoSuchLifecycleConfiguration", 404);
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
    with_bucket("lc-config", async |c, bucket| {
        assert_no_config(c, bucket).await;
        let rules = vec![
            expiring(rule("logs", "logs/"), |e| e.days(30)),
            aborting(rule("uploads", ""), 7),
        ];
        put_config(c, bucket, rules)
            .await
            .expect("PutBucketLifecycle");
        let got = get_config(c, bucket).await;
        let rules = got.rules();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].id(), Some("logs"));
        assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(30));
        assert_eq!(rules[0].filter().and_then(|f| f.prefix()), Some("logs/"));
        let abort = rules[1].abort_incomplete_multipart_upload();
        assert_eq!(abort.and_then(|a| a.days_after_initiation()), Some(7));

        let noon = DateTime::from_secs(today_midnight() + DAY_SECS / 2);
        let same_id = || expiring(rule("dup", ""), |e| e.days(1));
        let by_tag = LifecycleRuleFilter::builder().tag(tag("k", "v")).build();
        for (rules, code) in [
            (
                vec![expiring(rule("z", ""), |e| e.days(0))],
                "InvalidArgument",
            ),
            (
                vec![expiring(rule("n", ""), |e| e.date(noon))],
                "InvalidArgument",
            ),
            (vec![same_id(), same_id()], "InvalidArgument"),
            (vec![aborting(rule_for("t", by_tag), 1)], "InvalidRequest"),
            (
                vec![expiring(
                    rule("s", "").status(ExpirationStatus::from("enabled")),
                    |e| e.days(1),
                )],
                "MalformedXML",
            ),
            (vec![transition(rule("tn", ""), noon)], "InvalidArgument"),
        ] {
            let refused = put_config(c, bucket, rules).await;
            assert_eq!(refused, Err((400, code.into())));
        }
        // A well-formed transition is a feature cairn does not have (one
        // storage class): 501.
        let midnight = DateTime::from_secs(today_midnight() + DAY_SECS);
        let unsupported = put_config(c, bucket, vec![transition(rule("tm", ""), midnight)]).await;
        assert_eq!(unsupported, Err((501, "NotImplemented".into())));
        // Refused configurations changed nothing.
        assert_eq!(get_config(c, bucket).await.rules().len(), 2);

        let deleted = c.delete_bucket_lifecycle().bucket(bucket).send().await;
        deleted.expect("DeleteBucketLifecycle");
        assert_no_config(c, bucket).await;
    })
    .await
}

#[tokio::test]
async fn expired_objects_are_deleted_by_the_lifecycle_job() {
    if !target().in_process {
        eprintln!("skipped: needs a server whose lifecycle job runs every few seconds");
        return;
    }
    with_bucket("lc-expire", async |c, bucket| {
        for (key, size) in [
            ("expire/a", 10),
            ("expire/b", 20),
            ("expire/big", 4 * KIB),
            ("keep/c", 10),
            ("tagged/plain", 10),
        ] {
            put_bytes(c, bucket, key, &random_bytes(size)).await;
        }
        put_with(c, bucket, "tagged/tmp", b"scratch", |r| {
            r.tagging("tier=tmp&team=a")
        })
        .await;
        // Expired as of today's midnight (already past): every covered object goes.
        let midnight = DateTime::from_secs(today_midnight());
        let small = LifecycleRuleAndOperator::builder()
            .prefix("expire/")
            .object_size_less_than(SIZE_LIMIT)
            .build();
        let small = LifecycleRuleFilter::builder().and(small).build();
        let expire = expiring(rule_for("expire-small", small), |e| e.date(midnight));
        let tmp = LifecycleRuleFilter::builder()
            .tag(tag("tier", "tmp"))
            .build();
        let by_tag = expiring(rule_for("expire-tmp", tmp), |e| e.date(midnight));
        put_config(c, bucket, vec![expire, by_tag])
            .await
            .expect("PutBucketLifecycle");
        let got = get_config(c, bucket).await;
        let tag = got.rules()[1].filter().and_then(|f| f.tag());
        assert_eq!(tag.map(|t| (t.key(), t.value())), Some(("tier", "tmp")));

        let keys = until_job_done(|| list_keys(c, bucket), |keys| keys.len() <= 3).await;
        assert_eq!(
            keys,
            vec!["expire/big", "keep/c", "tagged/plain"],
            "the job deleted exactly the covered objects"
        );
    })
    .await
}

#[tokio::test]
async fn versioned_rules_are_validated_and_lone_markers_expire() {
    with_versioned_bucket("lc-markers", async |c, bucket| {
        let with_days = expiring(rule("both", ""), |e| {
            e.days(3).expired_object_delete_marker(true)
        });
        let refused = put_config(c, bucket, vec![with_days]).await;
        assert_eq!(refused, Err((400, "MalformedXML".into())));
        let newer = noncurrent(rule("newer", ""), 1, Some(2));
        let refused = put_config(c, bucket, vec![newer]).await;
        assert_eq!(refused, Err((501, "NotImplemented".into())));
        let old = noncurrent(rule("old", ""), 30, None);
        let markers = expiring(rule("markers", "gone/"), |e| {
            e.expired_object_delete_marker(true)
        });
        put_config(c, bucket, vec![old, markers])
            .await
            .expect("PutBucketLifecycle");
        let got = get_config(c, bucket).await;
        let rules = got.rules();
        let days = rules[0].noncurrent_version_expiration();
        assert_eq!(days.and_then(|n| n.noncurrent_days()), Some(30));
        let expiration = rules[1].expiration();
        let markers = expiration.and_then(|e| e.expired_object_delete_marker());
        assert_eq!(markers, Some(true));
        if !target().in_process {
            eprintln!("the job itself is checked only where it runs every few seconds");
            return;
        }
        // A marker with an older version under it stays; a lone one goes.
        put_version(c, bucket, "gone/kept", b"data").await;
        for key in ["gone/kept", "gone/lone"] {
            delete_object(c, bucket, key).await;
        }
        let markers = until_job_done(
            || async {
                let listed = c.list_object_versions().bucket(bucket).send().await;
                let listed = listed.expect("ListObjectVersions");
                let markers = listed.delete_markers().iter();
                let keys = markers.filter_map(|m| m.key().map(str::to_string));
                keys.collect::<Vec<String>>()
            },
            |markers| markers.len() <= 1,
        )
        .await;
        assert_eq!(markers, vec!["gone/kept"], "only the lone marker expired");
    })
    .await
}
