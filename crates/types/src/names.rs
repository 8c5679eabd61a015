//! Validation of bucket names and object keys by AWS's rules, so every role
//! can refuse a bad name the same way before anything is stored.

use crate::limits::{MAX_BUCKET_NAME_LEN, MAX_OBJECT_KEY_BYTES, MIN_BUCKET_NAME_LEN};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("bucket name must be {MIN_BUCKET_NAME_LEN} to {MAX_BUCKET_NAME_LEN} characters")]
    BucketLength,
    #[error(
        "bucket name may hold only lowercase letters, digits, '.' and '-', and must start and end with a letter or digit"
    )]
    BucketCharacters,
    #[error("bucket name must not look like an IP address or hold '..'")]
    BucketShape,
    #[error("object key must be 1 to {MAX_OBJECT_KEY_BYTES} bytes")]
    KeyLength,
}

/// AWS's general-purpose bucket naming rules.
pub fn validate_bucket_name(name: &str) -> Result<(), NameError> {
    if !(MIN_BUCKET_NAME_LEN..=MAX_BUCKET_NAME_LEN).contains(&name.len()) {
        return Err(NameError::BucketLength);
    }
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !name.chars().all(ok_char) || !edge_ok(name.chars().next()) || !edge_ok(name.chars().last())
    {
        return Err(NameError::BucketCharacters);
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(NameError::BucketShape);
    }
    Ok(())
}

pub fn validate_object_key(key: &str) -> Result<(), NameError> {
    if key.is_empty() || key.len() > MAX_OBJECT_KEY_BYTES {
        return Err(NameError::KeyLength);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any name a client sends is judged without panicking, and what
        /// passes keeps the length bounds.
        #[test]
        fn any_name_is_judged(s in "\\PC{0,80}") {
            if validate_bucket_name(&s).is_ok() {
                proptest::prop_assert!((MIN_BUCKET_NAME_LEN..=MAX_BUCKET_NAME_LEN).contains(&s.len()));
            }
            if validate_object_key(&s).is_ok() {
                proptest::prop_assert!(!s.is_empty() && s.len() <= MAX_OBJECT_KEY_BYTES);
            }
        }
    }

    #[test]
    fn bucket_names_follow_aws_rules() {
        assert!(validate_bucket_name("my-bucket.1").is_ok());
        assert_eq!(validate_bucket_name("ab"), Err(NameError::BucketLength));
        assert_eq!(
            validate_bucket_name("Upper"),
            Err(NameError::BucketCharacters)
        );
        assert_eq!(
            validate_bucket_name("-start"),
            Err(NameError::BucketCharacters)
        );
        assert_eq!(
            validate_bucket_name("end-"),
            Err(NameError::BucketCharacters)
        );
        assert_eq!(validate_bucket_name("a..b"), Err(NameError::BucketShape));
        assert_eq!(
            validate_bucket_name("192.168.1.1"),
            Err(NameError::BucketShape)
        );
        assert_eq!(
            validate_bucket_name(&"a".repeat(64)),
            Err(NameError::BucketLength)
        );
    }

    #[test]
    fn keys_are_bounded() {
        assert!(validate_object_key("a/b c").is_ok());
        assert_eq!(validate_object_key(""), Err(NameError::KeyLength));
        assert_eq!(
            validate_object_key(&"k".repeat(1025)),
            Err(NameError::KeyLength)
        );
        assert!(validate_object_key(&"k".repeat(1024)).is_ok());
    }
}
