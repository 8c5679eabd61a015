//! Features cairn does not have yet, refused with a clear S3 error rather
//! than ignored: server-side encryption (an object asked to be encrypted
//! would otherwise be stored in the clear and served without its key) and
//! Object Lock (a bucket asked to be immutable would otherwise be
//! deletable). Writes asking for encryption answer 501 NotImplemented;
//! reads and copies naming a customer key answer 400 InvalidRequest, as AWS
//! does for an object that is not encrypted (none is); a bucket created
//! with Object Lock answers 501; a write with retention or a legal hold
//! answers 400 InvalidRequest, as AWS does in a bucket without Object Lock.

use http::HeaderMap;
use s3s::dto::PutObjectInput;
use s3s::{S3Error, S3Result, s3_error};

/// Headers asking a write to encrypt at rest (SSE-S3, SSE-KMS, SSE-C).
const WRITE_ENCRYPTION: [&str; 6] = [
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
    "x-amz-server-side-encryption-bucket-key-enabled",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
];

/// Headers naming the customer key of the object read (or copied from).
const READ_ENCRYPTION: [&str; 4] = [
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-algorithm",
    "x-amz-copy-source-server-side-encryption-customer-key",
];

/// Headers giving a new object a retention or a legal hold.
const OBJECT_LOCK: [&str; 3] = [
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
];

/// Header of CreateBucket enabling Object Lock.
const BUCKET_OBJECT_LOCK: &str = "x-amz-bucket-object-lock-enabled";

fn present<'a>(headers: &HeaderMap, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| headers.contains_key(*n))
}

fn encryption_refused(what: &str) -> S3Error {
    s3_error!(
        NotImplemented,
        "server-side encryption ({what}) is not supported yet: cairn would store the object unencrypted"
    )
}

fn lock_refused(what: &str) -> S3Error {
    s3_error!(
        InvalidRequest,
        "Bucket is missing Object Lock Configuration ({what} needs Object Lock, which cairn does not support yet)"
    )
}

/// A write (PutObject, CreateMultipartUpload, CopyObject's destination,
/// UploadPart) asking for encryption, a retention or a legal hold.
pub(crate) fn refuse_on_write(headers: &HeaderMap) -> S3Result<()> {
    if let Some(h) = present(headers, &WRITE_ENCRYPTION) {
        return Err(encryption_refused(h));
    }
    if let Some(h) = present(headers, &OBJECT_LOCK) {
        return Err(lock_refused(h));
    }
    Ok(())
}

/// The same of a form upload (PostObject), whose fields are in the input
/// rather than the headers.
pub(crate) fn refuse_in_form(i: &PutObjectInput) -> S3Result<()> {
    if i.server_side_encryption.is_some() || i.sse_customer_algorithm.is_some() {
        return Err(encryption_refused("x-amz-server-side-encryption"));
    }
    if i.object_lock_mode.is_some() || i.object_lock_legal_hold_status.is_some() {
        return Err(lock_refused("x-amz-object-lock-mode"));
    }
    Ok(())
}

/// A read (GetObject, HeadObject) or a copy source naming a customer key.
pub(crate) fn refuse_on_read(headers: &HeaderMap) -> S3Result<()> {
    match present(headers, &READ_ENCRYPTION) {
        Some(h) => Err(s3_error!(
            InvalidRequest,
            "The encryption parameters are not applicable to this object ({h}: cairn stores no object encrypted)"
        )),
        None => Ok(()),
    }
}

/// CreateBucket with Object Lock enabled.
pub(crate) fn refuse_on_create_bucket(headers: &HeaderMap) -> S3Result<()> {
    let asked = headers
        .get(BUCKET_OBJECT_LOCK)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if asked {
        return Err(s3_error!(
            NotImplemented,
            "Object Lock is not supported yet: a bucket created with it would not be immutable"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    fn code(r: S3Result<()>) -> Option<String> {
        r.err().map(|e| e.code().as_str().to_string())
    }

    #[test]
    fn encryption_and_lock_are_refused_not_ignored() {
        let plain = headers(&[("content-type", "text/plain")]);
        assert_eq!(code(refuse_on_write(&plain)), None);
        assert_eq!(code(refuse_on_read(&plain)), None);
        assert_eq!(code(refuse_on_create_bucket(&plain)), None);
        let sse = headers(&[("x-amz-server-side-encryption", "AES256")]);
        assert_eq!(
            code(refuse_on_write(&sse)).as_deref(),
            Some("NotImplemented")
        );
        let ssec = headers(&[("x-amz-server-side-encryption-customer-algorithm", "AES256")]);
        assert_eq!(
            code(refuse_on_write(&ssec)).as_deref(),
            Some("NotImplemented")
        );
        assert_eq!(
            code(refuse_on_read(&ssec)).as_deref(),
            Some("InvalidRequest")
        );
        let lock = headers(&[("x-amz-object-lock-mode", "COMPLIANCE")]);
        assert_eq!(
            code(refuse_on_write(&lock)).as_deref(),
            Some("InvalidRequest")
        );
        let bucket = headers(&[("x-amz-bucket-object-lock-enabled", "True")]);
        assert_eq!(
            code(refuse_on_create_bucket(&bucket)).as_deref(),
            Some("NotImplemented")
        );
        let off = headers(&[("x-amz-bucket-object-lock-enabled", "false")]);
        assert_eq!(code(refuse_on_create_bucket(&off)), None);
    }
}
