//! Bucket versioning in the operations besides GET, HEAD and DELETE that
//! name versions: DeleteObjects with version ids, CopyObject and
//! UploadPartCopy from a source version, CompleteMultipartUpload's version
//! id, tagging and GetObjectAttributes per version, and DeleteBucket of a
//! bucket that holds only noncurrent versions and delete markers.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, ObjectAttributes, ObjectIdentifier, Tag,
    Tagging,
};
use base64::Engine as _;
use cairn_s3_tests::versions::*;
use cairn_s3_tests::*;

fn tagging(k: &str, v: &str) -> Tagging {
    let tag = Tag::builder().key(k).value(v).build().expect("tag");
    Tagging::builder().tag_set(tag).build().expect("tagging")
}

async fn tags_of(
    c: &Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (Vec<(String, String)>, Option<String>) {
    let out = c
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .expect("GetObjectTagging");
    let tags = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    (tags, out.version_id().map(str::to_owned))
}

fn pair(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_owned(), v.to_owned())]
}

#[tokio::test]
async fn delete_objects_by_version_id() {
    bounded(async {
        let c = client();
        let bucket = versioned_bucket(&c, "ver-multidel").await;
        let k1v1 = put_version(&c, &bucket, "k1", b"k1 one").await;
        let k1v2 = put_version(&c, &bucket, "k1", b"k1 two").await;
        let k2v1 = put_version(&c, &bucket, "k2", b"k2 one").await;
        let id = |key: &str, v: Option<&str>| {
            ObjectIdentifier::builder()
                .key(key)
                .set_version_id(v.map(str::to_owned))
                .build()
                .expect("id")
        };
        let out = c
            .delete_objects()
            .bucket(&bucket)
            .delete(
                Delete::builder()
                    .objects(id("k1", Some(&k1v1)))
                    .objects(id("k2", None))
                    .objects(id("k3", Some("bogus")))
                    .build()
                    .expect("delete"),
            )
            .send()
            .await
            .expect("DeleteObjects");
        let k1 = out
            .deleted()
            .iter()
            .find(|d| d.key() == Some("k1"))
            .expect("k1 deleted");
        assert_eq!(
            (k1.version_id(), k1.delete_marker()),
            (Some(k1v1.as_str()), None)
        );
        let k2 = out
            .deleted()
            .iter()
            .find(|d| d.key() == Some("k2"))
            .expect("k2 deleted");
        assert_eq!((k2.version_id(), k2.delete_marker()), (None, Some(true)));
        let marker = k2
            .delete_marker_version_id()
            .expect("DeleteMarkerVersionId")
            .to_owned();
        assert_eq!(out.deleted().len(), 2);
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].key(), errors[0].code()),
            (Some("k3"), Some("InvalidArgument"))
        );

        let listed = list_all(&c, &bucket, None, None, None).await;
        let ids: Vec<&str> = listed
            .versions
            .iter()
            .map(|e| e.version_id.as_str())
            .collect();
        assert_eq!(ids, [k1v2.as_str(), k2v1.as_str()]);
        let marker_ids: Vec<&str> = listed
            .markers
            .iter()
            .map(|e| e.version_id.as_str())
            .collect();
        assert_eq!(marker_ids, [marker.as_str()]);

        let out = c
            .delete_objects()
            .bucket(&bucket)
            .delete(
                Delete::builder()
                    .objects(id("k2", Some(&marker)))
                    .build()
                    .expect("delete"),
            )
            .send()
            .await
            .expect("DeleteObjects of the marker");
        let d = out.deleted().first().expect("deleted");
        assert_eq!(d.delete_marker(), Some(true));
        assert_eq!(d.version_id(), Some(marker.as_str()));
        assert_eq!(d.delete_marker_version_id(), Some(marker.as_str()));
        assert_eq!(get(&c, &bucket, "k2", None).await.0, b"k2 one");
        purge(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn copies_name_source_versions() {
    bounded(async {
        let c = client();
        let bucket = versioned_bucket(&c, "ver-copy").await;
        let (one, two) = (random_bytes(40), random_bytes(41));
        let v1 = put_version(&c, &bucket, "src", &one).await;
        let v2 = put_version(&c, &bucket, "src", &two).await;
        let copy = |source: String, dest: &'static str| {
            c.copy_object()
                .bucket(&bucket)
                .key(dest)
                .copy_source(source)
                .send()
        };

        let out = copy(format!("{bucket}/src?versionId={v1}"), "dst")
            .await
            .expect("copy of v1");
        assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
        let d1 = out.version_id().expect("the copy's VersionId").to_owned();
        assert!(d1 != v1 && d1 != v2);
        assert_eq!(
            get(&c, &bucket, "dst", None).await,
            (one.clone(), Some(d1), Some(etag_of(&one)))
        );
        let out = copy(format!("{bucket}/src"), "dst")
            .await
            .expect("copy of the current");
        assert_eq!(out.copy_source_version_id(), Some(v2.as_str()));
        assert_eq!(get(&c, &bucket, "dst", None).await.0, two);

        // Copying an old version onto its own key restores it.
        let restored = copy(format!("{bucket}/src?versionId={v1}"), "src")
            .await
            .expect("restore v1");
        assert_eq!(
            get(&c, &bucket, "src", None).await.1.as_deref(),
            restored.version_id()
        );
        assert_eq!(get(&c, &bucket, "src", None).await.0, one);

        let (_, marker) = delete(&c, &bucket, "src", None).await;
        let marker = marker.expect("marker id");
        expect_s3_error(
            copy(format!("{bucket}/src?versionId={marker}"), "dst").await,
            "InvalidRequest",
            400,
        );
        expect_s3_error(copy(format!("{bucket}/src"), "dst").await, "NoSuchKey", 404);
        let unknown = hex::encode(random_bytes(VERSION_ID_BYTES));
        expect_s3_error(
            copy(format!("{bucket}/src?versionId={unknown}"), "dst").await,
            "NoSuchVersion",
            404,
        );
        assert_eq!(
            get(&c, &bucket, "dst", None).await.0,
            two,
            "refused copies change nothing"
        );
        purge(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn multipart_uploads_make_versions() {
    bounded(async {
        let c = client();
        let bucket = versioned_bucket(&c, "ver-mpu").await;
        let old = random_bytes(1000);
        let v1 = put_version(&c, &bucket, "src", &old).await;
        put_version(&c, &bucket, "src", b"newer").await;
        let upload_id = start_upload(&c, &bucket, "big").await;
        let first = random_bytes(5 * MIB);
        let p1 = c
            .upload_part()
            .bucket(&bucket)
            .key("big")
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(first.clone()))
            .send()
            .await
            .expect("UploadPart");
        let p2 = c
            .upload_part_copy()
            .bucket(&bucket)
            .key("big")
            .upload_id(&upload_id)
            .part_number(2)
            .copy_source(format!("{bucket}/src?versionId={v1}"))
            .send()
            .await
            .expect("UploadPartCopy of an old version");
        assert_eq!(p2.copy_source_version_id(), Some(v1.as_str()));
        let parts = vec![
            CompletedPart::builder()
                .part_number(1)
                .set_e_tag(p1.e_tag().map(str::to_owned))
                .build(),
            CompletedPart::builder()
                .part_number(2)
                .set_e_tag(
                    p2.copy_part_result()
                        .and_then(|r| r.e_tag())
                        .map(str::to_owned),
                )
                .build(),
        ];
        let done = c
            .complete_multipart_upload()
            .bucket(&bucket)
            .key("big")
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .expect("CompleteMultipartUpload");
        let v = done
            .version_id()
            .expect("Complete answers a VersionId")
            .to_owned();
        let (body, version_id, etag) = get(&c, &bucket, "big", Some(&v)).await;
        assert_eq!(body, [first.as_slice(), old.as_slice()].concat());
        assert_eq!(version_id, Some(v));
        assert_eq!(etag.as_deref(), done.e_tag());
        purge(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn each_version_has_its_own_tags() {
    bounded(async {
        let c = client();
        let bucket = versioned_bucket(&c, "ver-tags").await;
        let put_tagged = |generation: &'static str| {
            c.put_object()
                .bucket(&bucket)
                .key("k")
                .tagging(format!("gen={generation}"))
                .body(ByteStream::from_static(b"x"))
                .send()
        };
        let v1 = put_tagged("1")
            .await
            .expect("PUT 1")
            .version_id()
            .expect("v1")
            .to_owned();
        let v2 = put_tagged("2")
            .await
            .expect("PUT 2")
            .version_id()
            .expect("v2")
            .to_owned();
        assert_eq!(
            tags_of(&c, &bucket, "k", Some(&v1)).await,
            (pair("gen", "1"), Some(v1.clone()))
        );
        assert_eq!(
            tags_of(&c, &bucket, "k", None).await,
            (pair("gen", "2"), Some(v2.clone()))
        );

        let out = c
            .put_object_tagging()
            .bucket(&bucket)
            .key("k")
            .version_id(&v1)
            .tagging(tagging("old", "yes"))
            .send()
            .await
            .expect("PutObjectTagging of v1");
        assert_eq!(out.version_id(), Some(v1.as_str()));
        assert_eq!(
            tags_of(&c, &bucket, "k", Some(&v1)).await.0,
            pair("old", "yes")
        );
        assert_eq!(
            tags_of(&c, &bucket, "k", None).await.0,
            pair("gen", "2"),
            "the latest keeps its tags"
        );
        // Without a versionId the current version is tagged, and named.
        let out = c
            .put_object_tagging()
            .bucket(&bucket)
            .key("k")
            .tagging(tagging("gen", "2"))
            .send()
            .await
            .expect("PutObjectTagging of the current version");
        assert_eq!(out.version_id(), Some(v2.as_str()));
        let out = c
            .delete_object_tagging()
            .bucket(&bucket)
            .key("k")
            .version_id(&v1)
            .send()
            .await
            .expect("DeleteObjectTagging");
        assert_eq!(out.version_id(), Some(v1.as_str()));
        assert_eq!(tags_of(&c, &bucket, "k", Some(&v1)).await.0, vec![]);
        assert_eq!(
            tags_of(&c, &bucket, "k", Some(&v2)).await.0,
            pair("gen", "2")
        );

        let attributes = c
            .get_object_attributes()
            .bucket(&bucket)
            .key("k")
            .version_id(&v1)
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await
            .expect("GetObjectAttributes of v1");
        assert_eq!(attributes.version_id(), Some(v1.as_str()));
        assert_eq!(attributes.e_tag(), Some(md5_hex(b"x").as_str()));

        let (_, marker) = delete(&c, &bucket, "k", None).await;
        let marker = marker.expect("marker id");
        expect_s3_error(
            c.get_object_tagging().bucket(&bucket).key("k").send().await,
            "MethodNotAllowed",
            405,
        );
        expect_s3_error(
            c.put_object_tagging()
                .bucket(&bucket)
                .key("k")
                .version_id(&marker)
                .tagging(tagging("a", "b"))
                .send()
                .await,
            "MethodNotAllowed",
            405,
        );
        // Tagging the key whose latest version is the marker: 405 with the
        // marker's headers, as GET answers.
        let body =
            br#"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"#;
        let md5 = base64::engine::general_purpose::STANDARD
            .encode(hex::decode(md5_hex(body)).expect("hex"));
        let r = target()
            .send_signed(
                RawRequest::new("PUT", format!("/{bucket}/k?tagging"))
                    .header("content-md5", md5)
                    .body(body.to_vec()),
            )
            .await
            .expect("raw PutObjectTagging");
        assert_eq!(r.status, 405, "{}", r.text());
        assert_eq!(r.header("x-amz-delete-marker"), Some("true"));
        assert_eq!(r.header("x-amz-version-id"), Some(marker.as_str()));
        assert_eq!(
            tags_of(&c, &bucket, "k", Some(&v2)).await.0,
            pair("gen", "2"),
            "noncurrent versions keep tags"
        );
        purge(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn delete_bucket_needs_every_version_gone() {
    bounded(async {
        let c = client();
        let bucket = versioned_bucket(&c, "ver-delbucket").await;
        let v1 = put_version(&c, &bucket, "k", b"only").await;
        let (_, marker) = delete(&c, &bucket, "k", None).await;
        let marker = marker.expect("marker id");
        let listed = c
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        assert_eq!(listed.key_count(), Some(0), "nothing current");
        expect_s3_error(
            c.delete_bucket().bucket(&bucket).send().await,
            "BucketNotEmpty",
            409,
        );
        // A lone delete marker still keeps the bucket.
        delete(&c, &bucket, "k", Some(&v1)).await;
        expect_s3_error(
            c.delete_bucket().bucket(&bucket).send().await,
            "BucketNotEmpty",
            409,
        );
        delete(&c, &bucket, "k", Some(&marker)).await;
        c.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucket once every version is gone");
        expect_s3_error(
            c.head_bucket().bucket(&bucket).send().await,
            "NotFound",
            404,
        );
    })
    .await
}
