//! Bucket lifecycle: CreateBucket, HeadBucket, ListBuckets, GetBucketLocation,
//! GetBucketVersioning, DeleteBucket, and the errors around them.

use std::time::{Duration, SystemTime};

use cairn_s3_tests::*;

/// How far a bucket's CreationDate may be from the test's clock.
const CLOCK_TOLERANCE: Duration = Duration::from_secs(300);

/// Asserts that DeleteBucket is refused: the bucket still holds objects.
async fn assert_not_empty(c: &Client, bucket: &str) {
    let refused = c.delete_bucket().bucket(bucket).send().await;
    expect_s3_error(refused, "BucketNotEmpty", 409);
}

#[tokio::test]
async fn create_head_and_delete_bucket() {
    bounded(async {
        let c = client();
        let bucket = unique_bucket("lifecycle");
        create_bucket_named(&c, &bucket).await;
        // HeadBucket of a new bucket, DeleteBucket of an empty bucket.
        head_bucket(&c, &bucket).await;
        delete_bucket(&c, &bucket).await;
        assert_no_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn list_buckets_shows_created_and_hides_deleted() {
    with_bucket("listed", async |c, kept| {
        let deleted = create_bucket(c, "listed-gone").await;
        delete_bucket(c, &deleted).await;

        let out = c.list_buckets().send().await.expect("ListBuckets");
        let names: Vec<&str> = out.buckets().iter().filter_map(|b| b.name()).collect();
        assert!(names.contains(&kept), "ListBuckets {names:?} lacks {kept}");
        let gone = !names.contains(&deleted.as_str());
        assert!(gone, "ListBuckets {names:?} still has deleted {deleted}");

        let entry = out
            .buckets()
            .iter()
            .find(|b| b.name() == Some(kept))
            .expect("entry");
        let created = entry
            .creation_date()
            .expect("ListBuckets entry has a CreationDate");
        let created = SystemTime::try_from(*created).expect("CreationDate is a valid time");
        let skew = match SystemTime::now().duration_since(created) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        let recent = skew < CLOCK_TOLERANCE;
        assert!(recent, "CreationDate is {skew:?} away from now");
        let owner = out.owner().is_some_and(|o| o.id().is_some());
        assert!(owner, "ListBuckets has an Owner with an ID");
    })
    .await
}

#[tokio::test]
async fn get_bucket_location_is_us_east_1() {
    with_bucket("location", async |c, bucket| {
        let out = c.get_bucket_location().bucket(bucket).send().await;
        let out = out.expect("GetBucketLocation");
        // S3 reports us-east-1 as an empty (null) LocationConstraint.
        let location = out.location_constraint().map(|l| l.as_str().to_owned());
        assert!(
            matches!(location.as_deref(), None | Some("")),
            "LocationConstraint for a us-east-1 bucket must be empty, got {location:?}"
        );
    })
    .await
}

/// Re-creating a bucket you own: 200 in us-east-1 (the region's legacy
/// rule), 409 BucketAlreadyOwnedByYou elsewhere; either way the bucket
/// keeps what it holds.
#[tokio::test]
async fn recreating_own_bucket_succeeds_in_us_east_1_and_changes_nothing() {
    with_bucket("twice", async |c, bucket| {
        put_bytes(c, bucket, "k", b"v").await;
        let again = c.create_bucket().bucket(bucket).send().await;
        if target().region == "us-east-1" {
            again.expect("re-creating an owned bucket in us-east-1 answers 200");
        } else {
            expect_s3_error(again, "BucketAlreadyOwnedByYou", 409);
        }
        assert_eq!(get_bytes(c, bucket, "k").await, b"v");
    })
    .await
}

#[tokio::test]
async fn deleting_a_non_empty_bucket_is_bucket_not_empty() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "notempty").await;
        for key in ["a", "dir/b"] {
            put_bytes(&c, &bucket, key, b"x").await;
        }
        assert_not_empty(&c, &bucket).await;
        // The bucket survives a refused delete.
        head_bucket(&c, &bucket).await;

        delete_object(&c, &bucket, "a").await;
        assert_not_empty(&c, &bucket).await;
        delete_object(&c, &bucket, "dir/b").await;
        // Once empty it can go.
        delete_bucket(&c, &bucket).await;
        assert_no_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn head_missing_bucket_is_404() {
    bounded(async {
        let c = client();
        let absent = c.head_bucket().bucket(unique_bucket("absent")).send().await;
        let err = expect_s3_error(absent, "NotFound", 404);
        let variant = err.into_service_error().is_not_found();
        assert!(variant, "HeadBucket 404 maps to the NotFound variant");
    })
    .await
}

#[tokio::test]
async fn operations_on_a_missing_bucket_are_no_such_bucket() {
    bounded(async {
        let c = client();
        let bucket = unique_bucket("absent");
        let put = put_request(&c, &bucket, "k", b"x").send().await;
        expect_s3_error(put, "NoSuchBucket", 404);
        let get = get_request(&c, &bucket, "k").send().await;
        let err = expect_s3_error(get, "NoSuchBucket", 404);
        assert_eq!(err.into_service_error().meta().code(), Some("NoSuchBucket"));
        let v2 = c.list_objects_v2().bucket(&bucket).send().await;
        expect_s3_error(v2, "NoSuchBucket", 404);
        let v1 = c.list_objects().bucket(&bucket).send().await;
        expect_s3_error(v1, "NoSuchBucket", 404);
        let delete = c.delete_bucket().bucket(&bucket).send().await;
        expect_s3_error(delete, "NoSuchBucket", 404);
        let location = c.get_bucket_location().bucket(&bucket).send().await;
        expect_s3_error(location, "NoSuchBucket", 404);
        let delete = c.delete_object().bucket(&bucket).key("k").send().await;
        expect_s3_error(delete, "NoSuchBucket", 404);
        let upload = upload_request(&c, &bucket, "k").send().await;
        expect_s3_error(upload, "NoSuchBucket", 404);
        let uploads = c.list_multipart_uploads().bucket(&bucket).send().await;
        expect_s3_error(uploads, "NoSuchBucket", 404);
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
        let listed = c.list_buckets().send().await.expect("ListBuckets");
        let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
        for name in invalid {
            let created = names.contains(&name);
            assert!(!created, "invalid bucket {name} was created");
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
    with_bucket("versioning", async |c, bucket| {
        let out = c.get_bucket_versioning().bucket(bucket).send().await;
        let out = out.expect("GetBucketVersioning");
        assert_eq!(out.status(), None, "Status of a never-versioned bucket");
        let mfa = out.mfa_delete();
        assert_eq!(mfa, None, "MfaDelete of a never-versioned bucket");
        let missing = c
            .get_bucket_versioning()
            .bucket(unique_bucket("versioning-missing"));
        expect_s3_error(missing.send().await, "NoSuchBucket", 404);
    })
    .await
}
