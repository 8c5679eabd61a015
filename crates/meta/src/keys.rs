//! Byte encodings of the RocksDB keys of the state machine. Object keys sort
//! by bucket, then by key bytes, which is the order S3 lists in.

use cairn_types::VersionId;

/// `[len(bucket)][bucket][key]`: the objects of a bucket are contiguous and
/// ordered by key bytes.
pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut out = bucket_prefix(bucket);
    out.extend_from_slice(key.as_bytes());
    out
}

/// The common prefix of every object (or upload) key of a bucket.
pub fn bucket_prefix(bucket: &str) -> Vec<u8> {
    debug_assert!(
        bucket.len() <= usize::from(u8::MAX),
        "bucket names are at most 63 bytes"
    );
    let mut out = Vec::with_capacity(1 + bucket.len());
    out.push(bucket.len() as u8);
    out.extend_from_slice(bucket.as_bytes());
    out
}

/// The user key part of an object key encoded by `object_key`.
pub fn split_object_key(raw: &[u8]) -> Option<(&str, &str)> {
    let len = usize::from(*raw.first()?);
    let bucket = std::str::from_utf8(raw.get(1..1 + len)?).ok()?;
    let key = std::str::from_utf8(raw.get(1 + len..)?).ok()?;
    Some((bucket, key))
}

/// `[len(bucket)][bucket][upload id]`.
pub fn upload_key(bucket: &str, upload_id: &VersionId) -> Vec<u8> {
    let mut out = bucket_prefix(bucket);
    out.extend_from_slice(upload_id.as_bytes());
    out
}

/// `[upload id][part number, big endian]`: the parts of an upload, in order.
pub fn part_key(upload_id: &VersionId, part_number: u32) -> Vec<u8> {
    let mut out = upload_id.as_bytes().to_vec();
    out.extend_from_slice(&part_number.to_be_bytes());
    out
}

/// Log entries are keyed by index, big endian, so iteration is in log order.
pub fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub fn log_index(raw: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(raw.try_into().ok()?))
}

/// The smallest byte string greater than every string starting with `prefix`
/// (None when there is none: the prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_round_trip_and_sort_by_key() {
        let a = object_key("bkt", "a");
        let b = object_key("bkt", "a/b");
        let c = object_key("bkt", "b");
        assert!(a < b && b < c);
        assert_eq!(split_object_key(&b), Some(("bkt", "a/b")));
        // A longer bucket name never interleaves with a shorter one's objects.
        assert!(!object_key("bkt2", "x").starts_with(&bucket_prefix("bkt")));
    }

    #[test]
    fn successor_bounds_the_prefix() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }
}
