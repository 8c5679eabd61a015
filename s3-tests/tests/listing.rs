//! ListObjects (v1) and ListObjectsV2: prefix, delimiter and CommonPrefixes,
//! paging (continuation tokens, markers), start-after, encoding-type=url,
//! KeyCount, byte-wise key order, and object owners.

use aws_sdk_s3::operation::list_objects::ListObjectsOutput;
use aws_sdk_s3::operation::list_objects::builders::ListObjectsFluentBuilder;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::list_objects_v2::builders::ListObjectsV2FluentBuilder;
use aws_sdk_s3::types::{CommonPrefix, EncodingType, Object};
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

/// Puts each key with its own name as the body.
async fn put_keys<K: AsRef<str>>(c: &Client, bucket: &str, keys: &[K]) {
    for key in keys {
        let key = key.as_ref();
        put_bytes(c, bucket, key, key.as_bytes()).await;
    }
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    v.sort_unstable();
    v
}

fn prefixes_of(prefixes: &[CommonPrefix]) -> Vec<String> {
    let prefixes = prefixes.iter().filter_map(|p| p.prefix());
    prefixes.map(str::to_owned).collect()
}

fn object_keys(objects: &[Object]) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// One ListObjectsV2 page, reduced to what the tests compare.
struct PageV2 {
    keys: Vec<String>,
    prefixes: Vec<String>,
    key_count: Option<i32>,
    truncated: bool,
    next_token: Option<String>,
}

async fn list_tree(
    c: &Client,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
) -> PageV2 {
    let (prefix, delimiter) = (prefix.map(str::to_owned), delimiter.map(str::to_owned));
    let out = list_v2_with(c, bucket, |r| r.set_prefix(prefix).set_delimiter(delimiter)).await;
    PageV2 {
        keys: keys_of(&out),
        prefixes: prefixes_of(out.common_prefixes()),
        key_count: out.key_count(),
        truncated: out.is_truncated().unwrap_or(false),
        next_token: out.next_continuation_token().map(str::to_owned),
    }
}

/// Every ListObjectsV2 page (at most [`MAX_PAGES`]) of the request `with`
/// builds, following continuation tokens, each with the token it was asked with.
async fn pages_v2(
    c: &Client,
    bucket: &str,
    with: impl Fn(ListObjectsV2FluentBuilder) -> ListObjectsV2FluentBuilder,
) -> Vec<(Option<String>, ListObjectsV2Output)> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let sent = token.clone();
        let out = list_v2_with(c, bucket, |r| with(r).set_continuation_token(sent.clone())).await;
        token = out.next_continuation_token().map(str::to_owned);
        let truncated = out.is_truncated().unwrap_or(false);
        pages.push((sent, out));
        if !truncated {
            break;
        }
    }
    pages
}

/// One ListObjects (v1) page with the options `with` adds.
async fn list_v1(
    c: &Client,
    bucket: &str,
    with: impl FnOnce(ListObjectsFluentBuilder) -> ListObjectsFluentBuilder,
) -> ListObjectsOutput {
    let result = with(c.list_objects().bucket(bucket)).send().await;
    result.expect("ListObjects")
}

const TREE: [&str; 6] = ["a.txt", "dir1/a", "dir1/b", "dir1/sub/c", "dir2/x", "z.txt"];

#[tokio::test]
async fn v2_prefix_and_delimiter() {
    with_bucket("tree", async |c, bucket| {
        put_keys(c, bucket, &TREE).await;

        let all = list_tree(c, bucket, None, None).await;
        assert_eq!(all.keys, sorted(&TREE));
        assert!(all.prefixes.is_empty());
        assert_eq!(all.key_count, Some(6));
        assert!(!all.truncated && all.next_token.is_none());

        let dir1 = list_tree(c, bucket, Some("dir1/"), None).await;
        assert_eq!(dir1.keys, ["dir1/a", "dir1/b", "dir1/sub/c"]);
        assert_eq!(dir1.key_count, Some(3));

        let top = list_tree(c, bucket, None, Some("/")).await;
        assert_eq!(top.keys, ["a.txt", "z.txt"]);
        assert_eq!(top.prefixes, ["dir1/", "dir2/"]);
        let key_count = top.key_count;
        assert_eq!(
            key_count,
            Some(4),
            "KeyCount counts keys and CommonPrefixes"
        );

        let nested = list_tree(c, bucket, Some("dir1/"), Some("/")).await;
        assert_eq!(nested.keys, ["dir1/a", "dir1/b"]);
        assert_eq!(nested.prefixes, ["dir1/sub/"]);

        let partial = list_tree(c, bucket, Some("dir"), Some("/")).await;
        assert!(partial.keys.is_empty());
        assert_eq!(partial.prefixes, ["dir1/", "dir2/"]);

        let none = list_tree(c, bucket, Some("nomatch"), None).await;
        assert!(none.keys.is_empty() && none.prefixes.is_empty());
        assert_eq!(none.key_count, Some(0));
    })
    .await
}

#[tokio::test]
async fn v2_entries_carry_size_etag_and_date() {
    with_bucket("entries", async |c, bucket| {
        let data = random_bytes(ENTRY_SIZE);
        put_bytes(c, bucket, "obj", &data).await;
        let out = list_v2(c, bucket).await;
        assert_eq!(out.name(), Some(bucket));
        let [entry] = out.contents() else {
            panic!("one entry expected: {:?}", out.contents())
        };
        assert_eq!(entry.key(), Some("obj"));
        assert_eq!(entry.size(), Some(data.len() as i64));
        assert_eq!(entry.e_tag(), Some(etag_of(&data).as_str()));
        assert!(entry.last_modified().is_some(), "entry has LastModified");
    })
    .await
}

#[tokio::test]
async fn empty_bucket_lists_nothing() {
    with_bucket("emptylist", async |c, bucket| {
        let page = list_tree(c, bucket, None, None).await;
        assert!(page.keys.is_empty() && page.prefixes.is_empty());
        assert_eq!(page.key_count, Some(0));
        assert!(!page.truncated);
        let v1 = list_v1(c, bucket, |r| r).await;
        assert!(v1.contents().is_empty());
        assert_eq!(v1.is_truncated(), Some(false));
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
    with_bucket("pagingv2", async |c, bucket| {
        let keys = numbered_keys();
        put_keys(c, bucket, &keys).await;

        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        for (token, out) in pages_v2(c, bucket, |r| r.max_keys(PAGE_SIZE)).await {
            assert_eq!(out.max_keys(), Some(PAGE_SIZE), "MaxKeys is echoed");
            let echoed = out.continuation_token();
            assert_eq!(echoed, token.as_deref(), "ContinuationToken is echoed");
            let page = keys_of(&out);
            let key_count = out.key_count();
            assert_eq!(
                key_count,
                Some(page.len() as i32),
                "KeyCount matches the page"
            );
            sizes.push(page.len());
            seen.extend(page);
            assert_eq!(
                out.is_truncated().unwrap_or(false),
                out.next_continuation_token().is_some(),
                "NextContinuationToken iff truncated"
            );
        }
        assert_eq!(sizes, [10, 10, 5], "page sizes");
        assert_eq!(seen, keys, "all keys once, in order");
        // max-keys=0: an empty page that is not truncated (there is no token).
        let none = list_v2_with(c, bucket, |r| r.max_keys(0)).await;
        let counted = (none.key_count(), none.is_truncated());
        assert_eq!(counted, (Some(0), Some(false)));
        assert!(none.next_continuation_token().is_none());
    })
    .await
}

const NESTED: [&str; 9] = ["a/1", "a/2", "b", "c/1", "c/2", "c/3", "d", "e/1", "f"];

#[tokio::test]
async fn v2_paging_with_delimiter_rolls_up_prefixes() {
    with_bucket("pagingdelim", async |c, bucket| {
        put_keys(c, bucket, &NESTED).await;
        let mut entries = Vec::new();
        let pages = pages_v2(c, bucket, |r| r.delimiter("/").max_keys(DELIMITER_PAGE)).await;
        for (_, out) in pages {
            let keys = keys_of(&out);
            let prefixes = prefixes_of(out.common_prefixes());
            let n = keys.len() + prefixes.len();
            assert!(
                n <= DELIMITER_PAGE as usize,
                "page holds {n} entries > max-keys {DELIMITER_PAGE}: {keys:?} {prefixes:?}"
            );
            let key_count = out.key_count();
            assert_eq!(
                key_count,
                Some(n as i32),
                "KeyCount counts keys and prefixes"
            );
            entries.extend(keys);
            entries.extend(prefixes);
        }
        entries.sort_unstable();
        assert_eq!(
            entries,
            ["a/", "b", "c/", "d", "e/", "f"],
            "each prefix once, every top-level key once"
        );
    })
    .await
}

#[tokio::test]
async fn v2_start_after() {
    with_bucket("startafter", async |c, bucket| {
        put_keys(c, bucket, &numbered_keys()).await;

        let out = list_v2_with(c, bucket, |r| r.start_after("key-019")).await;
        assert_eq!(out.start_after(), Some("key-019"), "StartAfter is echoed");
        assert_eq!(
            keys_of(&out),
            ["key-020", "key-021", "key-022", "key-023", "key-024"]
        );

        // start-after need not name an existing key.
        let out = list_v2_with(c, bucket, |r| r.start_after("key-0195")).await;
        let first = out.contents().first().and_then(|o| o.key());
        assert_eq!(first, Some("key-020"));

        let out = list_v2_with(c, bucket, |r| r.start_after("zzz")).await;
        assert!(out.contents().is_empty());
        assert_eq!(out.key_count(), Some(0));
    })
    .await
}

#[tokio::test]
async fn v1_prefix_delimiter_and_marker_paging() {
    with_bucket("v1", async |c, bucket| {
        put_keys(c, bucket, &TREE).await;
        let out = list_v1(c, bucket, |r| r.prefix("dir1/").delimiter("/")).await;
        assert_eq!(object_keys(out.contents()), ["dir1/a", "dir1/b"]);
        assert_eq!(prefixes_of(out.common_prefixes()), ["dir1/sub/"]);
        assert_eq!(out.prefix(), Some("dir1/"));
        assert_eq!(out.delimiter(), Some("/"));

        // Without a delimiter there is no NextMarker; clients continue from the last key.
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let sent = marker.clone();
            let out = list_v1(c, bucket, |r| r.max_keys(V1_PAGE).set_marker(sent)).await;
            let echoed = out.marker().filter(|m| !m.is_empty());
            assert_eq!(echoed, marker.as_deref(), "Marker is echoed");
            let page = object_keys(out.contents());
            let within = page.len() <= V1_PAGE as usize;
            assert!(within, "page over max-keys: {page:?}");
            marker = page.last().cloned();
            seen.extend(page);
            if !out.is_truncated().unwrap_or(false) {
                break;
            }
        }
        assert_eq!(seen, sorted(&TREE));
    })
    .await
}

#[tokio::test]
async fn v1_next_marker_with_delimiter() {
    with_bucket("nextmarker", async |c, bucket| {
        put_keys(c, bucket, &NESTED).await;
        let mut entries = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        for _ in 0..MAX_PAGES {
            pages += 1;
            let sent = marker.clone();
            let out = list_v1(c, bucket, |r| {
                r.delimiter("/").max_keys(DELIMITER_PAGE).set_marker(sent)
            })
            .await;
            let mut page = object_keys(out.contents());
            page.extend(prefixes_of(out.common_prefixes()));
            page.sort_unstable();
            let within = page.len() <= DELIMITER_PAGE as usize;
            assert!(within, "page over max-keys: {page:?}");
            let truncated = out.is_truncated().unwrap_or(false);
            if truncated {
                let next = out
                    .next_marker()
                    .expect("NextMarker is returned when truncated with a delimiter");
                let last = page.last().map(String::as_str);
                assert_eq!(Some(next), last, "NextMarker is the page's last entry");
                marker = Some(next.to_owned());
            }
            entries.extend(page);
            if !truncated {
                break;
            }
        }
        assert_eq!(entries, ["a/", "b", "c/", "d", "e/", "f"]);
        assert_eq!(pages, 3);
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
    with_bucket("urlenc", async |c, bucket| {
        put_keys(c, bucket, &AWKWARD).await;

        let flat = list_v2_with(c, bucket, |r| r.encoding_type(EncodingType::Url)).await;
        let encoding = flat.encoding_type();
        assert_eq!(encoding, Some(&EncodingType::Url), "EncodingType is echoed");
        let raw = keys_of(&flat);
        for key in &raw {
            assert!(
                key.bytes().all(|b| b.is_ascii_graphic()),
                "encoded key {key:?} still holds a space, control or non-ASCII byte"
            );
        }
        let decoded: Vec<String> = raw.iter().map(|k| url_decode_plus(k)).collect();
        assert_eq!(decoded, sorted(&AWKWARD), "decoded keys (raw {raw:?})");

        let top = list_v2_with(c, bucket, |r| {
            r.delimiter("/").encoding_type(EncodingType::Url)
        })
        .await;
        let encoded_prefixes = prefixes_of(top.common_prefixes());
        let prefixes: Vec<String> = encoded_prefixes
            .iter()
            .map(|p| url_decode_plus(p))
            .collect();
        assert_eq!(prefixes, ["sp ace/"]);
        assert!(
            top.common_prefixes()
                .iter()
                .all(|p| p.prefix().is_some_and(|s| !s.contains(' ')))
        );

        let v1 = list_v1(c, bucket, |r| r.encoding_type(EncodingType::Url)).await;
        let v1_keys = object_keys(v1.contents());
        let decoded: Vec<String> = v1_keys.iter().map(|k| url_decode_plus(k)).collect();
        assert_eq!(decoded, sorted(&AWKWARD), "v1 decoded keys");
        assert!(v1.contents().iter().all(|o| {
            o.key()
                .is_some_and(|k| k.bytes().all(|b| b.is_ascii_graphic()))
        }));

        // Without encoding-type the keys come back verbatim.
        let plain = list_tree(c, bucket, None, None).await;
        assert_eq!(plain.keys, sorted(&AWKWARD));
    })
    .await
}

#[tokio::test]
async fn keys_are_listed_in_utf8_byte_order() {
    with_bucket("order", async |c, bucket| {
        // Inserted out of order; byte order puts uppercase before lowercase,
        // '-' (0x2D) and '/' (0x2F) before digits, and multi-byte UTF-8 last.
        let keys = [
            "zeta", "Zeta", "a", "a/b", "a-b", "a0", "ä", "~tilde", "日本", "é", "A", "aa", "a b",
            "_",
        ];
        put_keys(c, bucket, &keys).await;
        let expected = sorted(&keys);

        let all = list_tree(c, bucket, None, None).await;
        assert_eq!(all.keys, expected, "one page");

        let pages = pages_v2(c, bucket, |r| r.max_keys(ORDER_PAGE)).await;
        let paged: Vec<String> = pages.iter().flat_map(|(_, out)| keys_of(out)).collect();
        assert_eq!(paged, expected, "across pages of {ORDER_PAGE}");
    })
    .await
}

/// The owner ids of a listing's entries.
fn owners(objects: &[Object]) -> Vec<Option<String>> {
    let owners = objects.iter().map(|o| o.owner().and_then(|o| o.id()));
    owners.map(|id| id.map(str::to_owned)).collect()
}

/// As S3 does, ListObjects (v1) names each object's owner, and ListObjectsV2
/// does only when asked with `fetch-owner=true`. The owner is the one
/// ListBuckets reports (a cluster has one account).
#[tokio::test]
async fn owner_listed_in_v1_and_with_fetch_owner_in_v2() {
    with_bucket("owner", async |c, bucket| {
        put_keys(c, bucket, &["a", "b"]).await;
        let listed = c.list_buckets().send().await.expect("ListBuckets");
        let expected = listed.owner().and_then(|o| o.id()).map(str::to_owned);
        assert!(expected.is_some(), "ListBuckets names no owner");

        let v1 = list_v1(c, bucket, |r| r).await;
        let v1_owners = owners(v1.contents());
        assert_eq!(
            v1_owners,
            vec![expected.clone(); 2],
            "owners in ListObjects"
        );

        let fetched = list_v2_with(c, bucket, |r| r.fetch_owner(true)).await;
        let fetched_owners = owners(fetched.contents());
        assert_eq!(fetched_owners, vec![expected; 2], "owners with fetch-owner");

        let plain = list_v2(c, bucket).await;
        assert_eq!(plain.contents().len(), 2);
        assert!(
            plain.contents().iter().all(|o| o.owner().is_none()),
            "ListObjectsV2 without fetch-owner names owners"
        );
    })
    .await
}

/// An empty delimiter is no delimiter: every key is listed and the answer
/// carries no `Delimiter` (ListObjects v1 and v2, ListObjectVersions and
/// ListMultipartUploads alike).
#[tokio::test]
async fn an_empty_delimiter_is_not_echoed() {
    with_bucket("emptydelim", async |c, bucket| {
        put_keys(c, bucket, &TREE).await;
        let v2 = list_v2_with(c, bucket, |r| r.delimiter("")).await;
        assert_eq!(keys_of(&v2), sorted(&TREE));
        assert!(v2.common_prefixes().is_empty());
        assert_eq!(v2.delimiter(), None, "v2 echoed an empty delimiter");
        let v1 = list_v1(c, bucket, |r| r.delimiter("")).await;
        assert_eq!(object_keys(v1.contents()), sorted(&TREE));
        assert_eq!(v1.delimiter(), None, "v1 echoed an empty delimiter");
        let versions = c
            .list_object_versions()
            .bucket(bucket)
            .delimiter("")
            .send()
            .await
            .expect("ListObjectVersions");
        assert_eq!(versions.versions().len(), TREE.len());
        assert_eq!(
            versions.delimiter(),
            None,
            "versions echoed an empty delimiter"
        );
        let upload_id = start_upload(c, bucket, "dir1/upload").await;
        let uploads = c
            .list_multipart_uploads()
            .bucket(bucket)
            .delimiter("")
            .send()
            .await
            .expect("ListMultipartUploads");
        assert_eq!(uploads.uploads().len(), 1);
        assert_eq!(
            uploads.delimiter(),
            None,
            "uploads echoed an empty delimiter"
        );
        abort(c, bucket, "dir1/upload", &upload_id).await;
        // A real delimiter is still echoed.
        let rolled = list_v2_with(c, bucket, |r| r.delimiter("/")).await;
        assert_eq!(rolled.delimiter(), Some("/"));
    })
    .await
}

/// `encoding-type=url` encodes the echoed Prefix too, in v1 and v2.
#[tokio::test]
async fn encoding_type_url_encodes_the_prefix() {
    with_bucket("urlprefix", async |c, bucket| {
        put_keys(c, bucket, &["sp ace/k", "other"]).await;
        let v2 = list_v2_with(c, bucket, |r| {
            r.prefix("sp ace/").encoding_type(EncodingType::Url)
        })
        .await;
        assert_eq!(v2.prefix(), Some("sp%20ace/"));
        assert_eq!(keys_of(&v2), ["sp%20ace/k"]);
        let v1 = list_v1(c, bucket, |r| {
            r.prefix("sp ace/").encoding_type(EncodingType::Url)
        })
        .await;
        assert_eq!(v1.prefix(), Some("sp%20ace/"));
        // Without it, the prefix comes back as sent.
        let plain = list_v2_with(c, bucket, |r| r.prefix("sp ace/")).await;
        assert_eq!(plain.prefix(), Some("sp ace/"));
    })
    .await
}
