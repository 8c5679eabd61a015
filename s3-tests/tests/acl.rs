//! ACLs as AWS answers them on buckets with Object Ownership
//! `BucketOwnerEnforced` (ACLs disabled): Get answers the owner (the same as
//! ListBuckets') with FULL_CONTROL; Put, and `x-amz-acl` on PutObject,
//! CreateMultipartUpload, CopyObject and CreateBucket, succeed only when they
//! grant the owner alone, and are otherwise refused with AWS's codes.

use aws_sdk_s3::operation::put_bucket_acl::builders::PutBucketAclFluentBuilder;
use aws_sdk_s3::operation::put_object_acl::builders::PutObjectAclFluentBuilder;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, ObjectOwnership, Owner,
    Permission, Type,
};
use cairn_s3_tests::*;

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

async fn owner_id(c: &Client) -> String {
    let out = c.list_buckets().send().await.expect("ListBuckets");
    out.owner()
        .and_then(|o| o.id())
        .expect("ListBuckets names an owner")
        .to_string()
}

/// Checks an ACL answer: the owner, and one FULL_CONTROL grant to them.
fn assert_owner_only(owner: Option<&Owner>, grants: &[Grant], expected_id: &str) {
    let owner = owner.expect("an Owner");
    assert_eq!(owner.id(), Some(expected_id));
    assert_eq!(grants.len(), 1, "one grant: {grants:?}");
    let grantee = grants[0].grantee().expect("a Grantee");
    assert_eq!(grantee.r#type(), &Type::CanonicalUser);
    assert_eq!(grantee.id(), Some(expected_id));
    assert_eq!(owner.display_name(), grantee.display_name());
    assert_eq!(grants[0].permission(), Some(&Permission::FullControl));
}

fn canonical(id: &str, permission: Permission) -> Grant {
    Grant::builder()
        .grantee(
            Grantee::builder()
                .r#type(Type::CanonicalUser)
                .id(id)
                .build()
                .expect("grantee"),
        )
        .permission(permission)
        .build()
}

fn policy(owner: &str, grants: Vec<Grant>) -> AccessControlPolicy {
    AccessControlPolicy::builder()
        .owner(Owner::builder().id(owner).build())
        .set_grants(Some(grants))
        .build()
}

fn public_read_grant() -> Grant {
    Grant::builder()
        .grantee(
            Grantee::builder()
                .r#type(Type::Group)
                .uri(ALL_USERS)
                .build()
                .expect("grantee"),
        )
        .permission(Permission::Read)
        .build()
}

async fn put(c: &Client, bucket: &str, key: &str) {
    put_bytes(c, bucket, key, b"acl").await;
}

/// A PutBucketAcl, for the caller to say what it grants and send.
fn put_bucket_acl(c: &Client, bucket: &str) -> PutBucketAclFluentBuilder {
    c.put_bucket_acl().bucket(bucket)
}

/// A PutObjectAcl, for the caller to say what it grants and send.
fn put_object_acl(c: &Client, bucket: &str, key: &str) -> PutObjectAclFluentBuilder {
    c.put_object_acl().bucket(bucket).key(key)
}

/// Asserts that a PutBucketAcl or PutObjectAcl was refused as ACLs are disabled.
#[track_caller]
fn assert_not_supported<T: std::fmt::Debug, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    expect_s3_error(result, "AccessControlListNotSupported", 400);
}

#[tokio::test]
async fn get_acls_answer_the_owner_with_full_control() {
    with_bucket("acl-get", async |c, bucket| {
        let id = owner_id(c).await;
        let acl = c.get_bucket_acl().bucket(bucket).send().await;
        let acl = acl.expect("GetBucketAcl");
        assert_owner_only(acl.owner(), acl.grants(), &id);

        put(c, bucket, "k").await;
        let acl = c.get_object_acl().bucket(bucket).key("k").send().await;
        let acl = acl.expect("GetObjectAcl");
        assert_owner_only(acl.owner(), acl.grants(), &id);

        let missing = c
            .get_object_acl()
            .bucket(bucket)
            .key("missing")
            .send()
            .await;
        expect_s3_error(missing, "NoSuchKey", 404);
        let no_bucket = c.get_bucket_acl().bucket(unique_bucket("acl-nobucket"));
        expect_s3_error(no_bucket.send().await, "NoSuchBucket", 404);
    })
    .await
}

#[tokio::test]
async fn put_bucket_acl_accepts_only_owner_full_control() {
    with_bucket("acl-putb", async |c, bucket| {
        let id = owner_id(c).await;
        let owner_full = || policy(&id, vec![canonical(&id, Permission::FullControl)]);
        let private = put_bucket_acl(c, bucket).acl(BucketCannedAcl::Private);
        private.send().await.expect("canned private");
        let owner_only = put_bucket_acl(c, bucket).access_control_policy(owner_full());
        owner_only
            .send()
            .await
            .expect("a policy granting the owner FULL_CONTROL");
        let header = put_bucket_acl(c, bucket).grant_full_control(format!("id=\"{id}\""));
        header
            .send()
            .await
            .expect("x-amz-grant-full-control to the owner");

        for canned in [
            BucketCannedAcl::PublicRead,
            BucketCannedAcl::AuthenticatedRead,
        ] {
            assert_not_supported(put_bucket_acl(c, bucket).acl(canned).send().await);
        }
        let with_public = vec![canonical(&id, Permission::FullControl), public_read_grant()];
        let read_only = vec![canonical(&id, Permission::Read)];
        for grants in [with_public, read_only] {
            let request = put_bucket_acl(c, bucket).access_control_policy(policy(&id, grants));
            assert_not_supported(request.send().await);
        }
        let public = put_bucket_acl(c, bucket).grant_read(format!("uri=\"{ALL_USERS}\""));
        assert_not_supported(public.send().await);
        // Nothing said at all.
        let raw = raw_signed("PUT", format!("/{bucket}?acl")).await;
        assert_raw_error(&raw, "MissingSecurityHeader", 400);

        // Refusals changed nothing.
        let acl = c.get_bucket_acl().bucket(bucket).send().await.expect("Get");
        assert_owner_only(acl.owner(), acl.grants(), &id);
        let missing = put_bucket_acl(c, &unique_bucket("acl-nobucket"));
        let missing = missing.acl(BucketCannedAcl::Private).send().await;
        expect_s3_error(missing, "NoSuchBucket", 404);
    })
    .await
}

#[tokio::test]
async fn put_object_acl_accepts_only_owner_full_control() {
    with_bucket("acl-puto", async |c, bucket| {
        let id = owner_id(c).await;
        put(c, bucket, "k").await;
        for canned in [
            ObjectCannedAcl::Private,
            ObjectCannedAcl::BucketOwnerFullControl,
        ] {
            let owner_only = put_object_acl(c, bucket, "k").acl(canned).send().await;
            owner_only.expect("an owner-only canned ACL");
        }
        let owner_full = policy(&id, vec![canonical(&id, Permission::FullControl)]);
        let owner_only = put_object_acl(c, bucket, "k").access_control_policy(owner_full);
        owner_only.send().await.expect("owner-only policy");
        for canned in [
            ObjectCannedAcl::PublicRead,
            ObjectCannedAcl::PublicReadWrite,
            ObjectCannedAcl::BucketOwnerRead,
        ] {
            assert_not_supported(put_object_acl(c, bucket, "k").acl(canned).send().await);
        }
        let public = policy(&id, vec![public_read_grant()]);
        let public = put_object_acl(c, bucket, "k").access_control_policy(public);
        assert_not_supported(public.send().await);
        let missing = put_object_acl(c, bucket, "missing").acl(ObjectCannedAcl::Private);
        expect_s3_error(missing.send().await, "NoSuchKey", 404);
    })
    .await
}

#[tokio::test]
async fn canned_acl_headers_on_writes() {
    with_bucket("acl-writes", async |c, bucket| {
        let private = put_request(c, bucket, "private", b"x").acl(ObjectCannedAcl::Private);
        private.send().await.expect("PutObject x-amz-acl: private");
        let public = put_request(c, bucket, "public", b"x").acl(ObjectCannedAcl::PublicRead);
        assert_not_supported(public.send().await);
        assert_no_object(c, bucket, "public").await;
        let grant =
            put_request(c, bucket, "public", b"x").grant_read(format!("uri=\"{ALL_USERS}\""));
        assert_not_supported(grant.send().await);
        let upload = upload_request(c, bucket, "mp").acl(ObjectCannedAcl::PublicRead);
        assert_not_supported(upload.send().await);
        let upload = upload_request(c, bucket, "mp").acl(ObjectCannedAcl::Private);
        upload
            .send()
            .await
            .expect("CreateMultipartUpload x-amz-acl: private");
        let copy = copy_request(c, bucket, "copy", &format!("{bucket}/private"));
        assert_not_supported(copy.acl(ObjectCannedAcl::PublicRead).send().await);
    })
    .await
}

#[tokio::test]
async fn create_bucket_acl_and_ownership() {
    bounded(async {
        let c = client();
        let private = unique_bucket("acl-cb");
        let create = c
            .create_bucket()
            .bucket(&private)
            .acl(BucketCannedAcl::Private);
        create
            .send()
            .await
            .expect("CreateBucket x-amz-acl: private");
        let refused = unique_bucket("acl-cb-pub");
        let public = c
            .create_bucket()
            .bucket(&refused)
            .acl(BucketCannedAcl::PublicRead);
        expect_s3_error(
            public.send().await,
            "InvalidBucketAclWithObjectOwnership",
            400,
        );
        assert_no_bucket(&c, &refused).await;
        let enforced = unique_bucket("acl-cb-enf");
        let create = c.create_bucket().bucket(&enforced);
        let create = create.object_ownership(ObjectOwnership::BucketOwnerEnforced);
        create
            .send()
            .await
            .expect("CreateBucket with BucketOwnerEnforced");
        cleanup_bucket(&c, &private).await;
        cleanup_bucket(&c, &enforced).await;
    })
    .await
}

#[tokio::test]
async fn acls_cannot_be_enabled() {
    bounded(async {
        if !target().in_process {
            eprintln!(
                "skipped: AWS lets a bucket enable ACLs; cairn cannot ({ENDPOINT_ENV} is set)"
            );
            return;
        }
        let c = client();
        let bucket = unique_bucket("acl-writer");
        for ownership in [
            ObjectOwnership::ObjectWriter,
            ObjectOwnership::BucketOwnerPreferred,
        ] {
            let create = c
                .create_bucket()
                .bucket(&bucket)
                .object_ownership(ownership);
            expect_s3_error(create.send().await, "NotImplemented", 501);
        }
        assert_no_bucket(&c, &bucket).await;
    })
    .await
}

/// OwnershipControls: every bucket answers `BucketOwnerEnforced`; putting
/// it again succeeds, asking for ACLs (`ObjectWriter`) or removing the
/// setting is 501 and changes nothing; a missing bucket is NoSuchBucket.
#[tokio::test]
async fn ownership_controls_are_bucket_owner_enforced() {
    use aws_sdk_s3::types::{OwnershipControls, OwnershipControlsRule};
    with_bucket("ownership", async |c, bucket| {
        let enforced = |out: &aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsOutput| {
            out.ownership_controls()
                .map(|o| o.rules().iter().map(|r| r.object_ownership().clone()).collect::<Vec<_>>())
        };
        let got = c.get_bucket_ownership_controls().bucket(bucket).send().await;
        let got = got.expect("GetBucketOwnershipControls");
        assert_eq!(enforced(&got), Some(vec![ObjectOwnership::BucketOwnerEnforced]));
        let controls = |o: ObjectOwnership| {
            let rule = OwnershipControlsRule::builder().object_ownership(o).build();
            OwnershipControls::builder().rules(rule.expect("rule")).build().expect("controls")
        };
        let put = c.put_bucket_ownership_controls().bucket(bucket);
        put.ownership_controls(controls(ObjectOwnership::BucketOwnerEnforced))
            .send()
            .await
            .expect("BucketOwnerEnforced is accepted");
        let put = c.put_bucket_ownership_controls().bucket(bucket);
        let writer = put.ownership_controls(controls(ObjectOwnership::ObjectWriter)).send().await;
        expect_s3_error(writer, "NotImplemented", 501);
        let delete = c.delete_bucket_ownership_controls().bucket(bucket).send().await;
        expect_s3_error(delete, "NotImplemented", 501);
        let got = c.get_bucket_ownership_controls().bucket(bucket).send().await;
        assert_eq!(enforced(&got.expect("still")), Some(vec![ObjectOwnership::BucketOwnerEnforced]));
        let missing = c
            .get_bucket_ownership_controls()
            .bucket(format!("{bucket}-none"))
            .send()
            .await;
        expect_s3_error(missing, "NoSuchBucket", 404);
    })
    .await
}
