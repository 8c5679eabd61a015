//! ACLs as AWS answers them on buckets with Object Ownership
//! `BucketOwnerEnforced` (ACLs disabled): Get answers the owner (the same as
//! ListBuckets') with FULL_CONTROL; Put, and `x-amz-acl` on PutObject,
//! CreateMultipartUpload, CopyObject and CreateBucket, succeed only when they
//! grant the owner alone, and are otherwise refused with AWS's codes.

use aws_sdk_s3::primitives::ByteStream;
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
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"acl"))
        .send()
        .await
        .expect("PutObject");
}

#[tokio::test]
async fn get_acls_answer_the_owner_with_full_control() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "acl-get").await;
        let id = owner_id(&c).await;
        let acl = c
            .get_bucket_acl()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketAcl");
        assert_owner_only(acl.owner(), acl.grants(), &id);

        put(&c, &bucket, "k").await;
        let acl = c
            .get_object_acl()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .expect("GetObjectAcl");
        assert_owner_only(acl.owner(), acl.grants(), &id);

        expect_s3_error(
            c.get_object_acl()
                .bucket(&bucket)
                .key("missing")
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        expect_s3_error(
            c.get_bucket_acl()
                .bucket(unique_bucket("acl-nobucket"))
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
async fn put_bucket_acl_accepts_only_owner_full_control() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "acl-putb").await;
        let id = owner_id(&c).await;
        c.put_bucket_acl()
            .bucket(&bucket)
            .acl(BucketCannedAcl::Private)
            .send()
            .await
            .expect("canned private");
        c.put_bucket_acl()
            .bucket(&bucket)
            .access_control_policy(policy(&id, vec![canonical(&id, Permission::FullControl)]))
            .send()
            .await
            .expect("a policy granting the owner FULL_CONTROL");
        c.put_bucket_acl()
            .bucket(&bucket)
            .grant_full_control(format!("id=\"{id}\""))
            .send()
            .await
            .expect("x-amz-grant-full-control to the owner");

        for canned in [
            BucketCannedAcl::PublicRead,
            BucketCannedAcl::AuthenticatedRead,
        ] {
            expect_s3_error(
                c.put_bucket_acl().bucket(&bucket).acl(canned).send().await,
                "AccessControlListNotSupported",
                400,
            );
        }
        expect_s3_error(
            c.put_bucket_acl()
                .bucket(&bucket)
                .access_control_policy(policy(
                    &id,
                    vec![canonical(&id, Permission::FullControl), public_read_grant()],
                ))
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        expect_s3_error(
            c.put_bucket_acl()
                .bucket(&bucket)
                .access_control_policy(policy(&id, vec![canonical(&id, Permission::Read)]))
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        expect_s3_error(
            c.put_bucket_acl()
                .bucket(&bucket)
                .grant_read(format!("uri=\"{ALL_USERS}\""))
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        // Nothing said at all.
        let raw = target()
            .send_signed(RawRequest::new("PUT", format!("/{bucket}?acl")))
            .await
            .expect("raw PutBucketAcl");
        assert_eq!(raw.status, 400, "{}", raw.text());
        assert_eq!(raw.error_code().as_deref(), Some("MissingSecurityHeader"));

        // Refusals changed nothing.
        let acl = c
            .get_bucket_acl()
            .bucket(&bucket)
            .send()
            .await
            .expect("Get");
        assert_owner_only(acl.owner(), acl.grants(), &id);
        expect_s3_error(
            c.put_bucket_acl()
                .bucket(unique_bucket("acl-nobucket"))
                .acl(BucketCannedAcl::Private)
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
async fn put_object_acl_accepts_only_owner_full_control() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "acl-puto").await;
        let id = owner_id(&c).await;
        put(&c, &bucket, "k").await;
        for canned in [
            ObjectCannedAcl::Private,
            ObjectCannedAcl::BucketOwnerFullControl,
        ] {
            c.put_object_acl()
                .bucket(&bucket)
                .key("k")
                .acl(canned)
                .send()
                .await
                .expect("an owner-only canned ACL");
        }
        c.put_object_acl()
            .bucket(&bucket)
            .key("k")
            .access_control_policy(policy(&id, vec![canonical(&id, Permission::FullControl)]))
            .send()
            .await
            .expect("owner-only policy");
        for canned in [
            ObjectCannedAcl::PublicRead,
            ObjectCannedAcl::PublicReadWrite,
            ObjectCannedAcl::BucketOwnerRead,
        ] {
            expect_s3_error(
                c.put_object_acl()
                    .bucket(&bucket)
                    .key("k")
                    .acl(canned)
                    .send()
                    .await,
                "AccessControlListNotSupported",
                400,
            );
        }
        expect_s3_error(
            c.put_object_acl()
                .bucket(&bucket)
                .key("k")
                .access_control_policy(policy(&id, vec![public_read_grant()]))
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        expect_s3_error(
            c.put_object_acl()
                .bucket(&bucket)
                .key("missing")
                .acl(ObjectCannedAcl::Private)
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn canned_acl_headers_on_writes() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "acl-writes").await;
        c.put_object()
            .bucket(&bucket)
            .key("private")
            .acl(ObjectCannedAcl::Private)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("PutObject x-amz-acl: private");
        expect_s3_error(
            c.put_object()
                .bucket(&bucket)
                .key("public")
                .acl(ObjectCannedAcl::PublicRead)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        expect_s3_error(
            c.head_object().bucket(&bucket).key("public").send().await,
            "NotFound",
            404,
        );
        expect_s3_error(
            c.put_object()
                .bucket(&bucket)
                .key("public")
                .grant_read(format!("uri=\"{ALL_USERS}\""))
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        expect_s3_error(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key("mp")
                .acl(ObjectCannedAcl::PublicRead)
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        c.create_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .acl(ObjectCannedAcl::Private)
            .send()
            .await
            .expect("CreateMultipartUpload x-amz-acl: private");
        expect_s3_error(
            c.copy_object()
                .bucket(&bucket)
                .key("copy")
                .copy_source(format!("{bucket}/private"))
                .acl(ObjectCannedAcl::PublicRead)
                .send()
                .await,
            "AccessControlListNotSupported",
            400,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn create_bucket_acl_and_ownership() {
    bounded(async {
        let c = client();
        let private = unique_bucket("acl-cb");
        c.create_bucket()
            .bucket(&private)
            .acl(BucketCannedAcl::Private)
            .send()
            .await
            .expect("CreateBucket x-amz-acl: private");
        let refused = unique_bucket("acl-cb-pub");
        expect_s3_error(
            c.create_bucket()
                .bucket(&refused)
                .acl(BucketCannedAcl::PublicRead)
                .send()
                .await,
            "InvalidBucketAclWithObjectOwnership",
            400,
        );
        expect_s3_error(
            c.head_bucket().bucket(&refused).send().await,
            "NotFound",
            404,
        );
        let enforced = unique_bucket("acl-cb-enf");
        c.create_bucket()
            .bucket(&enforced)
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
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
            expect_s3_error(
                c.create_bucket()
                    .bucket(&bucket)
                    .object_ownership(ownership)
                    .send()
                    .await,
                "NotImplemented",
                501,
            );
        }
        expect_s3_error(
            c.head_bucket().bucket(&bucket).send().await,
            "NotFound",
            404,
        );
    })
    .await
}
