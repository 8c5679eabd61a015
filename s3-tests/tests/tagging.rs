//! Object and bucket tagging: the six tagging operations, `x-amz-tagging` on
//! PutObject, CreateMultipartUpload and CopyObject (with the tagging
//! directive), `x-amz-tagging-count` on GET and HEAD, AWS's limits and
//! errors, and tags following their object through overwrite and delete.

use aws_sdk_s3::types::{Tag, TaggingDirective};
use cairn_s3_tests::*;

/// AWS's limits.
const MAX_OBJECT_TAGS: usize = 10;
const MAX_BUCKET_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

fn numbered(n: usize) -> Vec<Tag> {
    (0..n)
        .map(|i| tag(&format!("k{i}"), &format!("v{i}")))
        .collect()
}

async fn put(c: &Client, bucket: &str, key: &str, tagging_header: Option<&str>) {
    let header = tagging_header.map(str::to_string);
    put_with(c, bucket, key, b"tagged body", |r| r.set_tagging(header)).await;
}

/// The object's tags as (key, value) pairs, sorted.
async fn sorted_tags(c: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    let (mut tags, _) = tags_of(c, bucket, key, None).await;
    tags.sort();
    tags
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    v.sort();
    v
}

/// `x-amz-tagging-count` of GET (through the SDK) and HEAD (raw). AWS
/// documents the header for GET only; cairn sends it on HEAD too, which is
/// checked only against cairn (the GET value stands in elsewhere).
async fn tag_counts(c: &Client, bucket: &str, key: &str) -> (Option<i32>, Option<String>) {
    let get = get_object(c, bucket, key).await;
    if !target().in_process {
        return (get.tag_count(), get.tag_count().map(|n| n.to_string()));
    }
    let head = raw_signed("HEAD", format!("/{bucket}/{}", encode_key(key))).await;
    assert_eq!(head.status, 200);
    let count = head.header("x-amz-tagging-count").map(str::to_string);
    (get.tag_count(), count)
}

/// PutObjectTagging of `tags` on `key`, for the caller to send.
fn put_tags(
    c: &Client,
    bucket: &str,
    key: &str,
    tags: Vec<Tag>,
) -> aws_sdk_s3::operation::put_object_tagging::builders::PutObjectTaggingFluentBuilder {
    let request = c.put_object_tagging().bucket(bucket).key(key);
    request.tagging(tagging(tags))
}

/// PutBucketTagging of `tags`, for the caller to send.
fn put_bucket_tags(
    c: &Client,
    bucket: &str,
    tags: Vec<Tag>,
) -> aws_sdk_s3::operation::put_bucket_tagging::builders::PutBucketTaggingFluentBuilder {
    c.put_bucket_tagging().bucket(bucket).tagging(tagging(tags))
}

#[tokio::test]
async fn object_tagging_put_get_delete() {
    with_bucket("tag-obj", async |c, bucket| {
        put(c, bucket, "k", None).await;
        assert_eq!(sorted_tags(c, bucket, "k").await, vec![]);
        assert_eq!(tag_counts(c, bucket, "k").await, (None, None));

        let two = vec![tag("project", "cairn"), tag("empty", "")];
        put_tags(c, bucket, "k", two)
            .send()
            .await
            .expect("PutObjectTagging");
        assert_eq!(
            sorted_tags(c, bucket, "k").await,
            pairs(&[("project", "cairn"), ("empty", "")])
        );
        let counts = tag_counts(c, bucket, "k").await;
        assert_eq!(counts, (Some(2), Some("2".to_string())));

        // A second put replaces the whole set.
        let again = put_tags(c, bucket, "k", vec![tag("only", "one")])
            .send()
            .await;
        again.expect("PutObjectTagging again");
        assert_eq!(sorted_tags(c, bucket, "k").await, pairs(&[("only", "one")]));

        let delete = c
            .delete_object_tagging()
            .bucket(bucket)
            .key("k")
            .send()
            .await;
        delete.expect("DeleteObjectTagging");
        assert_eq!(sorted_tags(c, bucket, "k").await, vec![]);
        assert_eq!(tag_counts(c, bucket, "k").await, (None, None));
        // The object itself is untouched.
        assert_eq!(get_bytes(c, bucket, "k").await, b"tagged body");
    })
    .await
}

#[tokio::test]
async fn object_tag_limits_and_errors() {
    with_bucket("tag-limits", async |c, bucket| {
        put(c, bucket, "k", None).await;
        let try_tags = |tags: Vec<Tag>| put_tags(c, bucket, "k", tags).send();
        // The most AWS allows: 10 tags, keys of 128 and values of 256 characters
        // (counted in characters, not bytes).
        let mut max: Vec<Tag> = numbered(MAX_OBJECT_TAGS - 1);
        let longest = tag(&"é".repeat(MAX_KEY_CHARS), &"ü".repeat(MAX_VALUE_CHARS));
        max.push(longest);
        try_tags(max).await.expect("the maximum tag set");
        assert_eq!(sorted_tags(c, bucket, "k").await.len(), MAX_OBJECT_TAGS);

        for refused in [
            numbered(MAX_OBJECT_TAGS + 1),
            vec![tag(&"k".repeat(MAX_KEY_CHARS + 1), "v")],
            vec![tag("k", &"v".repeat(MAX_VALUE_CHARS + 1))],
            vec![tag("dup", "1"), tag("dup", "2")],
            vec![tag("aws:owner", "me")],
        ] {
            expect_s3_error(try_tags(refused).await, "InvalidTag", 400);
        }
        // A refused set leaves the stored one alone.
        assert_eq!(sorted_tags(c, bucket, "k").await.len(), MAX_OBJECT_TAGS);

        // Missing objects and buckets.
        let get = c.get_object_tagging().bucket(bucket).key("missing");
        expect_s3_error(get.send().await, "NoSuchKey", 404);
        let put = put_tags(c, bucket, "missing", vec![tag("a", "1")]);
        expect_s3_error(put.send().await, "NoSuchKey", 404);
        let delete = c.delete_object_tagging().bucket(bucket).key("missing");
        expect_s3_error(delete.send().await, "NoSuchKey", 404);
        let no_bucket = c.get_object_tagging().bucket(unique_bucket("tag-nobucket"));
        expect_s3_error(no_bucket.key("k").send().await, "NoSuchBucket", 404);
    })
    .await
}

#[tokio::test]
async fn tagging_header_on_put_and_tags_follow_the_object() {
    with_bucket("tag-hdr", async |c, bucket| {
        put(c, bucket, "k", Some("a=1&b%20c=x%2By&flag=")).await;
        assert_eq!(
            sorted_tags(c, bucket, "k").await,
            pairs(&[("a", "1"), ("b c", "x+y"), ("flag", "")])
        );
        let counts = tag_counts(c, bucket, "k").await;
        assert_eq!(counts, (Some(3), Some("3".to_string())));

        // An overwrite replaces the tags: none given, none kept.
        put(c, bucket, "k", None).await;
        assert_eq!(sorted_tags(c, bucket, "k").await, vec![]);
        put(c, bucket, "k", Some("v=2")).await;
        assert_eq!(sorted_tags(c, bucket, "k").await, pairs(&[("v", "2")]));

        // A delete takes them along: a new object under the key is untagged.
        delete_object(c, bucket, "k").await;
        let gone = c.get_object_tagging().bucket(bucket).key("k").send().await;
        expect_s3_error(gone, "NoSuchKey", 404);
        put(c, bucket, "k", None).await;
        assert_eq!(sorted_tags(c, bucket, "k").await, vec![]);

        // Bad headers are refused and store nothing.
        let eleven: Vec<String> = (0..=MAX_OBJECT_TAGS).map(|i| format!("k{i}=v")).collect();
        for (header, code) in [
            (eleven.join("&"), "InvalidTag"),
            ("aws%3Akey=v".to_string(), "InvalidTag"),
            (format!("{}=v", "k".repeat(MAX_KEY_CHARS + 1)), "InvalidTag"),
            ("a=1&a=2".to_string(), "InvalidArgument"),
        ] {
            let put = put_request(c, bucket, "refused", b"x").tagging(header.clone());
            expect_s3_error(put.send().await, code, 400);
        }
        assert_no_object(c, bucket, "refused").await;
    })
    .await
}

#[tokio::test]
async fn multipart_upload_takes_its_tags_from_create() {
    with_bucket("tag-mpu", async |c, bucket| {
        let create = upload_request(c, bucket, "mp").tagging("stage=raw&team=storage");
        let create = create.send().await.expect("CreateMultipartUpload");
        let upload_id = create.upload_id().expect("upload id");
        let part = upload_part(c, bucket, "mp", upload_id, 1, b"only part").await;
        complete(c, bucket, "mp", upload_id, vec![part]).await;
        assert_eq!(
            sorted_tags(c, bucket, "mp").await,
            pairs(&[("stage", "raw"), ("team", "storage")])
        );
        let refused = upload_request(c, bucket, "mp2").tagging("aws:x=1");
        expect_s3_error(refused.send().await, "InvalidTag", 400);
    })
    .await
}

#[tokio::test]
async fn copy_copies_or_replaces_tags() {
    with_bucket("tag-copy", async |c, bucket| {
        put(c, bucket, "src", Some("origin=source&n=1")).await;
        let source = format!("{bucket}/src");
        let copy = |key: &str| copy_request(c, bucket, key, &source);

        // COPY is the default.
        copy_object(c, bucket, "copied", &source).await;
        assert_eq!(
            sorted_tags(c, bucket, "copied").await,
            pairs(&[("origin", "source"), ("n", "1")])
        );

        let replace = copy("replaced").tagging_directive(TaggingDirective::Replace);
        let replaced = replace.tagging("fresh=yes").send().await;
        replaced.expect("CopyObject REPLACE");
        let tags = sorted_tags(c, bucket, "replaced").await;
        assert_eq!(tags, pairs(&[("fresh", "yes")]));

        let clear = copy("cleared").tagging_directive(TaggingDirective::Replace);
        clear.send().await.expect("CopyObject REPLACE without tags");
        assert_eq!(sorted_tags(c, bucket, "cleared").await, vec![]);

        let bad = copy("bad").tagging_directive(TaggingDirective::Replace);
        expect_s3_error(bad.tagging("aws:no=1").send().await, "InvalidTag", 400);
        // The source keeps its own tags.
        assert_eq!(sorted_tags(c, bucket, "src").await.len(), 2);
    })
    .await
}

#[tokio::test]
async fn bucket_tagging_put_get_delete_and_limits() {
    with_bucket("tag-bkt", async |c, bucket| {
        let none = c.get_bucket_tagging().bucket(bucket).send().await;
        expect_s3_error(none, "NoSuchTagSet", 404);
        let most = put_bucket_tags(c, bucket, numbered(MAX_BUCKET_TAGS))
            .send()
            .await;
        most.expect("PutBucketTagging with 50 tags");
        let got = c.get_bucket_tagging().bucket(bucket).send().await;
        let got = got.expect("GetBucketTagging");
        assert_eq!(got.tag_set().len(), MAX_BUCKET_TAGS);
        assert!(
            got.tag_set()
                .iter()
                .any(|t| t.key() == "k49" && t.value() == "v49")
        );

        for bad in [
            numbered(MAX_BUCKET_TAGS + 1),
            vec![tag("aws:cost", "1")],
            vec![tag("d", "1"), tag("d", "2")],
            vec![tag(&"k".repeat(MAX_KEY_CHARS + 1), "v")],
        ] {
            let put = put_bucket_tags(c, bucket, bad).send().await;
            expect_s3_error(put, "InvalidTag", 400);
        }
        // Object tags and bucket tags are separate.
        put(c, bucket, "k", None).await;
        assert_eq!(sorted_tags(c, bucket, "k").await, vec![]);

        let deleted = c.delete_bucket_tagging().bucket(bucket).send().await;
        deleted.expect("DeleteBucketTagging");
        let none = c.get_bucket_tagging().bucket(bucket).send().await;
        expect_s3_error(none, "NoSuchTagSet", 404);
        let missing = unique_bucket("tag-nobkt");
        let get = c.get_bucket_tagging().bucket(&missing).send().await;
        expect_s3_error(get, "NoSuchBucket", 404);
        let put = put_bucket_tags(c, &missing, vec![tag("a", "1")])
            .send()
            .await;
        expect_s3_error(put, "NoSuchBucket", 404);
    })
    .await
}

#[tokio::test]
async fn recreated_bucket_starts_untagged() {
    with_bucket("tag-recreate", async |c, bucket| {
        let tagged = put_bucket_tags(c, bucket, vec![tag("a", "1")]).send().await;
        tagged.expect("PutBucketTagging");
        delete_bucket(c, bucket).await;
        create_bucket_named(c, bucket).await;
        let none = c.get_bucket_tagging().bucket(bucket).send().await;
        expect_s3_error(none, "NoSuchTagSet", 404);
    })
    .await
}
