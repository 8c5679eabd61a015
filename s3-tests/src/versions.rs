//! Helpers for the bucket versioning tests: turning versioning on, writes
//! and reads that report version ids, deletes by version id, whole
//! ListObjectVersions listings (through every page), raw requests naming a
//! version, and [`purge`], which removes every version and delete marker of
//! a bucket by id and then the bucket itself.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Delete, ObjectIdentifier, VersioningConfiguration,
};

use crate::ops::get_with;
use crate::raw::{RawResponse, encode_key, raw_signed};
use crate::util::{bounded, collect_body, create_bucket};
use cairn_testkit::put_bytes;

/// Bytes of a random (well-formed) cairn version id (hex-encoded: 32 digits).
pub const VERSION_ID_BYTES: usize = 16;
/// Entries one DeleteObjects call removes when purging (S3's limit).
pub const DELETE_BATCH: usize = 1000;

/// One entry of ListObjectVersions: an object version or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub version_id: String,
    pub is_latest: bool,
    /// None for a delete marker.
    pub etag: Option<String>,
}

/// What ListObjectVersions answered (every page).
#[derive(Debug, Default)]
pub struct Listing {
    pub versions: Vec<Entry>,
    pub markers: Vec<Entry>,
    pub prefixes: Vec<String>,
}

pub async fn set_versioning(c: &Client, bucket: &str, status: BucketVersioningStatus) {
    c.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("PutBucketVersioning");
}

pub async fn versioned_bucket(c: &Client, prefix: &str) -> String {
    let bucket = create_bucket(c, prefix).await;
    set_versioning(c, &bucket, BucketVersioningStatus::Enabled).await;
    bucket
}

/// A test against a fresh bucket with versioning enabled: runs `body` with
/// a default client within the test timeout, then [`purge`]s the bucket.
pub async fn with_versioned_bucket(prefix: &str, body: impl AsyncFnOnce(&Client, &str)) {
    bounded(async {
        let c = crate::client();
        let bucket = versioned_bucket(&c, prefix).await;
        body(&c, &bucket).await;
        purge(&c, &bucket).await;
    })
    .await
}

/// PutObject; answers the version id it reported.
pub async fn put(c: &Client, bucket: &str, key: &str, data: &[u8]) -> Option<String> {
    let out = put_bytes(c, bucket, key, data).await;
    out.version_id().map(str::to_owned)
}

/// PutObject in a bucket with versioning enabled: a version id, not `null`.
pub async fn put_version(c: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    let v = put(c, bucket, key, data)
        .await
        .expect("PutObject answers a version id");
    assert!(!v.is_empty() && v != "null", "version id {v:?}");
    v
}

/// GetObject (of `version`, or the current one): body, version id, ETag.
pub async fn get(
    c: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (Vec<u8>, Option<String>, Option<String>) {
    let version = version.map(str::to_owned);
    let out = get_with(c, bucket, key, |r| r.set_version_id(version)).await;
    let version_id = out.version_id().map(str::to_owned);
    let etag = out.e_tag().map(str::to_owned);
    (collect_body(out).await, version_id, etag)
}

/// DeleteObject (of `version`, or the current object): DeleteMarker and VersionId.
pub async fn delete(
    c: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (Option<bool>, Option<String>) {
    let out = c
        .delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .expect("DeleteObject");
    (out.delete_marker(), out.version_id().map(str::to_owned))
}

/// One page of ListObjectVersions.
pub async fn list_page(
    c: &Client,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    markers: (Option<String>, Option<String>),
    max_keys: Option<i32>,
) -> ListObjectVersionsOutput {
    c.list_object_versions()
        .bucket(bucket)
        .set_prefix(prefix.map(str::to_owned))
        .set_delimiter(delimiter.map(str::to_owned))
        .set_key_marker(markers.0)
        .set_version_id_marker(markers.1)
        .set_max_keys(max_keys)
        .send()
        .await
        .expect("ListObjectVersions")
}

impl Entry {
    /// An entry from what a listing answered, which must name all of it.
    fn listed(
        key: Option<&str>,
        id: Option<&str>,
        latest: Option<bool>,
        etag: Option<&str>,
    ) -> Self {
        Entry {
            key: key.expect("Key").to_owned(),
            version_id: id.expect("VersionId").to_owned(),
            is_latest: latest.expect("IsLatest"),
            etag: etag.map(str::to_owned),
        }
    }
}

/// The object versions and the delete markers of one listing page.
pub fn entries_of(page: &ListObjectVersionsOutput) -> (Vec<Entry>, Vec<Entry>) {
    let versions = page.versions().iter().map(|v| {
        let etag = v.e_tag().expect("ETag");
        Entry::listed(v.key(), v.version_id(), v.is_latest(), Some(etag))
    });
    let markers = page.delete_markers().iter();
    let markers = markers.map(|m| Entry::listed(m.key(), m.version_id(), m.is_latest(), None));
    (versions.collect(), markers.collect())
}

/// Every version and delete marker under `prefix`, through every page of `page_size`.
pub async fn list_all(
    c: &Client,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    page_size: Option<i32>,
) -> Listing {
    let mut listing = Listing::default();
    let mut markers = (None, None);
    loop {
        let page = list_page(c, bucket, prefix, delimiter, markers, page_size).await;
        let (versions, dms) = entries_of(&page);
        let listed = versions.len() + dms.len() + page.common_prefixes().len();
        if let Some(max) = page_size {
            assert!(listed <= max as usize, "a page of {max} held {listed}");
        }
        listing.versions.extend(versions);
        listing.markers.extend(dms);
        listing.prefixes.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        if page.is_truncated() != Some(true) {
            assert_eq!(
                page.next_key_marker(),
                None,
                "NextKeyMarker of the last page"
            );
            assert_eq!(
                page.next_version_id_marker(),
                None,
                "NextVersionIdMarker of the last page"
            );
            return listing;
        }
        assert!(listed > 0, "a truncated page lists something");
        let next_key = page
            .next_key_marker()
            .expect("NextKeyMarker of a truncated page");
        markers = (
            Some(next_key.to_owned()),
            page.next_version_id_marker().map(str::to_owned),
        );
    }
}

/// Deletes every version and delete marker by id, checks none is left, and
/// deletes the bucket (which must then succeed).
pub async fn purge(c: &Client, bucket: &str) {
    let all = list_all(c, bucket, None, None, None).await;
    let ids: Vec<ObjectIdentifier> = all
        .versions
        .iter()
        .chain(&all.markers)
        .map(|e| {
            ObjectIdentifier::builder()
                .key(&e.key)
                .version_id(&e.version_id)
                .build()
                .expect("identifier")
        })
        .collect();
    for batch in ids.chunks(DELETE_BATCH) {
        let out = c
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(batch.to_vec()))
                    .quiet(true)
                    .build()
                    .expect("delete"),
            )
            .send()
            .await
            .expect("DeleteObjects");
        assert!(out.errors().is_empty(), "purge errors: {:?}", out.errors());
    }
    let left = list_all(c, bucket, None, None, None).await;
    assert!(
        left.versions.is_empty() && left.markers.is_empty(),
        "left after purge: {left:?}"
    );
    c.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("DeleteBucket after purge");
}

/// A raw signed request on `key` with `?versionId=` when given.
pub async fn raw(method: &str, bucket: &str, key: &str, version: Option<&str>) -> RawResponse {
    let query = version
        .map(|v| format!("?versionId={v}"))
        .unwrap_or_default();
    raw_signed(method, format!("/{bucket}/{}{query}", encode_key(key))).await
}
