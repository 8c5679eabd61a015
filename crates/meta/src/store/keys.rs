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

/// Bytes of the version number that ends a version key.
pub const VERSION_SEQ_BYTES: usize = 8;
/// Ends the escaped key inside a version key (sorts before every escaped byte).
const KEY_END: [u8; 2] = [0x00, 0x01];
/// How a 0x00 byte of a key is written inside a version key.
const ESCAPED_ZERO: [u8; 2] = [0x00, 0xFF];

/// Appends `bytes` with every 0x00 written as `ESCAPED_ZERO`, so that no
/// escaped key is a prefix of another key's `escaped + KEY_END` and the
/// escaped forms sort like the keys.
fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b == 0 {
            out.extend_from_slice(&ESCAPED_ZERO);
        } else {
            out.push(b);
        }
    }
}

/// The common prefix of the version keys of every key starting with `prefix`.
pub fn version_scope(bucket: &str, prefix: &str) -> Vec<u8> {
    let mut out = bucket_prefix(bucket);
    push_escaped(&mut out, prefix.as_bytes());
    out
}

/// `[len(bucket)][bucket][escaped key][0x00 0x01]`: the common prefix of
/// the version keys of one key.
pub fn versions_of_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut out = version_scope(bucket, key);
    out.extend_from_slice(&KEY_END);
    out
}

/// The key of version number `seq` of an object: `versions_of_key` then
/// `u64::MAX - seq` big endian, so a key's versions run newest first.
pub fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut out = versions_of_key(bucket, key);
    out.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    out
}

/// The object key and version number of a key made by `version_key`.
pub fn split_version_key(raw: &[u8]) -> Option<(String, u64)> {
    let len = usize::from(*raw.first()?);
    let rest = raw.get(1 + len..)?;
    let mut key = Vec::new();
    let mut i = 0;
    loop {
        match (rest.get(i)?, rest.get(i + 1)) {
            (0, Some(&second)) if [0, second] == KEY_END => break,
            (0, Some(&second)) if [0, second] == ESCAPED_ZERO => {
                key.push(0);
                i += 2;
            }
            (0, _) => return None,
            (&b, _) => {
                key.push(b);
                i += 1;
            }
        }
    }
    let seq_bytes: [u8; 8] = rest.get(i + KEY_END.len()..)?.try_into().ok()?;
    Some((
        String::from_utf8(key).ok()?,
        u64::MAX - u64::from_be_bytes(seq_bytes),
    ))
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
#[path = "keys_tests.rs"]
mod tests;
