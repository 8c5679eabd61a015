//! What the S3 handlers parse themselves from a client's request, fed
//! arbitrary input: copy-source ranges, tagging headers, continuation
//! tokens, version and upload ids, part numbers, CORS paths, user metadata,
//! and the byte range a GET or HEAD serves (where `bytes=-N` of an empty
//! object once underflowed). Each answers a value or a typed S3 error,
//! never a panic; what it answers is checked where it has a rule.

use super::cors::bucket_of;
use super::list::decode_token;
use super::multipart::{parse_upload_id, part_number_of};
use super::object::read_range;
use super::part_copy::parse_copy_range;
use super::tagging::parse_tagging_header;
use super::versioning::parse_version;
use cairn_types::{HttpHeaders, ObjectData, ObjectManifest, VersionId};
use proptest::prelude::*;
use s3s::dto::{Metadata, Range};

/// A manifest of `size` bytes in parts of `part_sizes` (none: a single PUT).
fn manifest(size: u64, part_sizes: Vec<u64>) -> ObjectManifest {
    ObjectManifest {
        bucket: "b".into(),
        key: "k".into(),
        version: VersionId::new_random(),
        size,
        etag: String::new(),
        last_modified: 0,
        headers: HttpHeaders::default(),
        data: ObjectData::Inline(Vec::new()),
        part_sizes,
    }
}

proptest! {
    #[test]
    fn text_inputs_parse_or_are_refused(s in "\\PC{0,64}", raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        let lossy = String::from_utf8_lossy(&raw).into_owned();
        for input in [s.as_str(), lossy.as_str()] {
            if let Ok(r) = parse_copy_range(input) {
                prop_assert!(r.first <= r.last);
            }
            let _ = parse_tagging_header(input);
            let _ = decode_token(input);
            let _ = parse_version(Some(input));
            let _ = parse_upload_id(input);
            if let Some(b) = bucket_of(input) {
                prop_assert!(!b.contains('/'));
            }
        }
    }

    #[test]
    fn part_numbers_are_1_to_10000(n in any::<i32>()) {
        match part_number_of(n) {
            Ok(p) => prop_assert!((1..=10_000).contains(&p) && i64::from(p) == i64::from(n)),
            Err(_) => prop_assert!(!(1..=10_000).contains(&n)),
        }
    }

    #[test]
    fn metadata_over_2_kib_is_refused(entries in proptest::collection::btree_map("[a-z]{1,40}", "\\PC{0,300}", 0..12)) {
        let size: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        let metadata: Metadata = entries.into_iter().collect();
        let checked = super::common::check_metadata_size(Some(&metadata));
        prop_assert_eq!(checked.is_ok(), size <= cairn_types::limits::MAX_USER_METADATA_BYTES);
    }

    /// Any range or part number on any object: a range inside the object and
    /// a Content-Range naming it, or a typed error.
    #[test]
    fn read_ranges_stay_inside_the_object(
        size in prop_oneof![Just(0u64), Just(1u64), 0u64..1_000_000],
        first in any::<u64>(),
        last in proptest::option::of(any::<u64>()),
        suffix in any::<u64>(),
        kind in 0u8..3,
        parts in proptest::collection::vec(0u64..1000, 0..4),
        part_number in proptest::option::of(-2i32..6),
    ) {
        let m = if parts.is_empty() {
            manifest(size, Vec::new())
        } else {
            manifest(parts.iter().sum(), parts)
        };
        let range = match kind {
            0 => None,
            1 => Some(Range::Int { first, last }),
            _ => Some(Range::Suffix { length: suffix }),
        };
        if let Ok((start, end, content_range)) = read_range(&m, range.as_ref(), part_number) {
            prop_assert!(start <= end && end <= m.size);
            if range.is_some() {
                prop_assert!(start < end, "a served range holds a byte");
                let expected = format!("bytes {start}-{}/{}", end - 1, m.size);
                prop_assert_eq!(content_range, Some(expected));
            }
        }
    }
}
