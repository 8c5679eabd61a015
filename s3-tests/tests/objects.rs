//! Object basics: PutObject / GetObject / HeadObject with system and user
//! metadata, ETags, sizes from 0 bytes to many MiB, overwrites, response header
//! overrides, DeleteObject and DeleteObjects, and awkward keys.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use cairn_s3_tests::*;

const SMALL_SIZE: usize = KIB;
const LARGE_SIZE: usize = 20 * MIB;
/// The overwritten version spans several chunks.
const FIRST_VERSION_SIZE: usize = 3 * MIB;
/// ETag of the empty body.
const EMPTY_ETAG: &str = "\"d41d8cd98f00b204e9800998ecf8427e\"";
/// How far LastModified may be from the test's clock.
const CLOCK_TOLERANCE: Duration = Duration::from_secs(300);
/// A fixed Expires value (whole seconds, as HTTP dates carry no fraction).
const EXPIRES_EPOCH_SECS: i64 = 1_893_456_000; // 2030-01-01T00:00:00Z

fn http_date_secs(value: Option<&str>) -> Option<i64> {
    value
        .and_then(|v| DateTime::from_str(v, DateTimeFormat::HttpDate).ok())
        .map(|d| d.secs())
}

async fn put(c: &Client, bucket: &str, key: &str, data: Vec<u8>) -> Option<String> {
    let out = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data))
        .send()
        .await;
    out.unwrap_or_else(|e| {
        panic!(
            "PutObject {key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        )
    })
    .e_tag()
    .map(str::to_owned)
}

async fn get(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = c.get_object().bucket(bucket).key(key).send().await;
    let out = out.unwrap_or_else(|e| {
        panic!(
            "GetObject {key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        )
    });
    collect_body(out).await
}

#[tokio::test]
async fn put_get_head_carry_system_and_user_metadata() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "meta").await;
        let data = random_bytes(SMALL_SIZE);
        let expires = DateTime::from_secs(EXPIRES_EPOCH_SECS);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("doc.txt")
            .body(ByteStream::from(data.clone()))
            .content_type("text/plain; charset=utf-8")
            .content_disposition("attachment; filename=\"doc.txt\"")
            .content_encoding("gzip")
            .content_language("en-GB")
            .cache_control("max-age=3600, must-revalidate")
            .expires(expires)
            .metadata("color", "blue")
            .metadata("multi-word-key", "value with spaces")
            .send()
            .await
            .expect("PutObject with metadata");
        assert_eq!(
            put.e_tag(),
            Some(etag_of(&data).as_str()),
            "PutObject ETag is the quoted MD5"
        );

        let head = c
            .head_object()
            .bucket(&bucket)
            .key("doc.txt")
            .send()
            .await
            .expect("HeadObject");
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("doc.txt")
            .send()
            .await
            .expect("GetObject");
        let expected_meta: HashMap<String, String> =
            [("color", "blue"), ("multi-word-key", "value with spaces")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();

        for (op, ct, cd, ce, cl, cc, ex, etag, len, meta) in [
            (
                "HeadObject",
                head.content_type(),
                head.content_disposition(),
                head.content_encoding(),
                head.content_language(),
                head.cache_control(),
                head.expires_string(),
                head.e_tag(),
                head.content_length(),
                head.metadata(),
            ),
            (
                "GetObject",
                got.content_type(),
                got.content_disposition(),
                got.content_encoding(),
                got.content_language(),
                got.cache_control(),
                got.expires_string(),
                got.e_tag(),
                got.content_length(),
                got.metadata(),
            ),
        ] {
            assert_eq!(ct, Some("text/plain; charset=utf-8"), "{op} Content-Type");
            assert_eq!(
                cd,
                Some("attachment; filename=\"doc.txt\""),
                "{op} Content-Disposition"
            );
            assert_eq!(ce, Some("gzip"), "{op} Content-Encoding");
            assert_eq!(cl, Some("en-GB"), "{op} Content-Language");
            assert_eq!(
                cc,
                Some("max-age=3600, must-revalidate"),
                "{op} Cache-Control"
            );
            assert_eq!(
                http_date_secs(ex),
                Some(EXPIRES_EPOCH_SECS),
                "{op} Expires (raw {ex:?})"
            );
            assert_eq!(etag, Some(etag_of(&data).as_str()), "{op} ETag");
            assert_eq!(len, Some(SMALL_SIZE as i64), "{op} Content-Length");
            assert_eq!(meta, Some(&expected_meta), "{op} x-amz-meta-*");
        }
        assert_eq!(collect_body(got).await, data, "GetObject body");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn default_content_type_and_last_modified() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "defaults").await;
        put(&c, &bucket, "plain", b"hello".to_vec()).await;
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("plain")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(head.content_length(), Some(5));
        assert!(
            head.content_type().is_some_and(|t| !t.is_empty()),
            "a Content-Type is always returned"
        );
        let modified = head.last_modified().expect("HeadObject has Last-Modified");
        let modified = SystemTime::try_from(*modified).expect("valid Last-Modified");
        let skew = SystemTime::now()
            .duration_since(modified)
            .unwrap_or_else(|e| e.duration());
        assert!(
            skew < CLOCK_TOLERANCE,
            "Last-Modified is {skew:?} away from now"
        );
        assert!(
            head.metadata().is_none_or(|m| m.is_empty()),
            "no user metadata was set: {:?}",
            head.metadata()
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn empty_object_round_trip() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "empty").await;
        let etag = put(&c, &bucket, "empty", Vec::new()).await;
        assert_eq!(etag.as_deref(), Some(EMPTY_ETAG));
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("empty")
            .send()
            .await
            .expect("GetObject empty");
        assert_eq!(got.content_length(), Some(0));
        assert_eq!(got.e_tag(), Some(EMPTY_ETAG));
        assert!(collect_body(got).await.is_empty());
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("empty")
            .send()
            .await
            .expect("HeadObject empty");
        assert_eq!(head.content_length(), Some(0));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn small_object_round_trip() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "small").await;
        let data = random_bytes(SMALL_SIZE);
        assert_eq!(
            put(&c, &bucket, "small.bin", data.clone()).await,
            Some(etag_of(&data))
        );
        assert_eq!(get(&c, &bucket, "small.bin").await, data);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn large_object_round_trip() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "large").await;
        let data = random_bytes(LARGE_SIZE);
        assert_eq!(
            put(&c, &bucket, "large.bin", data.clone()).await,
            Some(etag_of(&data))
        );
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("large.bin")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(head.content_length(), Some(LARGE_SIZE as i64));
        assert_eq!(head.e_tag(), Some(etag_of(&data).as_str()));
        let back = get(&c, &bucket, "large.bin").await;
        assert_eq!(back.len(), data.len(), "length read back");
        assert!(
            back == data,
            "20 MiB body differs (md5 {} vs {})",
            md5_hex(&back),
            md5_hex(&data)
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn overwrite_replaces_data_and_metadata() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "overwrite").await;
        let first = random_bytes(FIRST_VERSION_SIZE);
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from(first))
            .content_type("application/x-first")
            .metadata("generation", "1")
            .metadata("only-first", "yes")
            .send()
            .await
            .expect("first PutObject");
        let second = random_bytes(SMALL_SIZE);
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from(second.clone()))
            .content_type("application/x-second")
            .metadata("generation", "2")
            .send()
            .await
            .expect("second PutObject");
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("GetObject");
        assert_eq!(got.content_type(), Some("application/x-second"));
        assert_eq!(got.e_tag(), Some(etag_of(&second).as_str()));
        assert_eq!(got.content_length(), Some(second.len() as i64));
        let meta = got.metadata().cloned().unwrap_or_default();
        assert_eq!(meta.get("generation").map(String::as_str), Some("2"));
        assert!(
            !meta.contains_key("only-first"),
            "old metadata survived the overwrite: {meta:?}"
        );
        assert_eq!(collect_body(got).await, second);

        let listed = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        assert_eq!(listed.contents().len(), 1, "an overwrite leaves one object");
        assert_eq!(listed.contents()[0].size(), Some(second.len() as i64));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn get_object_response_header_overrides() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "overrides").await;
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"data"))
            .content_type("text/plain")
            .cache_control("no-cache")
            .send()
            .await
            .expect("PutObject");
        let expires = DateTime::from_secs(EXPIRES_EPOCH_SECS);
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .response_content_type("application/json")
            .response_content_disposition("attachment; filename=\"x.json\"")
            .response_cache_control("max-age=60")
            .response_content_language("fr")
            .response_content_encoding("identity")
            .response_expires(expires)
            .send()
            .await
            .expect("GetObject with response-* overrides");
        assert_eq!(got.content_type(), Some("application/json"));
        assert_eq!(
            got.content_disposition(),
            Some("attachment; filename=\"x.json\"")
        );
        assert_eq!(got.cache_control(), Some("max-age=60"));
        assert_eq!(got.content_language(), Some("fr"));
        assert_eq!(got.content_encoding(), Some("identity"));
        assert_eq!(
            http_date_secs(got.expires_string()),
            Some(EXPIRES_EPOCH_SECS),
            "raw {:?}",
            got.expires_string()
        );
        assert_eq!(collect_body(got).await, b"data");

        // The overrides affect only that response, not the stored object.
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(head.content_type(), Some("text/plain"));
        assert_eq!(head.cache_control(), Some("no-cache"));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn get_missing_key_is_no_such_key() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "nokey").await;
        let err = expect_s3_error(
            c.get_object().bucket(&bucket).key("missing").send().await,
            "NoSuchKey",
            404,
        );
        assert!(
            err.into_service_error().is_no_such_key(),
            "maps to the NoSuchKey variant"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn head_missing_key_is_404_without_body() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "nokey-head").await;
        let err = expect_s3_error(
            c.head_object().bucket(&bucket).key("missing").send().await,
            "NotFound",
            404,
        );
        assert!(err.into_service_error().is_not_found());
        let raw = target()
            .send_signed(RawRequest::new("HEAD", format!("/{bucket}/missing")))
            .await
            .expect("raw HEAD");
        assert_eq!(raw.status, 404);
        assert!(
            raw.body.is_empty(),
            "HEAD response carries a body: {:?}",
            raw.text()
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn delete_object_is_idempotent() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "delete").await;
        put(&c, &bucket, "k", b"v".to_vec()).await;
        c.delete_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("DeleteObject existing");
        expect_s3_error(
            c.get_object().bucket(&bucket).key("k").send().await,
            "NoSuchKey",
            404,
        );
        c.delete_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("DeleteObject again succeeds");
        c.delete_object()
            .bucket(&bucket)
            .key("never-existed")
            .send()
            .await
            .expect("DeleteObject of a missing key");
        let raw = target()
            .send_signed(RawRequest::new(
                "DELETE",
                format!("/{bucket}/never-existed"),
            ))
            .await
            .expect("raw");
        assert_eq!(raw.status, 204, "DeleteObject answers 204 No Content");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

fn delete_of(keys: &[&str], quiet: bool) -> Delete {
    let objects = keys
        .iter()
        .map(|k| {
            ObjectIdentifier::builder()
                .key(*k)
                .build()
                .expect("identifier")
        })
        .collect();
    Delete::builder()
        .set_objects(Some(objects))
        .quiet(quiet)
        .build()
        .expect("Delete")
}

#[tokio::test]
async fn delete_objects_reports_every_key_including_missing_ones() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "multidelete").await;
        for key in ["a", "b", "dir/c", "keep"] {
            put(&c, &bucket, key, key.as_bytes().to_vec()).await;
        }
        let out = c
            .delete_objects()
            .bucket(&bucket)
            .delete(delete_of(
                &["a", "b", "dir/c", "missing-1", "missing-2"],
                false,
            ))
            .send()
            .await
            .expect("DeleteObjects");
        let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
        deleted.sort_unstable();
        assert_eq!(
            deleted,
            ["a", "b", "dir/c", "missing-1", "missing-2"],
            "every requested key is reported deleted"
        );
        assert!(out.errors().is_empty(), "no errors: {:?}", out.errors());

        let listed = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(keys, ["keep"]);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn delete_objects_quiet_mode_reports_nothing() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "quietdelete").await;
        for key in ["x", "y"] {
            put(&c, &bucket, key, b"1".to_vec()).await;
        }
        let out = c
            .delete_objects()
            .bucket(&bucket)
            .delete(delete_of(&["x", "y", "absent"], true))
            .send()
            .await
            .expect("DeleteObjects quiet");
        assert!(
            out.deleted().is_empty(),
            "quiet mode lists no successes: {:?}",
            out.deleted()
        );
        assert!(out.errors().is_empty(), "no errors: {:?}", out.errors());
        let listed = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        assert_eq!(listed.key_count(), Some(0));
        assert!(listed.contents().is_empty());
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn awkward_keys_round_trip() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "keys").await;
        let keys = [
            "with space",
            "ünïcödé/€/😀",
            "plus+sign",
            "percent%20literal",
            "question?mark",
            "hash#tag",
            "amp&er=eq;semi",
            "dir//double-slash",
            "trailing/",
            "tilde~star*(paren)!",
            "quote'and\"double",
            "<angle>&amp",
            "comma,colon:at@dollar$",
        ];
        for key in keys {
            put(&c, &bucket, key, key.as_bytes().to_vec()).await;
        }
        for key in keys {
            assert_eq!(
                get(&c, &bucket, key).await,
                key.as_bytes(),
                "GetObject {key:?}"
            );
            let head = c.head_object().bucket(&bucket).key(key).send().await;
            assert!(head.is_ok(), "HeadObject {key:?}: {head:?}");
        }
        let listed = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        let listed: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
        let mut expected = keys.to_vec();
        expected.sort_unstable();
        assert_eq!(
            listed, expected,
            "ListObjectsV2 returns every key verbatim, in byte order"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
