//! ListObjects (v1) and ListObjectsV2: prefix, delimiter and CommonPrefixes,
//! paging (continuation tokens, markers), start-after, encoding-type=url,
//! KeyCount, byte-wise key order, and object owners.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::EncodingType;
use cairn_s3_tests::*;

/// Guard against a server that never stops saying IsTruncated.
const MAX_PAGES: usize = 100;
const PAGED_KEY_COUNT: usize = 25;
const PAGE_SIZE: i32 = 10;
/// Small pages so that keys and CommonPrefixes share pages.
const DELIMITER_PAGE: i32 = 2;
const V1_PAGE: i32 = 4;
const ORDER_PAGE: i32 = 3;
const ENTRY_SIZE: usize = 3 * KIB;

async fn put_keys(c: &Client, bucket: &str, keys: &[&str]) {
    for key in keys {
        c.put_object()
            .bucket(bucket)
            .key(*key)
            .body(ByteStream::from(key.as_bytes().to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PutObject {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
    }
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    v.sort_unstable();
    v
}

/// One ListObjectsV2 page, reduced to what the tests compare.
struct PageV2 {
    keys: Vec<String>,
    prefixes: Vec<String>,
    key_count: Option<i32>,
    truncated: bool,
    next_token: Option<String>,
}

async fn list_v2(
    c: &Client,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
) -> PageV2 {
    let out = c
        .list_objects_v2()
        .bucket(bucket)
        .set_prefix(prefix.map(str::to_owned))
        .set_delimiter(delimiter.map(str::to_owned))
        .send()
        .await
        .expect("ListObjectsV2");
    PageV2 {
        keys: out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect(),
        prefixes: out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect(),
        key_count: out.key_count(),
        truncated: out.is_truncated().unwrap_or(false),
        next_token: out.next_continuation_token().map(str::to_owned),
    }
}

const TREE: [&str; 6] = ["a.txt", "dir1/a", "dir1/b", "dir1/sub/c", "dir2/x", "z.txt"];

#[tokio::test]
async fn v2_prefix_and_delimiter() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tree").await;
        put_keys(&c, &bucket, &TREE).await;

        let all = list_v2(&c, &bucket, None, None).await;
        assert_eq!(all.keys, sorted(&TREE));
        assert!(all.prefixes.is_empty());
        assert_eq!(all.key_count, Some(6));
        assert!(!all.truncated && all.next_token.is_none());

        let dir1 = list_v2(&c, &bucket, Some("dir1/"), None).await;
        assert_eq!(dir1.keys, ["dir1/a", "dir1/b", "dir1/sub/c"]);
        assert_eq!(dir1.key_count, Some(3));

        let top = list_v2(&c, &bucket, None, Some("/")).await;
        assert_eq!(top.keys, ["a.txt", "z.txt"]);
        assert_eq!(top.prefixes, ["dir1/", "dir2/"]);
        assert_eq!(
            top.key_count,
            Some(4),
            "KeyCount counts keys and CommonPrefixes"
        );

        let nested = list_v2(&c, &bucket, Some("dir1/"), Some("/")).await;
        assert_eq!(nested.keys, ["dir1/a", "dir1/b"]);
        assert_eq!(nested.prefixes, ["dir1/sub/"]);

        let partial = list_v2(&c, &bucket, Some("dir"), Some("/")).await;
        assert!(partial.keys.is_empty());
        assert_eq!(partial.prefixes, ["dir1/", "dir2/"]);

        let none = list_v2(&c, &bucket, Some("nomatch"), None).await;
        assert!(none.keys.is_empty() && none.prefixes.is_empty());
        assert_eq!(none.key_count, Some(0));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn v2_entries_carry_size_etag_and_date() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "entries").await;
        let data = random_bytes(ENTRY_SIZE);
        c.put_object()
            .bucket(&bucket)
            .key("obj")
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("Put");
        let out = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        assert_eq!(out.name(), Some(bucket.as_str()));
        let [entry] = out.contents() else {
            panic!("one entry expected: {:?}", out.contents())
        };
        assert_eq!(entry.key(), Some("obj"));
        assert_eq!(entry.size(), Some(data.len() as i64));
        assert_eq!(entry.e_tag(), Some(etag_of(&data).as_str()));
        assert!(entry.last_modified().is_some(), "entry has LastModified");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn empty_bucket_lists_nothing() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "emptylist").await;
        let page = list_v2(&c, &bucket, None, None).await;
        assert!(page.keys.is_empty() && page.prefixes.is_empty());
        assert_eq!(page.key_count, Some(0));
        assert!(!page.truncated);
        let v1 = c
            .list_objects()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjects");
        assert!(v1.contents().is_empty());
        assert_eq!(v1.is_truncated(), Some(false));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

fn numbered_keys() -> Vec<String> {
    (0..PAGED_KEY_COUNT)
        .map(|i| format!("key-{i:03}"))
        .collect()
}

#[tokio::test]
async fn v2_paging_with_continuation_token() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "pagingv2").await;
        let keys = numbered_keys();
        put_keys(
            &c,
            &bucket,
            &keys.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;

        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = c
                .list_objects_v2()
                .bucket(&bucket)
                .max_keys(PAGE_SIZE)
                .set_continuation_token(token.clone())
                .send()
                .await
                .expect("ListObjectsV2 page");
            assert_eq!(out.max_keys(), Some(PAGE_SIZE), "MaxKeys is echoed");
            assert_eq!(
                out.continuation_token(),
                token.as_deref(),
                "ContinuationToken is echoed"
            );
            let page: Vec<String> = out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            assert_eq!(
                out.key_count(),
                Some(page.len() as i32),
                "KeyCount matches the page"
            );
            sizes.push(page.len());
            seen.extend(page);
            let truncated = out.is_truncated().unwrap_or(false);
            assert_eq!(
                truncated,
                out.next_continuation_token().is_some(),
                "NextContinuationToken iff truncated"
            );
            token = out.next_continuation_token().map(str::to_owned);
            if !truncated {
                break;
            }
        }
        assert_eq!(sizes, [10, 10, 5], "page sizes");
        assert_eq!(seen, keys, "all keys once, in order");
        // max-keys=0: an empty page that is not truncated (there is no token).
        let none = c
            .list_objects_v2()
            .bucket(&bucket)
            .max_keys(0)
            .send()
            .await
            .expect("ListObjectsV2 max-keys=0");
        assert_eq!(
            (none.key_count(), none.is_truncated()),
            (Some(0), Some(false))
        );
        assert!(none.next_continuation_token().is_none());
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

const NESTED: [&str; 9] = ["a/1", "a/2", "b", "c/1", "c/2", "c/3", "d", "e/1", "f"];

#[tokio::test]
async fn v2_paging_with_delimiter_rolls_up_prefixes() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "pagingdelim").await;
        put_keys(&c, &bucket, &NESTED).await;
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = c
                .list_objects_v2()
                .bucket(&bucket)
                .delimiter("/")
                .max_keys(DELIMITER_PAGE)
                .set_continuation_token(token.clone())
                .send()
                .await
                .expect("ListObjectsV2 page");
            let keys: Vec<String> = out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            let prefixes: Vec<String> = out
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned))
                .collect();
            let n = keys.len() + prefixes.len();
            assert!(
                n <= DELIMITER_PAGE as usize,
                "page holds {n} entries > max-keys {DELIMITER_PAGE}: {keys:?} {prefixes:?}"
            );
            assert_eq!(
                out.key_count(),
                Some(n as i32),
                "KeyCount counts keys and prefixes"
            );
            entries.extend(keys);
            entries.extend(prefixes);
            token = out.next_continuation_token().map(str::to_owned);
            if !out.is_truncated().unwrap_or(false) {
                break;
            }
        }
        entries.sort_unstable();
        assert_eq!(
            entries,
            ["a/", "b", "c/", "d", "e/", "f"],
            "each prefix once, every top-level key once"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn v2_start_after() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "startafter").await;
        let keys = numbered_keys();
        put_keys(
            &c,
            &bucket,
            &keys.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;

        let out = c
            .list_objects_v2()
            .bucket(&bucket)
            .start_after("key-019")
            .send()
            .await
            .expect("start-after");
        assert_eq!(out.start_after(), Some("key-019"), "StartAfter is echoed");
        let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(got, ["key-020", "key-021", "key-022", "key-023", "key-024"]);

        // start-after need not name an existing key.
        let out = c
            .list_objects_v2()
            .bucket(&bucket)
            .start_after("key-0195")
            .send()
            .await
            .expect("start-after");
        assert_eq!(
            out.contents().first().and_then(|o| o.key()),
            Some("key-020")
        );

        let out = c
            .list_objects_v2()
            .bucket(&bucket)
            .start_after("zzz")
            .send()
            .await
            .expect("start-after end");
        assert!(out.contents().is_empty());
        assert_eq!(out.key_count(), Some(0));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn v1_prefix_delimiter_and_marker_paging() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "v1").await;
        put_keys(&c, &bucket, &TREE).await;
        let out = c
            .list_objects()
            .bucket(&bucket)
            .prefix("dir1/")
            .delimiter("/")
            .send()
            .await
            .expect("ListObjects");
        let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
        let prefixes: Vec<&str> = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect();
        assert_eq!(keys, ["dir1/a", "dir1/b"]);
        assert_eq!(prefixes, ["dir1/sub/"]);
        assert_eq!(out.prefix(), Some("dir1/"));
        assert_eq!(out.delimiter(), Some("/"));

        // Without a delimiter there is no NextMarker; clients continue from the last key.
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = c
                .list_objects()
                .bucket(&bucket)
                .max_keys(V1_PAGE)
                .set_marker(marker.clone())
                .send()
                .await
                .expect("ListObjects page");
            assert_eq!(
                out.marker().filter(|m| !m.is_empty()),
                marker.as_deref(),
                "Marker is echoed"
            );
            let page: Vec<String> = out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            assert!(
                page.len() <= V1_PAGE as usize,
                "page over max-keys: {page:?}"
            );
            marker = page.last().cloned();
            seen.extend(page);
            if !out.is_truncated().unwrap_or(false) {
                break;
            }
        }
        assert_eq!(seen, sorted(&TREE));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn v1_next_marker_with_delimiter() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "nextmarker").await;
        put_keys(&c, &bucket, &NESTED).await;
        let mut entries = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        for _ in 0..MAX_PAGES {
            pages += 1;
            let out = c
                .list_objects()
                .bucket(&bucket)
                .delimiter("/")
                .max_keys(DELIMITER_PAGE)
                .set_marker(marker.clone())
                .send()
                .await
                .expect("ListObjects page");
            let mut page: Vec<String> = out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            page.extend(
                out.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            page.sort_unstable();
            assert!(
                page.len() <= DELIMITER_PAGE as usize,
                "page over max-keys: {page:?}"
            );
            let truncated = out.is_truncated().unwrap_or(false);
            if truncated {
                let next = out
                    .next_marker()
                    .expect("NextMarker is returned when truncated with a delimiter");
                assert_eq!(
                    Some(next),
                    page.last().map(String::as_str),
                    "NextMarker is the page's last entry"
                );
                marker = Some(next.to_owned());
            }
            entries.extend(page);
            if !truncated {
                break;
            }
        }
        assert_eq!(entries, ["a/", "b", "c/", "d", "e/", "f"]);
        assert_eq!(pages, 3);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

const AWKWARD: [&str; 5] = [
    "plain.txt",
    "sp ace/ä ö.txt",
    "sp ace/q&a.txt",
    "x+y",
    "tab\there",
];

#[tokio::test]
async fn encoding_type_url_encodes_keys_and_prefixes() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "urlenc").await;
        put_keys(&c, &bucket, &AWKWARD).await;

        let flat = c
            .list_objects_v2()
            .bucket(&bucket)
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("V2 url");
        assert_eq!(
            flat.encoding_type(),
            Some(&EncodingType::Url),
            "EncodingType is echoed"
        );
        let raw: Vec<&str> = flat.contents().iter().filter_map(|o| o.key()).collect();
        for key in &raw {
            assert!(
                key.bytes().all(|b| b.is_ascii_graphic()),
                "encoded key {key:?} still holds a space, control or non-ASCII byte"
            );
        }
        let decoded: Vec<String> = raw.iter().map(|k| url_decode_plus(k)).collect();
        assert_eq!(decoded, sorted(&AWKWARD), "decoded keys (raw {raw:?})");

        let top = c
            .list_objects_v2()
            .bucket(&bucket)
            .delimiter("/")
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("V2 url with delimiter");
        let prefixes: Vec<String> = top
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .map(url_decode_plus)
            .collect();
        assert_eq!(prefixes, ["sp ace/"]);
        assert!(
            top.common_prefixes()
                .iter()
                .all(|p| p.prefix().is_some_and(|s| !s.contains(' ')))
        );

        let v1 = c
            .list_objects()
            .bucket(&bucket)
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .expect("V1 url");
        let decoded: Vec<String> = v1
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .map(url_decode_plus)
            .collect();
        assert_eq!(decoded, sorted(&AWKWARD), "v1 decoded keys");
        assert!(v1.contents().iter().all(|o| {
            o.key()
                .is_some_and(|k| k.bytes().all(|b| b.is_ascii_graphic()))
        }));

        // Without encoding-type the keys come back verbatim.
        let plain = list_v2(&c, &bucket, None, None).await;
        assert_eq!(plain.keys, sorted(&AWKWARD));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn keys_are_listed_in_utf8_byte_order() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "order").await;
        // Inserted out of order; byte order puts uppercase before lowercase,
        // '-' (0x2D) and '/' (0x2F) before digits, and multi-byte UTF-8 last.
        let keys = [
            "zeta", "Zeta", "a", "a/b", "a-b", "a0", "ä", "~tilde", "日本", "é", "A", "aa", "a b",
            "_",
        ];
        put_keys(&c, &bucket, &keys).await;
        let expected = sorted(&keys);

        let all = list_v2(&c, &bucket, None, None).await;
        assert_eq!(all.keys, expected, "one page");

        let mut paged = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = c
                .list_objects_v2()
                .bucket(&bucket)
                .max_keys(ORDER_PAGE)
                .set_continuation_token(token.clone())
                .send()
                .await
                .expect("ListObjectsV2 page");
            paged.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = out.next_continuation_token().map(str::to_owned);
            if !out.is_truncated().unwrap_or(false) {
                break;
            }
        }
        assert_eq!(paged, expected, "across pages of {ORDER_PAGE}");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

/// As S3 does, ListObjects (v1) names each object's owner, and ListObjectsV2
/// does only when asked with `fetch-owner=true`. The owner is the one
/// ListBuckets reports (a cluster has one account).
#[tokio::test]
async fn owner_listed_in_v1_and_with_fetch_owner_in_v2() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "owner").await;
        put_keys(&c, &bucket, &["a", "b"]).await;
        let expected = c
            .list_buckets()
            .send()
            .await
            .expect("ListBuckets")
            .owner()
            .and_then(|o| o.id())
            .map(str::to_owned);
        assert!(expected.is_some(), "ListBuckets names no owner");

        let v1 = c
            .list_objects()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjects");
        let v1_owners: Vec<_> = v1
            .contents()
            .iter()
            .map(|o| o.owner().and_then(|o| o.id()).map(str::to_owned))
            .collect();
        assert_eq!(
            v1_owners,
            vec![expected.clone(); 2],
            "owners in ListObjects"
        );

        let fetched = c
            .list_objects_v2()
            .bucket(&bucket)
            .fetch_owner(true)
            .send()
            .await
            .expect("ListObjectsV2 fetch-owner=true");
        let fetched_owners: Vec<_> = fetched
            .contents()
            .iter()
            .map(|o| o.owner().and_then(|o| o.id()).map(str::to_owned))
            .collect();
        assert_eq!(fetched_owners, vec![expected; 2], "owners with fetch-owner");

        let plain = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        assert_eq!(plain.contents().len(), 2);
        assert!(
            plain.contents().iter().all(|o| o.owner().is_none()),
            "ListObjectsV2 without fetch-owner names owners"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
