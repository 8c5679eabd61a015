//! Bucket versioning in the operations besides GET, HEAD and DELETE that
//! name versions: DeleteObjects with version ids, CopyObject and
//! UploadPartCopy from a source version, CompleteMultipartUpload's version
//! id, tagging and GetObjectAttributes per version, and DeleteBucket of a
//! bucket that holds only noncurrent versions and delete markers.

use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::types::{Delete, ObjectAttributes, ObjectIdentifier};
use cairn_s3_tests::versions::*;
use cairn_s3_tests::*;

fn pair(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_owned(), v.to_owned())]
}

/// DeleteObjects of these (key, version) pairs.
async fn delete_versions(
    c: &Client,
    bucket: &str,
    ids: &[(&str, Option<&str>)],
) -> DeleteObjectsOutput {
    let ids = ids.iter().map(|(key, v)| {
        let id = ObjectIdentifier::builder().key(*key);
        id.set_version_id(v.map(str::to_owned)).build().expect("id")
    });
    let delete = Delete::builder().set_objects(Some(ids.collect())).build();
    let request = c
        .delete_objects()
        .bucket(bucket)
        .delete(delete.expect("delete"));
    request.send().await.expect("DeleteObjects")
}

/// The version ids of listed entries, in order.
fn ids_of(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.version_id.as_str()).collect()
}

#[tokio::test]
async fn delete_objects_by_version_id() {
    with_versioned_bucket("ver-multidel", async |c, bucket| {
        let k1v1 = put_version(c, bucket, "k1", b"k1 one").await;
        let k1v2 = put_version(c, bucket, "k1", b"k1 two").await;
        let k2v1 = put_version(c, bucket, "k2", b"k2 one").await;
        let ids = [
            ("k1", Some(k1v1.as_str())),
            ("k2", None),
            ("k3", Some("bogus")),
        ];
        let out = delete_versions(c, bucket, &ids).await;
        let deleted = |key: &str| out.deleted().iter().find(|d| d.key() == Some(key)).cloned();
        let k1 = deleted("k1").expect("k1 deleted");
        let k1_answer = (k1.version_id(), k1.delete_marker());
        assert_eq!(k1_answer, (Some(k1v1.as_str()), None));
        let k2 = deleted("k2").expect("k2 deleted");
        assert_eq!((k2.version_id(), k2.delete_marker()), (None, Some(true)));
        let marker = k2
            .delete_marker_version_id()
            .expect("DeleteMarkerVersionId");
        let marker = marker.to_owned();
        assert_eq!(out.deleted().len(), 2);
        let errors = out.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let error = (errors[0].key(), errors[0].code());
        assert_eq!(error, (Some("k3"), Some("InvalidArgument")));

        let listed = list_all(c, bucket, None, None, None).await;
        assert_eq!(ids_of(&listed.versions), [k1v2.as_str(), k2v1.as_str()]);
        assert_eq!(ids_of(&listed.markers), [marker.as_str()]);

        // DeleteObjects of the marker.
        let out = delete_versions(c, bucket, &[("k2", Some(&marker))]).await;
        let d = out.deleted().first().expect("deleted");
        assert_eq!(d.delete_marker(), Some(true));
        assert_eq!(d.version_id(), Some(marker.as_str()));
        assert_eq!(d.delete_marker_version_id(), Some(marker.as_str()));
        assert_eq!(get(c, bucket, "k2", None).await.0, b"k2 one");
    })
    .await
}

#[tokio::test]
async fn copies_name_source_versions() {
    with_versioned_bucket("ver-copy", async |c, bucket| {
        let (one, two) = (random_bytes(40), random_bytes(41));
        let v1 = put_version(c, bucket, "src", &one).await;
        let v2 = put_version(c, bucket, "src", &two).await;
        let copy = |source: String, dest: &str| copy_request(c, bucket, dest, &source).send();

        let out = copy(format!("{bucket}/src?versionId={v1}"), "dst").await;
        let out = out.expect("copy of v1");
        assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
        let d1 = out.version_id().expect("the copy's VersionId").to_owned();
        assert!(d1 != v1 && d1 != v2);
        let copied = get(c, bucket, "dst", None).await;
        assert_eq!(copied, (one.clone(), Some(d1), Some(etag_of(&one))));
        let out = copy(format!("{bucket}/src"), "dst").await;
        let out = out.expect("copy of the current");
        assert_eq!(out.copy_source_version_id(), Some(v2.as_str()));
        assert_eq!(get(c, bucket, "dst", None).await.0, two);

        // Copying an old version onto its own key restores it.
        let restored = copy(format!("{bucket}/src?versionId={v1}"), "src").await;
        let restored = restored.expect("restore v1");
        let current = get(c, bucket, "src", None).await.1;
        assert_eq!(current.as_deref(), restored.version_id());
        assert_eq!(get(c, bucket, "src", None).await.0, one);

        let (_, marker) = delete(c, bucket, "src", None).await;
        let marker = marker.expect("marker id");
        let of_marker = copy(format!("{bucket}/src?versionId={marker}"), "dst").await;
        expect_s3_error(of_marker, "InvalidRequest", 400);
        expect_s3_error(copy(format!("{bucket}/src"), "dst").await, "NoSuchKey", 404);
        let unknown = hex::encode(random_bytes(VERSION_ID_BYTES));
        let of_unknown = copy(format!("{bucket}/src?versionId={unknown}"), "dst").await;
        expect_s3_error(of_unknown, "NoSuchVersion", 404);
        let unchanged = get(c, bucket, "dst", None).await.0;
        assert_eq!(unchanged, two, "refused copies change nothing");
    })
    .await
}

#[tokio::test]
async fn multipart_uploads_make_versions() {
    with_versioned_bucket("ver-mpu", async |c, bucket| {
        let old = random_bytes(1000);
        let v1 = put_version(c, bucket, "src", &old).await;
        put_version(c, bucket, "src", b"newer").await;
        let upload_id = start_upload(c, bucket, "big").await;
        let first = random_bytes(5 * MIB);
        let p1 = upload_part(c, bucket, "big", &upload_id, 1, &first).await;
        let p2 = c
            .upload_part_copy()
            .bucket(bucket)
            .key("big")
            .upload_id(&upload_id)
            .part_number(2)
            .copy_source(format!("{bucket}/src?versionId={v1}"))
            .send()
            .await
            .expect("UploadPartCopy of an old version");
        assert_eq!(p2.copy_source_version_id(), Some(v1.as_str()));
        let p2 = part(2, p2.copy_part_result().and_then(|r| r.e_tag()));
        let done = complete(c, bucket, "big", &upload_id, vec![p1, p2]).await;
        let v = done.version_id().expect("Complete answers a VersionId");
        let v = v.to_owned();
        let (body, version_id, etag) = get(c, bucket, "big", Some(&v)).await;
        assert_eq!(body, [first.as_slice(), old.as_slice()].concat());
        assert_eq!(version_id, Some(v));
        assert_eq!(etag.as_deref(), done.e_tag());
    })
    .await
}

#[tokio::test]
async fn each_version_has_its_own_tags() {
    with_versioned_bucket("ver-tags", async |c, bucket| {
        let put_tagged = async |generation: &str| {
            let tags = format!("gen={generation}");
            let put = put_with(c, bucket, "k", b"x", |r| r.tagging(tags)).await;
            put.version_id().expect("version id").to_owned()
        };
        let v1 = put_tagged("1").await;
        let v2 = put_tagged("2").await;
        let tags = tags_of(c, bucket, "k", Some(&v1)).await;
        assert_eq!(tags, (pair("gen", "1"), Some(v1.clone())));
        let tags = tags_of(c, bucket, "k", None).await;
        assert_eq!(tags, (pair("gen", "2"), Some(v2.clone())));

        let put_tags = |version: Option<&str>, k: &str, v: &str| {
            let request = c.put_object_tagging().bucket(bucket).key("k");
            let request = request.set_version_id(version.map(str::to_owned));
            request.tagging(tagging(vec![tag(k, v)]))
        };
        let out = put_tags(Some(&v1), "old", "yes").send().await;
        let out = out.expect("PutObjectTagging of v1");
        assert_eq!(out.version_id(), Some(v1.as_str()));
        let old = tags_of(c, bucket, "k", Some(&v1)).await.0;
        assert_eq!(old, pair("old", "yes"));
        let latest = tags_of(c, bucket, "k", None).await.0;
        assert_eq!(latest, pair("gen", "2"), "the latest keeps its tags");
        // Without a versionId the current version is tagged, and named.
        let out = put_tags(None, "gen", "2").send().await;
        let out = out.expect("PutObjectTagging of the current version");
        assert_eq!(out.version_id(), Some(v2.as_str()));
        let untag = c.delete_object_tagging().bucket(bucket).key("k");
        let out = untag.version_id(&v1).send().await;
        let out = out.expect("DeleteObjectTagging");
        assert_eq!(out.version_id(), Some(v1.as_str()));
        assert_eq!(tags_of(c, bucket, "k", Some(&v1)).await.0, vec![]);
        let second = tags_of(c, bucket, "k", Some(&v2)).await.0;
        assert_eq!(second, pair("gen", "2"));

        let attributes = c
            .get_object_attributes()
            .bucket(bucket)
            .key("k")
            .version_id(&v1)
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await
            .expect("GetObjectAttributes of v1");
        assert_eq!(attributes.version_id(), Some(v1.as_str()));
        assert_eq!(attributes.e_tag(), Some(md5_hex(b"x").as_str()));

        let (_, marker) = delete(c, bucket, "k", None).await;
        let marker = marker.expect("marker id");
        let current = c.get_object_tagging().bucket(bucket).key("k").send().await;
        expect_s3_error(current, "MethodNotAllowed", 405);
        let of_marker = put_tags(Some(&marker), "a", "b").send().await;
        expect_s3_error(of_marker, "MethodNotAllowed", 405);
        // Tagging the key whose latest version is the marker: 405 with the
        // marker's headers, as GET answers.
        let body =
            br#"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"#;
        let r = send_raw(
            RawRequest::new("PUT", format!("/{bucket}/k?tagging"))
                .header("content-md5", content_md5(body))
                .body(body.to_vec()),
        )
        .await;
        assert_eq!(r.status, 405, "{}", r.text());
        assert_eq!(r.header("x-amz-delete-marker"), Some("true"));
        assert_eq!(r.header("x-amz-version-id"), Some(marker.as_str()));
        let kept = tags_of(c, bucket, "k", Some(&v2)).await.0;
        assert_eq!(kept, pair("gen", "2"), "noncurrent versions keep tags");
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
        let listed = list_v2(&c, &bucket).await;
        assert_eq!(listed.key_count(), Some(0), "nothing current");
        let refused = c.delete_bucket().bucket(&bucket).send().await;
        expect_s3_error(refused, "BucketNotEmpty", 409);
        // A lone delete marker still keeps the bucket.
        delete(&c, &bucket, "k", Some(&v1)).await;
        let refused = c.delete_bucket().bucket(&bucket).send().await;
        expect_s3_error(refused, "BucketNotEmpty", 409);
        delete(&c, &bucket, "k", Some(&marker)).await;
        // Once every version is gone the bucket can go.
        delete_bucket(&c, &bucket).await;
        assert_no_bucket(&c, &bucket).await;
    })
    .await
}
