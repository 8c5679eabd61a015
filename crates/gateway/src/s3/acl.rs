//! Access control lists, the way AWS answers them on a bucket whose Object
//! Ownership is `BucketOwnerEnforced` (ACLs disabled; AWS's default for new
//! buckets): every bucket and object is owned by the cluster's one account,
//! which has FULL_CONTROL and nothing else. Reading an ACL answers exactly
//! that. Writing one succeeds only when it says the same thing — the canned
//! `private` (or, for objects, `bucket-owner-full-control`), or an
//! AccessControlPolicy / `x-amz-grant-full-control` that grants only the
//! owner FULL_CONTROL; anything else is AWS's `400 AccessControlListNotSupported`
//! ("The bucket does not allow ACLs"), and on CreateBucket
//! `400 InvalidBucketAclWithObjectOwnership`. Nothing is stored; an object
//! ACL request (of the current version or the one `versionId` names) only
//! needs its version to exist, answered as a GetObject of it would be.

use super::common::check_key;
use super::common::{OWNER_ID, owner};
use super::versioning::{MarkerRule, find_version};
use crate::gateway::Gateway;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// The canned ACLs that say "the owner has FULL_CONTROL, nobody else anything".
const OWNER_ONLY_CANNED_OBJECT: [&str; 2] = ["private", "bucket-owner-full-control"];
const OWNER_ONLY_CANNED_BUCKET: &str = "private";

/// The `x-amz-grant-*` headers of a request.
#[derive(Default)]
pub(crate) struct GrantHeaders<'a> {
    pub full_control: Option<&'a str>,
    pub read: Option<&'a str>,
    pub read_acp: Option<&'a str>,
    pub write: Option<&'a str>,
    pub write_acp: Option<&'a str>,
}

/// The grant headers of an object-level request (they have no `write`).
macro_rules! object_grants {
    ($input:expr) => {
        $crate::s3::acl::GrantHeaders {
            full_control: $input.grant_full_control.as_deref(),
            read: $input.grant_read.as_deref(),
            read_acp: $input.grant_read_acp.as_deref(),
            write: None,
            write_acp: $input.grant_write_acp.as_deref(),
        }
    };
}
pub(crate) use object_grants;

impl GrantHeaders<'_> {
    fn any(&self) -> bool {
        self.full_control.is_some()
            || self.read.is_some()
            || self.read_acp.is_some()
            || self.write.is_some()
            || self.write_acp.is_some()
    }

    /// Whether the headers grant nothing but FULL_CONTROL to the owner
    /// (`x-amz-grant-full-control: id="<owner>"`).
    fn owner_only(&self) -> bool {
        let only_full_control = self.read.is_none()
            && self.read_acp.is_none()
            && self.write.is_none()
            && self.write_acp.is_none();
        only_full_control
            && self.full_control.is_none_or(|v| {
                v.split(',').all(|g| {
                    g.trim().split_once('=').is_some_and(|(kind, id)| {
                        kind.trim() == "id" && id.trim().trim_matches('"') == OWNER_ID
                    })
                })
            })
    }
}

fn not_supported() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessControlListNotSupported,
        "The bucket does not allow ACLs",
    )
}

/// The owner's FULL_CONTROL grant: the whole ACL of everything.
fn owner_grants() -> Grants {
    vec![Grant {
        grantee: Some(Grantee {
            display_name: Some(OWNER_ID.to_string()),
            email_address: None,
            id: Some(OWNER_ID.to_string()),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }]
}

/// Whether a policy body grants only FULL_CONTROL to the owner.
fn policy_is_owner_only(p: &AccessControlPolicy) -> bool {
    let owner_ok = p
        .owner
        .as_ref()
        .and_then(|o| o.id.as_deref())
        .is_none_or(|id| id == OWNER_ID);
    let grants = p.grants.as_deref().unwrap_or_default();
    owner_ok
        && !grants.is_empty()
        && grants.iter().all(|g| {
            g.permission
                .as_ref()
                .is_some_and(|p| p.as_str() == Permission::FULL_CONTROL)
                && g.grantee.as_ref().is_some_and(|e| {
                    e.type_.as_str() == Type::CANONICAL_USER && e.id.as_deref() == Some(OWNER_ID)
                })
        })
}

/// `x-amz-acl` / `x-amz-grant-*` on PutObject, CreateMultipartUpload and
/// CopyObject: accepted only when they grant the owner alone.
pub(crate) fn check_object_write_acl(
    acl: Option<&ObjectCannedACL>,
    grants: GrantHeaders<'_>,
) -> S3Result<()> {
    let canned_ok = acl.is_none_or(|a| OWNER_ONLY_CANNED_OBJECT.contains(&a.as_str()));
    if canned_ok && grants.owner_only() {
        Ok(())
    } else {
        Err(not_supported())
    }
}

/// `x-amz-acl`, `x-amz-grant-*` and `x-amz-object-ownership` on CreateBucket.
pub(crate) fn check_create_bucket_acl(i: &CreateBucketInput) -> S3Result<()> {
    if let Some(o) = &i.object_ownership
        && o.as_str() != ObjectOwnership::BUCKET_OWNER_ENFORCED
    {
        return Err(s3_error!(
            NotImplemented,
            "every cairn bucket has Object Ownership BucketOwnerEnforced (ACLs disabled)"
        ));
    }
    let grants = GrantHeaders {
        full_control: i.grant_full_control.as_deref(),
        read: i.grant_read.as_deref(),
        read_acp: i.grant_read_acp.as_deref(),
        write: i.grant_write.as_deref(),
        write_acp: i.grant_write_acp.as_deref(),
    };
    let canned_ok = i
        .acl
        .as_ref()
        .is_none_or(|a| a.as_str() == OWNER_ONLY_CANNED_BUCKET);
    if canned_ok && grants.owner_only() {
        return Ok(());
    }
    Err(S3Error::with_message(
        S3ErrorCode::InvalidBucketAclWithObjectOwnership,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    ))
}

/// A PutBucketAcl / PutObjectAcl: exactly one way of saying it, and it must
/// say "owner only".
fn check_put_acl(
    canned_owner_only: Option<bool>,
    policy: Option<&AccessControlPolicy>,
    grants: &GrantHeaders<'_>,
) -> S3Result<()> {
    let ways = usize::from(canned_owner_only.is_some())
        + usize::from(policy.is_some())
        + usize::from(grants.any());
    if ways == 0 {
        return Err(s3_error!(
            MissingSecurityHeader,
            "Your request was missing a required header: x-amz-acl, an x-amz-grant header or an AccessControlPolicy body"
        ));
    }
    if ways > 1 {
        return Err(s3_error!(
            UnexpectedContent,
            "Specify an ACL with x-amz-acl, x-amz-grant headers or a body, not several"
        ));
    }
    let owner_only = canned_owner_only.unwrap_or(true)
        && policy.is_none_or(policy_is_owner_only)
        && grants.owner_only();
    if owner_only {
        Ok(())
    } else {
        Err(not_supported())
    }
}

pub async fn get_bucket_acl(
    gw: &Gateway,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(owner_grants()),
        owner: Some(owner()),
    }))
}

pub async fn get_object_acl(
    gw: &Gateway,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    let version = i.version_id.as_deref();
    find_version(gw, &i.bucket, &i.key, version, MarkerRule::Read).await?;
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(owner_grants()),
        owner: Some(owner()),
        request_charged: None,
    }))
}

pub async fn put_bucket_acl(
    gw: &Gateway,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let i = req.input;
    super::common::existing_bucket(gw, &i.bucket).await?;
    let grants = GrantHeaders {
        full_control: i.grant_full_control.as_deref(),
        read: i.grant_read.as_deref(),
        read_acp: i.grant_read_acp.as_deref(),
        write: i.grant_write.as_deref(),
        write_acp: i.grant_write_acp.as_deref(),
    };
    check_put_acl(
        i.acl
            .as_ref()
            .map(|a| a.as_str() == OWNER_ONLY_CANNED_BUCKET),
        i.access_control_policy.as_ref(),
        &grants,
    )?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

pub async fn put_object_acl(
    gw: &Gateway,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    let version = i.version_id.as_deref();
    find_version(gw, &i.bucket, &i.key, version, MarkerRule::Read).await?;
    check_put_acl(
        i.acl
            .as_ref()
            .map(|a| OWNER_ONLY_CANNED_OBJECT.contains(&a.as_str())),
        i.access_control_policy.as_ref(),
        &object_grants!(i),
    )?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}

/// GetBucketOwnershipControls: every cairn bucket is `BucketOwnerEnforced`,
/// so that is what it answers (never "not found": the setting is in force).
pub async fn get_bucket_ownership_controls(
    gw: &Gateway,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    let rule = OwnershipControlsRule {
        object_ownership: ObjectOwnership::from_static(ObjectOwnership::BUCKET_OWNER_ENFORCED),
    };
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls { rules: vec![rule] }),
    }))
}

/// PutBucketOwnershipControls: `BucketOwnerEnforced` is what every bucket
/// has, so putting it succeeds and changes nothing; enabling ACLs
/// (`ObjectWriter`, `BucketOwnerPreferred`) is 501.
pub async fn put_bucket_ownership_controls(
    gw: &Gateway,
    req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let rules = &req.input.ownership_controls.rules;
    if rules.len() != 1 {
        return Err(s3_error!(
            MalformedXML,
            "OwnershipControls holds exactly one rule"
        ));
    }
    if rules[0].object_ownership.as_str() != ObjectOwnership::BUCKET_OWNER_ENFORCED {
        return Err(s3_error!(
            NotImplemented,
            "every cairn bucket has Object Ownership BucketOwnerEnforced (ACLs disabled)"
        ));
    }
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
}

/// DeleteBucketOwnershipControls: at AWS a bucket without the setting
/// behaves as `ObjectWriter` (ACLs on); cairn cannot, so it is 501 rather
/// than a 204 that changes nothing.
pub async fn delete_bucket_ownership_controls(
    gw: &Gateway,
    req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    super::common::existing_bucket(gw, &req.input.bucket).await?;
    Err(s3_error!(
        NotImplemented,
        "every cairn bucket has Object Ownership BucketOwnerEnforced; it cannot be removed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(type_: &str, id: Option<&str>, permission: &str) -> Grant {
        Grant {
            grantee: Some(Grantee {
                display_name: None,
                email_address: None,
                id: id.map(str::to_string),
                type_: Type::from(type_.to_string()),
                uri: None,
            }),
            permission: Some(Permission::from(permission.to_string())),
        }
    }

    fn policy(grants: Vec<Grant>) -> AccessControlPolicy {
        AccessControlPolicy {
            grants: Some(grants),
            owner: Some(owner()),
        }
    }

    #[test]
    fn only_the_owners_full_control_is_accepted() {
        let none = GrantHeaders::default();
        let code = |r: S3Result<()>| r.map_err(|e| e.code().as_str().to_string());
        assert_eq!(code(check_put_acl(Some(true), None, &none)), Ok(()));
        assert_eq!(
            code(check_put_acl(Some(false), None, &none)),
            Err("AccessControlListNotSupported".into())
        );
        assert_eq!(
            code(check_put_acl(None, Some(&policy(owner_grants())), &none)),
            Ok(())
        );
        let public = policy(vec![
            grant(
                Type::CANONICAL_USER,
                Some(OWNER_ID),
                Permission::FULL_CONTROL,
            ),
            grant(Type::GROUP, None, Permission::READ),
        ]);
        assert_eq!(
            code(check_put_acl(None, Some(&public), &none)),
            Err("AccessControlListNotSupported".into())
        );
        let someone_else = policy(vec![grant(
            Type::CANONICAL_USER,
            Some("other"),
            Permission::FULL_CONTROL,
        )]);
        assert!(check_put_acl(None, Some(&someone_else), &none).is_err());
        let read_only = policy(vec![grant(
            Type::CANONICAL_USER,
            Some(OWNER_ID),
            Permission::READ,
        )]);
        assert!(check_put_acl(None, Some(&read_only), &none).is_err());
        assert!(check_put_acl(None, Some(&policy(vec![])), &none).is_err());
        assert_eq!(
            code(check_put_acl(None, None, &none)),
            Err("MissingSecurityHeader".into())
        );
        assert_eq!(
            code(check_put_acl(
                Some(true),
                Some(&policy(owner_grants())),
                &none
            )),
            Err("UnexpectedContent".into())
        );
        let owner_header = GrantHeaders {
            full_control: Some("id=\"cairn\""),
            ..Default::default()
        };
        assert_eq!(code(check_put_acl(None, None, &owner_header)), Ok(()));
        let public_read = GrantHeaders {
            read: Some("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""),
            ..Default::default()
        };
        assert_eq!(
            code(check_put_acl(None, None, &public_read)),
            Err("AccessControlListNotSupported".into())
        );
    }

    #[test]
    fn object_write_headers() {
        let ok = |acl: &str| {
            check_object_write_acl(
                Some(&ObjectCannedACL::from(acl.to_string())),
                GrantHeaders::default(),
            )
            .is_ok()
        };
        assert!(ok("private") && ok("bucket-owner-full-control"));
        assert!(!ok("public-read") && !ok("authenticated-read"));
        assert!(check_object_write_acl(None, GrantHeaders::default()).is_ok());
    }
}
