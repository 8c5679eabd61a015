//! Object and bucket tagging: the six tagging operations, `x-amz-tagging` on
//! PutObject, CreateMultipartUpload and CopyObject (with the tagging
//! directive), `x-amz-tagging-count` on GET and HEAD, AWS's limits and
//! errors, and tags following their object through overwrite and delete.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging, TaggingDirective};
use cairn_s3_tests::*;

/// AWS's limits.
const MAX_OBJECT_TAGS: usize = 10;
const MAX_BUCKET_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().expect("tag")
}

fn tagging(tags: Vec<Tag>) -> Tagging {
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .expect("tagging")
}

fn numbered(n: usize) -> Vec<Tag> {
    (0..n)
        .map(|i| tag(&format!("k{i}"), &format!("v{i}")))
        .collect()
}

async fn put(c: &Client, bucket: &str, key: &str, tagging_header: Option<&str>) {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"tagged body"))
        .set_tagging(tagging_header.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PutObject {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
}

/// The object's tags as (key, value) pairs, sorted.
async fn tags_of(c: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    let out = c
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObjectTagging");
    let mut tags: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
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
    let get = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObject");
    if !target().in_process {
        return (get.tag_count(), get.tag_count().map(|n| n.to_string()));
    }
    let head = target()
        .send_signed(RawRequest::new(
            "HEAD",
            format!("/{bucket}/{}", encode_key(key)),
        ))
        .await
        .expect("HEAD");
    assert_eq!(head.status, 200);
    (
        get.tag_count(),
        head.header("x-amz-tagging-count").map(str::to_string),
    )
}

#[tokio::test]
async fn object_tagging_put_get_delete() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-obj").await;
        put(&c, &bucket, "k", None).await;
        assert_eq!(tags_of(&c, &bucket, "k").await, vec![]);
        assert_eq!(tag_counts(&c, &bucket, "k").await, (None, None));

        c.put_object_tagging()
            .bucket(&bucket)
            .key("k")
            .tagging(tagging(vec![tag("project", "cairn"), tag("empty", "")]))
            .send()
            .await
            .expect("PutObjectTagging");
        assert_eq!(
            tags_of(&c, &bucket, "k").await,
            pairs(&[("project", "cairn"), ("empty", "")])
        );
        assert_eq!(
            tag_counts(&c, &bucket, "k").await,
            (Some(2), Some("2".to_string()))
        );

        // A second put replaces the whole set.
        c.put_object_tagging()
            .bucket(&bucket)
            .key("k")
            .tagging(tagging(vec![tag("only", "one")]))
            .send()
            .await
            .expect("PutObjectTagging again");
        assert_eq!(tags_of(&c, &bucket, "k").await, pairs(&[("only", "one")]));

        c.delete_object_tagging()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("DeleteObjectTagging");
        assert_eq!(tags_of(&c, &bucket, "k").await, vec![]);
        assert_eq!(tag_counts(&c, &bucket, "k").await, (None, None));
        // The object itself is untouched.
        let body = collect_body(
            c.get_object()
                .bucket(&bucket)
                .key("k")
                .send()
                .await
                .expect("GET"),
        )
        .await;
        assert_eq!(body, b"tagged body");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn object_tag_limits_and_errors() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-limits").await;
        put(&c, &bucket, "k", None).await;
        let try_tags = |tags: Vec<Tag>| {
            c.put_object_tagging()
                .bucket(&bucket)
                .key("k")
                .tagging(tagging(tags))
                .send()
        };
        // The most AWS allows: 10 tags, keys of 128 and values of 256 characters
        // (counted in characters, not bytes).
        let mut max: Vec<Tag> = numbered(MAX_OBJECT_TAGS - 1);
        max.push(tag(
            &"é".repeat(MAX_KEY_CHARS),
            &"ü".repeat(MAX_VALUE_CHARS),
        ));
        try_tags(max).await.expect("the maximum tag set");
        assert_eq!(tags_of(&c, &bucket, "k").await.len(), MAX_OBJECT_TAGS);

        expect_s3_error(
            try_tags(numbered(MAX_OBJECT_TAGS + 1)).await,
            "InvalidTag",
            400,
        );
        expect_s3_error(
            try_tags(vec![tag(&"k".repeat(MAX_KEY_CHARS + 1), "v")]).await,
            "InvalidTag",
            400,
        );
        expect_s3_error(
            try_tags(vec![tag("k", &"v".repeat(MAX_VALUE_CHARS + 1))]).await,
            "InvalidTag",
            400,
        );
        expect_s3_error(
            try_tags(vec![tag("dup", "1"), tag("dup", "2")]).await,
            "InvalidTag",
            400,
        );
        expect_s3_error(
            try_tags(vec![tag("aws:owner", "me")]).await,
            "InvalidTag",
            400,
        );
        // A refused set leaves the stored one alone.
        assert_eq!(tags_of(&c, &bucket, "k").await.len(), MAX_OBJECT_TAGS);

        // Missing objects and buckets.
        expect_s3_error(
            c.get_object_tagging()
                .bucket(&bucket)
                .key("missing")
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        expect_s3_error(
            c.put_object_tagging()
                .bucket(&bucket)
                .key("missing")
                .tagging(tagging(vec![tag("a", "1")]))
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        expect_s3_error(
            c.delete_object_tagging()
                .bucket(&bucket)
                .key("missing")
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        expect_s3_error(
            c.get_object_tagging()
                .bucket(unique_bucket("tag-nobucket"))
                .key("k")
                .send()
                .await,
            "NoSuchBucket",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn tagging_header_on_put_and_tags_follow_the_object() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-hdr").await;
        put(&c, &bucket, "k", Some("a=1&b%20c=x%2By&flag=")).await;
        assert_eq!(
            tags_of(&c, &bucket, "k").await,
            pairs(&[("a", "1"), ("b c", "x+y"), ("flag", "")])
        );
        assert_eq!(
            tag_counts(&c, &bucket, "k").await,
            (Some(3), Some("3".to_string()))
        );

        // An overwrite replaces the tags: none given, none kept.
        put(&c, &bucket, "k", None).await;
        assert_eq!(tags_of(&c, &bucket, "k").await, vec![]);
        put(&c, &bucket, "k", Some("v=2")).await;
        assert_eq!(tags_of(&c, &bucket, "k").await, pairs(&[("v", "2")]));

        // A delete takes them along: a new object under the key is untagged.
        c.delete_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("DeleteObject");
        expect_s3_error(
            c.get_object_tagging().bucket(&bucket).key("k").send().await,
            "NoSuchKey",
            404,
        );
        put(&c, &bucket, "k", None).await;
        assert_eq!(tags_of(&c, &bucket, "k").await, vec![]);

        // Bad headers are refused and store nothing.
        let eleven: Vec<String> = (0..=MAX_OBJECT_TAGS).map(|i| format!("k{i}=v")).collect();
        for (header, code) in [
            (eleven.join("&"), "InvalidTag"),
            ("aws%3Akey=v".to_string(), "InvalidTag"),
            (format!("{}=v", "k".repeat(MAX_KEY_CHARS + 1)), "InvalidTag"),
            ("a=1&a=2".to_string(), "InvalidArgument"),
        ] {
            expect_s3_error(
                c.put_object()
                    .bucket(&bucket)
                    .key("refused")
                    .body(ByteStream::from_static(b"x"))
                    .tagging(header.clone())
                    .send()
                    .await,
                code,
                400,
            );
        }
        expect_s3_error(
            c.head_object().bucket(&bucket).key("refused").send().await,
            "NotFound",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn multipart_upload_takes_its_tags_from_create() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-mpu").await;
        let create = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .tagging("stage=raw&team=storage")
            .send()
            .await
            .expect("CreateMultipartUpload");
        let upload_id = create.upload_id().expect("upload id");
        let part = c
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(upload_id)
            .part_number(1)
            .body(ByteStream::from_static(b"only part"))
            .send()
            .await
            .expect("UploadPart");
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().expect("etag"))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("CompleteMultipartUpload");
        assert_eq!(
            tags_of(&c, &bucket, "mp").await,
            pairs(&[("stage", "raw"), ("team", "storage")])
        );
        expect_s3_error(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key("mp2")
                .tagging("aws:x=1")
                .send()
                .await,
            "InvalidTag",
            400,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copy_copies_or_replaces_tags() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-copy").await;
        put(&c, &bucket, "src", Some("origin=source&n=1")).await;
        let source = format!("{bucket}/src");

        c.copy_object()
            .bucket(&bucket)
            .key("copied")
            .copy_source(&source)
            .send()
            .await
            .expect("CopyObject (COPY by default)");
        assert_eq!(
            tags_of(&c, &bucket, "copied").await,
            pairs(&[("origin", "source"), ("n", "1")])
        );

        c.copy_object()
            .bucket(&bucket)
            .key("replaced")
            .copy_source(&source)
            .tagging_directive(TaggingDirective::Replace)
            .tagging("fresh=yes")
            .send()
            .await
            .expect("CopyObject REPLACE");
        assert_eq!(
            tags_of(&c, &bucket, "replaced").await,
            pairs(&[("fresh", "yes")])
        );

        c.copy_object()
            .bucket(&bucket)
            .key("cleared")
            .copy_source(&source)
            .tagging_directive(TaggingDirective::Replace)
            .send()
            .await
            .expect("CopyObject REPLACE without tags");
        assert_eq!(tags_of(&c, &bucket, "cleared").await, vec![]);

        expect_s3_error(
            c.copy_object()
                .bucket(&bucket)
                .key("bad")
                .copy_source(&source)
                .tagging_directive(TaggingDirective::Replace)
                .tagging("aws:no=1")
                .send()
                .await,
            "InvalidTag",
            400,
        );
        // The source keeps its own tags.
        assert_eq!(tags_of(&c, &bucket, "src").await.len(), 2);
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn bucket_tagging_put_get_delete_and_limits() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-bkt").await;
        expect_s3_error(
            c.get_bucket_tagging().bucket(&bucket).send().await,
            "NoSuchTagSet",
            404,
        );
        c.put_bucket_tagging()
            .bucket(&bucket)
            .tagging(tagging(numbered(MAX_BUCKET_TAGS)))
            .send()
            .await
            .expect("PutBucketTagging with 50 tags");
        let got = c
            .get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketTagging");
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
            expect_s3_error(
                c.put_bucket_tagging()
                    .bucket(&bucket)
                    .tagging(tagging(bad))
                    .send()
                    .await,
                "InvalidTag",
                400,
            );
        }
        // Object tags and bucket tags are separate.
        put(&c, &bucket, "k", None).await;
        assert_eq!(tags_of(&c, &bucket, "k").await, vec![]);

        c.delete_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucketTagging");
        expect_s3_error(
            c.get_bucket_tagging().bucket(&bucket).send().await,
            "NoSuchTagSet",
            404,
        );
        let missing = unique_bucket("tag-nobkt");
        expect_s3_error(
            c.get_bucket_tagging().bucket(&missing).send().await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.put_bucket_tagging()
                .bucket(&missing)
                .tagging(tagging(vec![tag("a", "1")]))
                .send()
                .await,
            "NoSuchBucket",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn recreated_bucket_starts_untagged() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "tag-recreate").await;
        c.put_bucket_tagging()
            .bucket(&bucket)
            .tagging(tagging(vec![tag("a", "1")]))
            .send()
            .await
            .expect("PutBucketTagging");
        c.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucket");
        c.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("CreateBucket again");
        expect_s3_error(
            c.get_bucket_tagging().bucket(&bucket).send().await,
            "NoSuchTagSet",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
