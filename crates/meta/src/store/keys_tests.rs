//! Unit tests of the key encodings: they round-trip, and sort as S3 lists.

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
fn version_keys_round_trip_and_sort_by_key_then_newest() {
    let keys = ["a", "a\0", "a\0b", "a/b", "ab", "b"];
    let mut encoded = Vec::new();
    for k in keys {
        for seq in [1u64, 2, 300] {
            let raw = version_key("bkt", k, seq);
            assert_eq!(split_version_key(&raw), Some((k.to_string(), seq)));
            assert!(raw.starts_with(&versions_of_key("bkt", k)));
            assert!(raw.starts_with(&version_scope("bkt", "a")) == k.starts_with('a'));
            encoded.push((raw, k, seq));
        }
    }
    let mut sorted = encoded.clone();
    sorted.sort_by(|x, y| x.0.cmp(&y.0));
    let order: Vec<(&str, u64)> = sorted.iter().map(|(_, k, s)| (*k, *s)).collect();
    let mut want: Vec<(&str, u64)> = encoded.iter().map(|(_, k, s)| (*k, *s)).collect();
    want.sort_by(|x, y| x.0.as_bytes().cmp(y.0.as_bytes()).then(y.1.cmp(&x.1)));
    assert_eq!(order, want);
    // One key's versions never take in another key's.
    assert!(!version_key("bkt", "a\0", 1).starts_with(&versions_of_key("bkt", "a")));
}

#[test]
fn successor_bounds_the_prefix() {
    assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
    assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
}
