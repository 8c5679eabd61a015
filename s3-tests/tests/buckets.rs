//! Bucket lifecycle: CreateBucket, HeadBucket, ListBuckets, GetBucketLocation,
//! GetBucketVersioning, DeleteBucket, and the errors around them.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use cairn_s3_tests::*;

/// How far a bucket's CreationDate may be from the test's clock.
const CLOCK_TOLERANCE: Duration = Duration::from_secs(300);

#[tokio::test]
async fn create_head_and_delete_bucket() {
    bounded(async {
        let c = client();
        let bucket = unique_bucket("lifecycle");
        c.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("CreateBucket");
        c.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("HeadBucket of a new bucket");
        c.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucket of an empty bucket");
        expect_s3_error(
            c.head_bucket().bucket(&bucket).send().await,
            "NotFound",
            404,
        );
    })
    .await
}

#[tokio::test]
async fn list_buckets_shows_created_and_hides_deleted() {
    bounded(async {
        let c = client();
        let kept = create_bucket(&c, "listed").await;
        let deleted = create_bucket(&c, "listed-gone").await;
        c.delete_bucket()
            .bucket(&deleted)
            .send()
            .await
            .expect("DeleteBucket");

        let out = c.list_buckets().send().await.expect("ListBuckets");
        let names: Vec<&str> = out.buckets().iter().filter_map(|b| b.name()).collect();
        assert!(
            names.contains(&kept.as_str()),
            "ListBuckets {names:?} lacks {kept}"
        );
        assert!(
            !names.contains(&deleted.as_str()),
            "ListBuckets {names:?} still has deleted {deleted}"
        );

        let entry = out
            .buckets()
            .iter()
            .find(|b| b.name() == Some(kept.as_str()))
            .expect("entry");
        let created = entry
            .creation_date()
            .expect("ListBuckets entry has a CreationDate");
        let created = SystemTime::try_from(*created).expect("CreationDate is a valid time");
        let skew = match SystemTime::now().duration_since(created) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(
            skew < CLOCK_TOLERANCE,
            "CreationDate is {skew:?} away from now"
        );
        assert!(
            out.owner().is_some_and(|o| o.id().is_some()),
            "ListBuckets has an Owner with an ID"
        );
        cleanup_bucket(&c, &kept).await;
    })
    .await
}

#[tokio::test]
async fn get_bucket_location_is_us_east_1() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "location").await;
        let out = c
            .get_bucket_location()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketLocation");
        // S3 reports us-east-1 as an empty (null) LocationConstraint.
        let location = out.location_constraint().map(|l| l.as_str().to_owned());
        assert!(
            matches!(location.as_deref(), None | Some("")),
            "LocationConstraint for a us-east-1 bucket must be empty, got {location:?}"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn recreating_own_bucket_is_bucket_already_owned_by_you() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "twice").await;
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"v"))
            .send()
            .await
            .expect("PutObject");
        expect_s3_error(
            c.create_bucket().bucket(&bucket).send().await,
            "BucketAlreadyOwnedByYou",
            409,
        );
        // The failed re-create must not have emptied the bucket.
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("GetObject after re-create");
        assert_eq!(collect_body(got).await, b"v");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn deleting_a_non_empty_bucket_is_bucket_not_empty() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "notempty").await;
        for key in ["a", "dir/b"] {
            c.put_object()
                .bucket(&bucket)
                .key(key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .expect("Put");
        }
        expect_s3_error(
            c.delete_bucket().bucket(&bucket).send().await,
            "BucketNotEmpty",
            409,
        );
        c.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket survives a refused delete");

        c.delete_object()
            .bucket(&bucket)
            .key("a")
            .send()
            .await
            .expect("DeleteObject a");
        expect_s3_error(
            c.delete_bucket().bucket(&bucket).send().await,
            "BucketNotEmpty",
            409,
        );
        c.delete_object()
            .bucket(&bucket)
            .key("dir/b")
            .send()
            .await
            .expect("DeleteObject dir/b");
        c.delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("DeleteBucket once empty");
        expect_s3_error(
            c.head_bucket().bucket(&bucket).send().await,
            "NotFound",
            404,
        );
    })
    .await
}

#[tokio::test]
async fn head_missing_bucket_is_404() {
    bounded(async {
        let c = client();
        let err = expect_s3_error(
            c.head_bucket().bucket(unique_bucket("absent")).send().await,
            "NotFound",
            404,
        );
        assert!(
            err.into_service_error().is_not_found(),
            "HeadBucket 404 maps to the NotFound variant"
        );
    })
    .await
}

#[tokio::test]
async fn operations_on_a_missing_bucket_are_no_such_bucket() {
    bounded(async {
        let c = client();
        let bucket = unique_bucket("absent");
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await;
        expect_s3_error(put, "NoSuchBucket", 404);
        let err = expect_s3_error(
            c.get_object().bucket(&bucket).key("k").send().await,
            "NoSuchBucket",
            404,
        );
        assert_eq!(err.into_service_error().meta().code(), Some("NoSuchBucket"));
        expect_s3_error(
            c.list_objects_v2().bucket(&bucket).send().await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.list_objects().bucket(&bucket).send().await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.delete_bucket().bucket(&bucket).send().await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.get_bucket_location().bucket(&bucket).send().await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.delete_object().bucket(&bucket).key("k").send().await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key("k")
                .send()
                .await,
            "NoSuchBucket",
            404,
        );
        expect_s3_error(
            c.list_multipart_uploads().bucket(&bucket).send().await,
            "NoSuchBucket",
            404,
        );
    })
    .await
}

#[tokio::test]
async fn invalid_bucket_names_are_rejected() {
    bounded(async {
        let c = client();
        let long = "x".repeat(64);
        let invalid = [
            "ab",
            "under_score",
            "-leading-dash",
            "trailing-dash-",
            "double..dot",
            "192.168.5.4",
            long.as_str(),
        ];
        for name in invalid {
            let result = c.create_bucket().bucket(name).send().await;
            expect_s3_error(result, "InvalidBucketName", 400);
        }
        let names: Vec<String> = c
            .list_buckets()
            .send()
            .await
            .expect("ListBuckets")
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect();
        for name in invalid {
            assert!(
                !names.iter().any(|n| n == name),
                "invalid bucket {name} was created"
            );
        }
    })
    .await
}

/// A new bucket's versioning was never enabled: GetBucketVersioning answers
/// as S3 does then (no Status, no MfaDelete), so clients that ask before
/// deleting (rclone's purge) go on; a missing bucket is NoSuchBucket. (The
/// rest of versioning is in `versioning.rs`.)
#[tokio::test]
async fn get_bucket_versioning_reports_never_enabled() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "versioning").await;
        let out = c
            .get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketVersioning");
        assert_eq!(out.status(), None, "Status of a never-versioned bucket");
        assert_eq!(
            out.mfa_delete(),
            None,
            "MfaDelete of a never-versioned bucket"
        );
        expect_s3_error(
            c.get_bucket_versioning()
                .bucket(unique_bucket("versioning-missing"))
                .send()
                .await,
            "NoSuchBucket",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
