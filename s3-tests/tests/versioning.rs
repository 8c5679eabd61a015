//! Bucket versioning: Put/GetBucketVersioning, version ids on writes and
//! reads, delete markers (and the 404/405 answers with their headers),
//! deletes by version id and what becomes current, the `null` version of
//! objects written before versioning or while it is suspended, version ids
//! S3 does not know or cannot parse, and ListObjectVersions (order, flags,
//! prefixes, paging). `versioning_ops` covers the other operations that take
//! a `versionId`. Every test removes every version it made by id, then its
//! bucket.

use std::collections::BTreeSet;

use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::primitives::DateTimeFormat;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
use cairn_s3_tests::versions::*;
use cairn_s3_tests::*;

/// A versioning configuration without a Status (the SDK will not send one).
const NO_STATUS: &[u8] =
    br#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></VersioningConfiguration>"#;

#[tokio::test]
async fn bucket_versioning_configuration() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "ver-config").await;
        let status = |out: GetBucketVersioningOutput| out.status().cloned();
        let get = || c.get_bucket_versioning().bucket(&bucket).send();
        assert_eq!(
            status(get().await.expect("Get")),
            None,
            "a new bucket has no Status"
        );
        set_versioning(&c, &bucket, BucketVersioningStatus::Enabled).await;
        assert_eq!(
            status(get().await.expect("Get")),
            Some(BucketVersioningStatus::Enabled)
        );
        set_versioning(&c, &bucket, BucketVersioningStatus::Suspended).await;
        assert_eq!(
            status(get().await.expect("Get")),
            Some(BucketVersioningStatus::Suspended)
        );

        let put = |config: VersioningConfiguration| {
            c.put_bucket_versioning()
                .bucket(&bucket)
                .versioning_configuration(config)
                .send()
        };
        let bogus = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::from("Bogus"))
            .build();
        expect_s3_error(put(bogus).await, "MalformedXML", 400);
        let mfa = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .mfa_delete(MfaDelete::Enabled)
            .build();
        expect_s3_error(put(mfa).await, "NotImplemented", 501);
        let mfa_off = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .mfa_delete(MfaDelete::Disabled)
            .build();
        put(mfa_off).await.expect("MfaDelete Disabled is fine");
        assert_eq!(
            status(get().await.expect("Get")),
            Some(BucketVersioningStatus::Enabled)
        );

        let body = NO_STATUS.to_vec();
        let request = RawRequest::new("PUT", format!("/{bucket}?versioning"))
            .header("content-md5", content_md5(&body))
            .body(body);
        let response = send_raw(request).await;
        assert_raw_error(&response, "MalformedXML", 400);
        assert_eq!(
            status(get().await.expect("Get")),
            Some(BucketVersioningStatus::Enabled),
            "unchanged by refused PUTs"
        );

        let missing = unique_bucket("ver-missing");
        expect_s3_error(
            c.get_bucket_versioning().bucket(&missing).send().await,
            "NoSuchBucket",
            404,
        );
        let enabled = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        expect_s3_error(
            c.put_bucket_versioning()
                .bucket(&missing)
                .versioning_configuration(enabled)
                .send()
                .await,
            "NoSuchBucket",
            404,
        );
        purge(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn every_put_makes_a_version() {
    with_versioned_bucket("ver-puts", async |c, bucket| {
        let (one, two) = (random_bytes(100), random_bytes(200));
        let v1 = put_version(c, bucket, "k", &one).await;
        let v2 = put_version(c, bucket, "k", &two).await;
        assert_ne!(v1, v2);
        for (v, data) in [(&v1, &one), (&v2, &two)] {
            let (body, version_id, etag) = get(c, bucket, "k", Some(v)).await;
            assert_eq!(body, *data, "GET of version {v}");
            assert_eq!(version_id.as_deref(), Some(v.as_str()));
            assert_eq!(etag, Some(etag_of(data)));
            let head = head_with(c, bucket, "k", |r| r.version_id(v)).await;
            assert_eq!(head.version_id(), Some(v.as_str()));
            assert_eq!(head.e_tag(), Some(etag_of(data).as_str()));
            assert_eq!(head.content_length(), Some(data.len() as i64));
        }
        let (body, version_id, _) = get(c, bucket, "k", None).await;
        assert_eq!(
            (body, version_id),
            (two.clone(), Some(v2.clone())),
            "GET without a version: the latest"
        );
        let head = raw("HEAD", bucket, "k", None).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("x-amz-version-id"), Some(v2.as_str()));
    })
    .await
}

#[tokio::test]
async fn delete_markers_hide_and_restore() {
    with_versioned_bucket("ver-marker", async |c, bucket| {
        let (one, two) = (random_bytes(64), random_bytes(65));
        let v1 = put_version(c, bucket, "k", &one).await;
        let v2 = put_version(c, bucket, "k", &two).await;
        put_version(c, bucket, "other", b"stays").await;

        let (is_marker, marker) = delete(c, bucket, "k", None).await;
        assert_eq!(
            is_marker,
            Some(true),
            "a delete without a version id makes a delete marker"
        );
        let marker = marker.expect("the marker's VersionId");
        assert!(
            marker != v1 && marker != v2 && marker != "null",
            "marker id {marker}"
        );

        let hidden = get_request(c, bucket, "k").send().await;
        expect_s3_error(hidden, "NoSuchKey", 404);
        for method in ["GET", "HEAD"] {
            let r = raw(method, bucket, "k", None).await;
            assert_eq!(r.status, 404, "{method} of a deleted key");
            assert_eq!(r.header("x-amz-delete-marker"), Some("true"), "{method}");
            assert_eq!(
                r.header("x-amz-version-id"),
                Some(marker.as_str()),
                "{method}"
            );
        }
        let keys = list_keys(c, bucket).await;
        assert_eq!(keys, ["other"], "a key under a delete marker is not listed");
        assert_eq!(
            get(c, bucket, "k", Some(&v1)).await.0,
            one,
            "old versions stay readable"
        );

        // The marker itself, named by id: 405 with its headers.
        let of_marker = get_request(c, bucket, "k").version_id(&marker).send().await;
        expect_s3_error(of_marker, "MethodNotAllowed", 405);
        let marker_entry = c
            .list_object_versions()
            .bucket(bucket)
            .prefix("k")
            .send()
            .await
            .expect("ListObjectVersions")
            .delete_markers()
            .first()
            .cloned()
            .expect("the delete marker is listed");
        assert_eq!(marker_entry.version_id(), Some(marker.as_str()));
        let marker_date = marker_entry
            .last_modified()
            .expect("LastModified")
            .fmt(DateTimeFormat::HttpDate)
            .expect("HTTP date");
        for method in ["GET", "HEAD"] {
            let r = raw(method, bucket, "k", Some(&marker)).await;
            assert_eq!(r.status, 405, "{method} of the marker by id");
            assert_eq!(r.header("x-amz-delete-marker"), Some("true"), "{method}");
            assert_eq!(
                r.header("x-amz-version-id"),
                Some(marker.as_str()),
                "{method}"
            );
            assert_eq!(
                r.header("last-modified"),
                Some(marker_date.as_str()),
                "{method}"
            );
        }

        // Deleting the marker by id brings the object back.
        assert_eq!(
            delete(c, bucket, "k", Some(&marker)).await,
            (Some(true), Some(marker.clone()))
        );
        let (body, version_id, _) = get(c, bucket, "k", None).await;
        assert_eq!((body, version_id), (two, Some(v2)));
    })
    .await
}

#[tokio::test]
async fn deleting_the_latest_version_promotes_the_previous() {
    with_versioned_bucket("ver-promote", async |c, bucket| {
        let (one, two) = (random_bytes(10), random_bytes(11));
        let v1 = put_version(c, bucket, "k", &one).await;
        let v2 = put_version(c, bucket, "k", &two).await;
        assert_eq!(
            delete(c, bucket, "k", Some(&v2)).await,
            (None, Some(v2.clone()))
        );
        let (body, version_id, _) = get(c, bucket, "k", None).await;
        assert_eq!((body, version_id), (one.clone(), Some(v1.clone())));
        let deleted = get_request(c, bucket, "k").version_id(&v2).send().await;
        expect_s3_error(deleted, "NoSuchVersion", 404);
        let listed = list_all(c, bucket, None, None, None).await;
        assert_eq!(
            listed.versions,
            [Entry {
                key: "k".into(),
                version_id: v1,
                is_latest: true,
                etag: Some(etag_of(&one))
            }]
        );
        assert!(listed.markers.is_empty());
    })
    .await
}

#[tokio::test]
async fn list_object_versions_orders_and_flags() {
    with_versioned_bucket("ver-list", async |c, bucket| {
        let a1 = put_version(c, bucket, "a", b"a1").await;
        let a2 = put_version(c, bucket, "a", b"a2").await;
        let b1 = put_version(c, bucket, "b", b"b1").await;
        let (_, bm) = delete(c, bucket, "b", None).await;
        let bm = bm.expect("marker id");
        let x1 = put_version(c, bucket, "dir/x", b"x1").await;
        let y1 = put_version(c, bucket, "dir/y", b"y1").await;
        let v = |key: &str, id: &str, latest: bool, data: &[u8]| Entry {
            key: key.into(),
            version_id: id.into(),
            is_latest: latest,
            etag: Some(etag_of(data)),
        };
        let all = list_all(c, bucket, None, None, None).await;
        assert_eq!(
            all.versions,
            [
                v("a", &a2, true, b"a2"),
                v("a", &a1, false, b"a1"),
                v("b", &b1, false, b"b1"),
                v("dir/x", &x1, true, b"x1"),
                v("dir/y", &y1, true, b"y1"),
            ],
            "keys ascending, versions newest first"
        );
        assert_eq!(
            all.markers,
            [Entry {
                key: "b".into(),
                version_id: bm,
                is_latest: true,
                etag: None
            }]
        );
        let page = list_page(c, bucket, None, None, (None, None), None).await;
        assert_eq!(page.name(), Some(bucket));
        assert_eq!(page.max_keys(), Some(1000));
        assert!(
            page.versions()
                .iter()
                .all(|o| o.size().is_some() && o.owner().is_some())
        );

        let rooted = list_all(c, bucket, None, Some("/"), None).await;
        assert_eq!(rooted.prefixes, ["dir/"]);
        let keys: BTreeSet<String> = rooted
            .versions
            .iter()
            .chain(&rooted.markers)
            .map(|e| e.key.clone())
            .collect();
        assert_eq!(keys, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
        let dir = list_all(c, bucket, Some("dir/"), Some("/"), None).await;
        assert_eq!(
            dir.versions,
            [v("dir/x", &x1, true, b"x1"), v("dir/y", &y1, true, b"y1")]
        );
        assert!(dir.prefixes.is_empty() && dir.markers.is_empty());

        let bad_marker = c
            .list_object_versions()
            .bucket(bucket)
            .version_id_marker(&a1)
            .send()
            .await;
        expect_s3_error(bad_marker, "InvalidArgument", 400);
        let bad_id = c
            .list_object_versions()
            .bucket(bucket)
            .key_marker("a")
            .version_id_marker("nope")
            .send()
            .await;
        expect_s3_error(bad_id, "InvalidArgument", 400);
        expect_s3_error(
            c.list_object_versions()
                .bucket(bucket)
                .max_keys(-1)
                .send()
                .await,
            "InvalidArgument",
            400,
        );
        let none = list_page(c, bucket, None, None, (None, None), Some(0)).await;
        assert!(none.versions().is_empty() && none.delete_markers().is_empty());
    })
    .await
}

#[tokio::test]
async fn list_object_versions_pages_through_markers() {
    with_versioned_bucket("ver-pages", async |c, bucket| {
        // Each key's version ids, newest first.
        let mut expected: Vec<(String, Vec<String>)> = Vec::new();
        for key in ["k1", "k2", "k3"] {
            let mut ids = Vec::new();
            for n in 0..3 {
                ids.insert(
                    0,
                    put_version(c, bucket, key, format!("{key}-{n}").as_bytes()).await,
                );
            }
            expected.push((key.to_owned(), ids));
        }
        let (_, marker) = delete(c, bucket, "k2", None).await;
        let marker = marker.expect("marker id");
        let k2_latest = put_version(c, bucket, "k2", b"after the marker").await;
        let whole = list_all(c, bucket, None, None, None).await;
        let mut versions = expected.clone();
        versions[1].1.insert(0, k2_latest.clone());
        let listed: Vec<(String, String)> = whole
            .versions
            .iter()
            .map(|e| (e.key.clone(), e.version_id.clone()))
            .collect();
        let wanted: Vec<(String, String)> = versions
            .iter()
            .flat_map(|(k, ids)| ids.iter().map(move |id| (k.clone(), id.clone())))
            .collect();
        assert_eq!(listed, wanted, "keys ascending, versions newest first");
        assert_eq!(whole.markers.len(), 1);
        assert_eq!(whole.markers[0].version_id, marker);
        assert!(!whole.markers[0].is_latest, "the marker was overwritten");
        for size in [1, 2, 3] {
            let paged = list_all(c, bucket, None, None, Some(size)).await;
            assert_eq!(
                paged.versions, whole.versions,
                "pages of {size}: every version once, in order"
            );
            assert_eq!(
                paged.markers, whole.markers,
                "pages of {size}: the marker once"
            );
        }
        // A page that ends at the delete marker (k1's 3, k2's latest, the
        // marker): the next starts right after it.
        let first = list_page(c, bucket, None, None, (None, None), Some(5)).await;
        assert_eq!(first.is_truncated(), Some(true));
        assert_eq!(first.next_key_marker(), Some("k2"));
        assert_eq!(first.next_version_id_marker(), Some(marker.as_str()));
        let rest = list_page(
            c,
            bucket,
            None,
            None,
            (Some("k2".to_owned()), Some(marker.clone())),
            None,
        )
        .await;
        let (rest_versions, rest_markers) = entries_of(&rest);
        assert!(rest_markers.is_empty());
        let rest_ids: Vec<String> = rest_versions.into_iter().map(|e| e.version_id).collect();
        let after: Vec<String> = expected[1]
            .1
            .iter()
            .chain(&expected[2].1)
            .cloned()
            .collect();
        assert_eq!(rest_ids, after);
        // A key marker alone starts after every version of that key.
        let after_k2 = list_page(c, bucket, None, None, (Some("k2".to_owned()), None), None).await;
        let keys: BTreeSet<String> = entries_of(&after_k2).0.into_iter().map(|e| e.key).collect();
        assert_eq!(keys, BTreeSet::from(["k3".to_owned()]));
    })
    .await
}

#[tokio::test]
async fn objects_from_before_versioning_are_the_null_version() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "ver-null").await;
        let old = random_bytes(33);
        assert_eq!(
            put(&c, &bucket, "k", &old).await,
            None,
            "no version id before versioning"
        );
        let (_, version_id, _) = get(&c, &bucket, "k", None).await;
        assert_eq!(version_id, None);
        let r = raw("GET", &bucket, "k", None).await;
        assert_eq!(r.header("x-amz-version-id"), None);

        set_versioning(&c, &bucket, BucketVersioningStatus::Enabled).await;
        let (_, version_id, _) = get(&c, &bucket, "k", None).await;
        assert_eq!(
            version_id.as_deref(),
            Some("null"),
            "once enabled, the old object is the null version"
        );
        let new = random_bytes(34);
        let v = put_version(&c, &bucket, "k", &new).await;
        let listed = list_all(&c, &bucket, None, None, None).await;
        assert_eq!(
            listed.versions,
            [
                Entry {
                    key: "k".into(),
                    version_id: v.clone(),
                    is_latest: true,
                    etag: Some(etag_of(&new))
                },
                Entry {
                    key: "k".into(),
                    version_id: "null".into(),
                    is_latest: false,
                    etag: Some(etag_of(&old))
                },
            ]
        );
        let (body, version_id, _) = get(&c, &bucket, "k", Some("null")).await;
        assert_eq!((body, version_id.as_deref()), (old, Some("null")));
        assert_eq!(get(&c, &bucket, "k", None).await.0, new);
        purge(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn suspended_writes_replace_the_null_version() {
    with_versioned_bucket("ver-suspend", async |c, bucket| {
        let kept = random_bytes(20);
        let e1 = put_version(c, bucket, "k", &kept).await;
        set_versioning(c, bucket, BucketVersioningStatus::Suspended).await;
        let (s1, s2) = (random_bytes(21), random_bytes(22));
        assert_eq!(put(c, bucket, "k", &s1).await.as_deref(), Some("null"));
        assert_eq!(put(c, bucket, "k", &s2).await.as_deref(), Some("null"));
        let listed = list_all(c, bucket, None, None, None).await;
        assert_eq!(
            listed.versions,
            [
                Entry {
                    key: "k".into(),
                    version_id: "null".into(),
                    is_latest: true,
                    etag: Some(etag_of(&s2))
                },
                Entry {
                    key: "k".into(),
                    version_id: e1.clone(),
                    is_latest: false,
                    etag: Some(etag_of(&kept))
                },
            ],
            "one null version (the second suspended PUT), the enabled-era version kept"
        );
        assert_eq!(get(c, bucket, "k", Some("null")).await.0, s2);
        assert_eq!(get(c, bucket, "k", Some(&e1)).await.0, kept);

        // A delete while suspended: a null delete marker replaces the null version.
        assert_eq!(
            delete(c, bucket, "k", None).await,
            (Some(true), Some("null".to_owned()))
        );
        let listed = list_all(c, bucket, None, None, None).await;
        assert_eq!(
            listed.markers,
            [Entry {
                key: "k".into(),
                version_id: "null".into(),
                is_latest: true,
                etag: None
            }]
        );
        assert_eq!(
            listed.versions,
            [Entry {
                key: "k".into(),
                version_id: e1,
                is_latest: false,
                etag: Some(etag_of(&kept))
            }]
        );
    })
    .await
}

#[tokio::test]
async fn unknown_and_malformed_version_ids() {
    with_versioned_bucket("ver-ids", async |c, bucket| {
        put_version(c, bucket, "k", b"data").await;
        let unknown = hex::encode(random_bytes(VERSION_ID_BYTES));
        let of_unknown = get_request(c, bucket, "k")
            .version_id(&unknown)
            .send()
            .await;
        expect_s3_error(of_unknown, "NoSuchVersion", 404);
        let tags = c.get_object_tagging().bucket(bucket).key("k");
        expect_s3_error(tags.version_id(&unknown).send().await, "NoSuchVersion", 404);
        let acl = c.get_object_acl().bucket(bucket).key("k");
        expect_s3_error(acl.version_id(&unknown).send().await, "NoSuchVersion", 404);
        for bad in ["nope", "NULL", "12345"] {
            let get = get_request(c, bucket, "k").version_id(bad).send().await;
            expect_s3_error(get, "InvalidArgument", 400);
            let delete = c.delete_object().bucket(bucket).key("k").version_id(bad);
            expect_s3_error(delete.send().await, "InvalidArgument", 400);
            assert_eq!(
                raw("HEAD", bucket, "k", Some(bad)).await.status,
                400,
                "HEAD ?versionId={bad}"
            );
        }
        // Deleting a version that does not exist changes nothing and succeeds.
        assert_eq!(
            delete(c, bucket, "k", Some(&unknown)).await.1,
            Some(unknown)
        );
        assert_eq!(get(c, bucket, "k", None).await.0, b"data");
    })
    .await
}
