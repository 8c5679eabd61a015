//! Object basics: PutObject / GetObject / HeadObject with system and user
//! metadata, ETags, sizes from 0 bytes to many MiB, overwrites, response header
//! overrides, DeleteObject and DeleteObjects, and awkward keys.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
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

/// PutObject; answers the ETag.
async fn put(c: &Client, bucket: &str, key: &str, data: &[u8]) -> Option<String> {
    put_bytes(c, bucket, key, data)
        .await
        .e_tag()
        .map(str::to_owned)
}

#[tokio::test]
async fn put_get_head_carry_system_and_user_metadata() {
    with_bucket("meta", async |c, bucket| {
        let data = random_bytes(SMALL_SIZE);
        let expires = DateTime::from_secs(EXPIRES_EPOCH_SECS);
        let put = put_with(c, bucket, "doc.txt", &data, |r| {
            r.content_type("text/plain; charset=utf-8")
                .content_disposition("attachment; filename=\"doc.txt\"")
                // Kept byte for byte, odd spacing and all.
                .content_encoding("gzip,  x-custom")
                .content_language("en-GB")
                .cache_control("max-age=3600, must-revalidate")
                .expires(expires)
                .metadata("color", "blue")
                .metadata("multi-word-key", "value with spaces")
        })
        .await;
        let etag = put.e_tag();
        let expected_etag = etag_of(&data);
        assert_eq!(
            etag,
            Some(expected_etag.as_str()),
            "PutObject ETag is the quoted MD5"
        );

        let head = head_object(c, bucket, "doc.txt").await;
        let got = get_object(c, bucket, "doc.txt").await;
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
            let disposition = Some("attachment; filename=\"doc.txt\"");
            assert_eq!(cd, disposition, "{op} Content-Disposition");
            assert_eq!(ce, Some("gzip,  x-custom"), "{op} Content-Encoding");
            assert_eq!(cl, Some("en-GB"), "{op} Content-Language");
            let cache_control = Some("max-age=3600, must-revalidate");
            assert_eq!(cc, cache_control, "{op} Cache-Control");
            let expires = http_date_secs(ex);
            assert_eq!(
                expires,
                Some(EXPIRES_EPOCH_SECS),
                "{op} Expires (raw {ex:?})"
            );
            assert_eq!(etag, Some(expected_etag.as_str()), "{op} ETag");
            assert_eq!(len, Some(SMALL_SIZE as i64), "{op} Content-Length");
            assert_eq!(meta, Some(&expected_meta), "{op} x-amz-meta-*");
        }
        assert_eq!(collect_body(got).await, data, "GetObject body");
    })
    .await
}

#[tokio::test]
async fn default_content_type_and_last_modified() {
    with_bucket("defaults", async |c, bucket| {
        put(c, bucket, "plain", b"hello").await;
        let head = head_object(c, bucket, "plain").await;
        assert_eq!(head.content_length(), Some(5));
        let content_type = head.content_type();
        let given = content_type.is_some_and(|t| !t.is_empty());
        assert!(given, "a Content-Type is always returned");
        let modified = head.last_modified().expect("HeadObject has Last-Modified");
        let modified = SystemTime::try_from(*modified).expect("valid Last-Modified");
        let skew = SystemTime::now()
            .duration_since(modified)
            .unwrap_or_else(|e| e.duration());
        let recent = skew < CLOCK_TOLERANCE;
        assert!(recent, "Last-Modified is {skew:?} away from now");
        assert!(
            head.metadata().is_none_or(|m| m.is_empty()),
            "no user metadata was set: {:?}",
            head.metadata()
        );
    })
    .await
}

#[tokio::test]
async fn empty_object_round_trip() {
    with_bucket("empty", async |c, bucket| {
        let etag = put(c, bucket, "empty", b"").await;
        assert_eq!(etag.as_deref(), Some(EMPTY_ETAG));
        let got = get_object(c, bucket, "empty").await;
        assert_eq!(got.content_length(), Some(0));
        assert_eq!(got.e_tag(), Some(EMPTY_ETAG));
        assert!(collect_body(got).await.is_empty());
        let head = head_object(c, bucket, "empty").await;
        assert_eq!(head.content_length(), Some(0));
    })
    .await
}

#[tokio::test]
async fn small_object_round_trip() {
    with_bucket("small", async |c, bucket| {
        let data = random_bytes(SMALL_SIZE);
        let etag = put(c, bucket, "small.bin", &data).await;
        assert_eq!(etag, Some(etag_of(&data)));
        assert_eq!(get_bytes(c, bucket, "small.bin").await, data);
    })
    .await
}

#[tokio::test]
async fn large_object_round_trip() {
    with_bucket("large", async |c, bucket| {
        let data = random_bytes(LARGE_SIZE);
        let etag = put(c, bucket, "large.bin", &data).await;
        assert_eq!(etag, Some(etag_of(&data)));
        let head = head_object(c, bucket, "large.bin").await;
        assert_eq!(head.content_length(), Some(LARGE_SIZE as i64));
        assert_eq!(head.e_tag(), Some(etag_of(&data).as_str()));
        let back = get_bytes(c, bucket, "large.bin").await;
        assert_eq!(back.len(), data.len(), "length read back");
        assert!(
            back == data,
            "20 MiB body differs (md5 {} vs {})",
            md5_hex(&back),
            md5_hex(&data)
        );
    })
    .await
}

#[tokio::test]
async fn overwrite_replaces_data_and_metadata() {
    with_bucket("overwrite", async |c, bucket| {
        let first = random_bytes(FIRST_VERSION_SIZE);
        put_with(c, bucket, "k", &first, |r| {
            r.content_type("application/x-first")
                .metadata("generation", "1")
                .metadata("only-first", "yes")
        })
        .await;
        let second = random_bytes(SMALL_SIZE);
        put_with(c, bucket, "k", &second, |r| {
            r.content_type("application/x-second")
                .metadata("generation", "2")
        })
        .await;
        let got = get_object(c, bucket, "k").await;
        assert_eq!(got.content_type(), Some("application/x-second"));
        assert_eq!(got.e_tag(), Some(etag_of(&second).as_str()));
        assert_eq!(got.content_length(), Some(second.len() as i64));
        let metadata = got.metadata().cloned().unwrap_or_default();
        assert_eq!(meta(Some(&metadata), "generation"), Some("2"));
        let dropped = !metadata.contains_key("only-first");
        assert!(dropped, "old metadata survived the overwrite: {metadata:?}");
        assert_eq!(collect_body(got).await, second);

        let listed = list_v2(c, bucket).await;
        let objects = listed.contents();
        assert_eq!(objects.len(), 1, "an overwrite leaves one object");
        assert_eq!(objects[0].size(), Some(second.len() as i64));
    })
    .await
}

#[tokio::test]
async fn get_object_response_header_overrides() {
    with_bucket("overrides", async |c, bucket| {
        put_with(c, bucket, "k", b"data", |r| {
            r.content_type("text/plain").cache_control("no-cache")
        })
        .await;
        let expires = DateTime::from_secs(EXPIRES_EPOCH_SECS);
        let got = get_with(c, bucket, "k", |r| {
            r.response_content_type("application/json")
                .response_content_disposition("attachment; filename=\"x.json\"")
                .response_cache_control("max-age=60")
                .response_content_language("fr")
                .response_content_encoding("identity")
                .response_expires(expires)
        })
        .await;
        assert_eq!(got.content_type(), Some("application/json"));
        let disposition = got.content_disposition();
        assert_eq!(disposition, Some("attachment; filename=\"x.json\""));
        assert_eq!(got.cache_control(), Some("max-age=60"));
        assert_eq!(got.content_language(), Some("fr"));
        assert_eq!(got.content_encoding(), Some("identity"));
        let raw_expires = got.expires_string();
        let expires = http_date_secs(raw_expires);
        assert_eq!(expires, Some(EXPIRES_EPOCH_SECS), "raw {raw_expires:?}");
        assert_eq!(collect_body(got).await, b"data");

        // The overrides affect only that response, not the stored object.
        let head = head_object(c, bucket, "k").await;
        assert_eq!(head.content_type(), Some("text/plain"));
        assert_eq!(head.cache_control(), Some("no-cache"));
    })
    .await
}

#[tokio::test]
async fn get_missing_key_is_no_such_key() {
    with_bucket("nokey", async |c, bucket| {
        let missing = get_request(c, bucket, "missing").send().await;
        let err = expect_s3_error(missing, "NoSuchKey", 404);
        let variant = err.into_service_error().is_no_such_key();
        assert!(variant, "maps to the NoSuchKey variant");
    })
    .await
}

#[tokio::test]
async fn head_missing_key_is_404_without_body() {
    with_bucket("nokey-head", async |c, bucket| {
        let missing = head_request(c, bucket, "missing").send().await;
        let err = expect_s3_error(missing, "NotFound", 404);
        assert!(err.into_service_error().is_not_found());
        let raw = raw_signed("HEAD", format!("/{bucket}/missing")).await;
        assert_eq!(raw.status, 404);
        let text = raw.text();
        assert!(
            raw.body.is_empty(),
            "HEAD response carries a body: {text:?}"
        );
    })
    .await
}

#[tokio::test]
async fn delete_object_is_idempotent() {
    with_bucket("delete", async |c, bucket| {
        put(c, bucket, "k", b"v").await;
        delete_object(c, bucket, "k").await;
        let gone = get_request(c, bucket, "k").send().await;
        expect_s3_error(gone, "NoSuchKey", 404);
        // Again, and of a key that never existed: both succeed.
        delete_object(c, bucket, "k").await;
        delete_object(c, bucket, "never-existed").await;
        let raw = raw_signed("DELETE", format!("/{bucket}/never-existed")).await;
        assert_eq!(raw.status, 204, "DeleteObject answers 204 No Content");
    })
    .await
}

/// DeleteObjects of `keys`, quietly or not.
async fn delete_keys(c: &Client, bucket: &str, keys: &[&str], quiet: bool) -> DeleteObjectsOutput {
    let objects = keys
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build())
        .collect::<Result<Vec<_>, _>>()
        .expect("identifier");
    let delete = Delete::builder().set_objects(Some(objects)).quiet(quiet);
    let request = c
        .delete_objects()
        .bucket(bucket)
        .delete(delete.build().expect("Delete"));
    request.send().await.expect("DeleteObjects")
}

#[tokio::test]
async fn delete_objects_reports_every_key_including_missing_ones() {
    with_bucket("multidelete", async |c, bucket| {
        for key in ["a", "b", "dir/c", "keep"] {
            put(c, bucket, key, key.as_bytes()).await;
        }
        let requested = ["a", "b", "dir/c", "missing-1", "missing-2"];
        let out = delete_keys(c, bucket, &requested, false).await;
        let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
        deleted.sort_unstable();
        assert_eq!(
            deleted, requested,
            "every requested key is reported deleted"
        );
        assert!(out.errors().is_empty(), "no errors: {:?}", out.errors());
        assert_eq!(list_keys(c, bucket).await, ["keep"]);
    })
    .await
}

#[tokio::test]
async fn delete_objects_quiet_mode_reports_nothing() {
    with_bucket("quietdelete", async |c, bucket| {
        for key in ["x", "y"] {
            put(c, bucket, key, b"1").await;
        }
        let out = delete_keys(c, bucket, &["x", "y", "absent"], true).await;
        let deleted = out.deleted();
        assert!(
            deleted.is_empty(),
            "quiet mode lists no successes: {deleted:?}"
        );
        assert!(out.errors().is_empty(), "no errors: {:?}", out.errors());
        let listed = list_v2(c, bucket).await;
        assert_eq!(listed.key_count(), Some(0));
        assert!(listed.contents().is_empty());
    })
    .await
}

#[tokio::test]
async fn awkward_keys_round_trip() {
    with_bucket("keys", async |c, bucket| {
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
            put(c, bucket, key, key.as_bytes()).await;
        }
        for key in keys {
            let body = get_bytes(c, bucket, key).await;
            assert_eq!(body, key.as_bytes(), "GetObject {key:?}");
            let head = head_request(c, bucket, key).send().await;
            assert!(head.is_ok(), "HeadObject {key:?}: {head:?}");
        }
        let listed = list_keys(c, bucket).await;
        let mut expected = keys.to_vec();
        expected.sort_unstable();
        assert_eq!(
            listed, expected,
            "ListObjectsV2 returns every key verbatim, in byte order"
        );
    })
    .await
}
