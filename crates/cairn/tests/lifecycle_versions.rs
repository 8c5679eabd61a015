//! The lifecycle job on a bucket with versioning, on an in-process `cairn
//! server`, with the pass run directly at chosen clock readings (rules count
//! in days): noncurrent versions go `NoncurrentDays` after a newer version
//! replaced them, current objects past `Expiration` get a delete marker
//! (their data stays as a noncurrent version), a delete marker left alone
//! goes under `ExpiredObjectDeleteMarker`, and nothing outside the rules'
//! prefixes is touched.

use cairn_testkit::*;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, VersioningConfiguration,
};
use cairn_types::now_millis;
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;
/// How long the whole test may take.
const TEST_DEADLINE: Duration = Duration::from_secs(120);
/// Far beyond the test: the server's own job must not run while we do.
const JOB_INTERVAL_SECS: u64 = 24 * 3600;

fn rule(id: &str, prefix: &str) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
}

/// (key, version id, is a delete marker) of every version, in listing order.
async fn versions(c: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String, bool)> {
    let out = c
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectVersions");
    let mut all: Vec<(String, String, bool)> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap_or_default().to_string(),
                v.version_id().unwrap_or_default().to_string(),
                false,
            )
        })
        .chain(out.delete_markers().iter().map(|m| {
            (
                m.key().unwrap_or_default().to_string(),
                m.version_id().unwrap_or_default().to_string(),
                true,
            )
        }))
        .collect();
    all.sort();
    all
}

#[test]
fn lifecycle_expires_noncurrent_versions_and_lone_markers() {
    let rt = runtime();
    let server = Cluster::builder()
        .configure(|c| c.meta.lifecycle_interval_secs = JOB_INTERVAL_SECS)
        .start();
    let c = server.client();
    let meta = server.meta_client();
    rt.block_on(async {
        within(TEST_DEADLINE, "the test", async {
            // A bucket that never had versioning: its expiries count too.
            let plain = "lc-plain";
            c.create_bucket()
                .bucket(plain)
                .send()
                .await
                .expect("CreateBucket");
            put_bytes(&c, plain, "p/k", b"plain").await;
            let plain_rule = BucketLifecycleConfiguration::builder()
                .rules(
                    rule("plain", "p/")
                        .expiration(LifecycleExpiration::builder().days(1).build())
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("configuration");
            c.put_bucket_lifecycle_configuration()
                .bucket(plain)
                .lifecycle_configuration(plain_rule)
                .send()
                .await
                .expect("PutBucketLifecycle");

            let bucket = "lc-versions";
            c.create_bucket()
                .bucket(bucket)
                .send()
                .await
                .expect("CreateBucket");
            c.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("PutBucketVersioning");
            let mut ids = std::collections::HashMap::new();
            for (key, n) in [("old/k", 3), ("keep/k", 2), ("cur/k", 1)] {
                for i in 0..n {
                    let body = format!("{key} v{i}");
                    let out = put_bytes(&c, bucket, key, body.as_bytes()).await;
                    ids.insert((key, i), out.version_id().expect("version id").to_string());
                }
            }
            // A key whose only version is a delete marker.
            let marker = c
                .delete_object()
                .bucket(bucket)
                .key("gone/k")
                .send()
                .await
                .expect("DeleteObject");
            assert_eq!(marker.delete_marker(), Some(true));

            let config = BucketLifecycleConfiguration::builder()
                .rules(
                    rule("old", "old/")
                        .noncurrent_version_expiration(
                            NoncurrentVersionExpiration::builder()
                                .noncurrent_days(1)
                                .build(),
                        )
                        .build()
                        .expect("rule"),
                )
                .rules(
                    rule("cur", "cur/")
                        .expiration(LifecycleExpiration::builder().days(1).build())
                        .build()
                        .expect("rule"),
                )
                .rules(
                    rule("gone", "gone/")
                        .expiration(
                            LifecycleExpiration::builder()
                                .expired_object_delete_marker(true)
                                .build(),
                        )
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("configuration");
            c.put_bucket_lifecycle_configuration()
                .bucket(bucket)
                .lifecycle_configuration(config)
                .send()
                .await
                .expect("PutBucketLifecycle");
            let got = c
                .get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
                .await
                .expect("GetBucketLifecycle");
            let gone_rule = got
                .rules()
                .iter()
                .find(|r| r.id() == Some("gone"))
                .expect("rule");
            assert_eq!(
                gone_rule
                    .expiration()
                    .and_then(|e| e.expired_object_delete_marker()),
                Some(true)
            );
            let before = versions(&c, bucket).await;
            assert_eq!(before.len(), 3 + 2 + 1 + 1);

            // Today: only the lone marker goes (it needs no time).
            let report = cairn_meta::lifecycle::run_pass(&meta, now_millis())
                .await
                .expect("pass");
            assert_eq!(
                (
                    report.markers_removed,
                    report.versions_expired,
                    report.objects_expired
                ),
                (1, 0, 0)
            );
            let today = versions(&c, bucket).await;
            assert!(today.iter().all(|(k, _, _)| k != "gone/k"));
            assert_eq!(today.len(), before.len() - 1);

            // Three days on: old/k keeps only its latest; cur/k is hidden by
            // a marker with its data kept; keep/k is untouched.
            let later = now_millis() + 3 * DAY_MS;
            let report = cairn_meta::lifecycle::run_pass(&meta, later)
                .await
                .expect("pass");
            assert_eq!((report.versions_expired, report.objects_expired), (2, 2));
            let left = c
                .list_objects_v2()
                .bucket(plain)
                .send()
                .await
                .expect("list");
            assert_eq!(
                left.key_count(),
                Some(0),
                "the plain bucket's object expired"
            );
            let after = versions(&c, bucket).await;
            let of = |key: &str| -> Vec<(String, bool)> {
                after
                    .iter()
                    .filter(|(k, _, _)| k == key)
                    .map(|(_, v, m)| (v.clone(), *m))
                    .collect()
            };
            assert_eq!(of("old/k"), vec![(ids[&("old/k", 2)].clone(), false)]);
            assert_eq!(of("keep/k").len(), 2);
            let cur = of("cur/k");
            assert_eq!(cur.len(), 2);
            assert!(cur.contains(&(ids[&("cur/k", 0)].clone(), false)));
            assert!(cur.iter().any(|(_, m)| *m), "a marker hides cur/k");
            let hidden = c.get_object().bucket(bucket).key("cur/k").send().await;
            assert!(hidden.is_err(), "cur/k is expired");
            let kept = c
                .get_object()
                .bucket(bucket)
                .key("cur/k")
                .version_id(&ids[&("cur/k", 0)])
                .send()
                .await
                .expect("the expired version stays readable by id")
                .body
                .collect()
                .await
                .expect("body")
                .into_bytes();
            assert_eq!(&kept[..], b"cur/k v0");
            // Another pass at the same reading finds nothing more to do.
            let report = cairn_meta::lifecycle::run_pass(&meta, later)
                .await
                .expect("pass");
            assert!(!report.acted(), "{report:?}");
        })
        .await;
    });
    server.shutdown().expect("shutdown");
}
