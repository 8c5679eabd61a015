//! Unit tests of `assemble`: S3's rules on the part list of a completed
//! upload.

use super::*;

fn upload() -> UploadRecord {
    UploadRecord {
        upload_id: VersionId::new_random(),
        bucket: "b".into(),
        key: "k".into(),
        initiated: 0,
        headers: Default::default(),
    }
}

fn part(n: u32, size: u64, etag: &str) -> PartRecord {
    PartRecord {
        part_number: n,
        etag: etag.into(),
        size,
        last_modified: 0,
        data_version: VersionId::new_random(),
        chunks: vec![],
    }
}

fn req(n: u32, etag: &str) -> CompletedPart {
    CompletedPart {
        part_number: n,
        etag: etag.into(),
    }
}

const R: u16 = CODEC_REPLICATION_V1;
const E1: &str = "0123456789abcdef0123456789abcdef";
const E2: &str = "fedcba9876543210fedcba9876543210";

#[test]
fn assemble_enforces_s3_rules() {
    let u = upload();
    let stored = vec![part(1, MIN_PART_SIZE, E1), part(2, 10, E2)];
    let v = VersionId::new_random();
    let m = assemble(&u, &stored, &[req(1, E1), req(2, E2)], v, 0, R).expect("valid");
    assert_eq!(m.size, MIN_PART_SIZE + 10);
    let mut h = Md5::new();
    h.update(hex::decode(E1).expect("hex"));
    h.update(hex::decode(E2).expect("hex"));
    assert_eq!(m.etag, format!("{}-2", hex::encode(h.finalize())));
    assert_eq!(
        assemble(&u, &stored, &[req(2, E2), req(1, E1)], v, 0, R),
        Err(MetaError::InvalidPartOrder)
    );
    assert_eq!(
        assemble(&u, &stored, &[req(1, E2)], v, 0, R),
        Err(MetaError::InvalidPart(1))
    );
    assert_eq!(
        assemble(&u, &stored, &[req(3, E1)], v, 0, R),
        Err(MetaError::InvalidPart(3))
    );
    let small = vec![part(1, 10, E1), part(2, 10, E2)];
    assert_eq!(
        assemble(&u, &small, &[req(1, E1), req(2, E2)], v, 0, R),
        Err(MetaError::EntityTooSmall(1))
    );
    assert_eq!(
        assemble(&u, &stored, &[], v, 0, R),
        Err(MetaError::InvalidPart(0))
    );
}

fn chunk(pieces: usize, data_pieces: u8) -> ChunkRef {
    ChunkRef {
        version: VersionId::new_random(),
        part: 1,
        index: 0,
        len: 10,
        hash: [0; 32],
        nodes: if pieces == 0 { vec![1] } else { vec![] },
        pieces: (0..pieces)
            .map(|i| {
                Some(cairn_types::PieceRef {
                    node: i as u64 + 1,
                    hash: [0; 32],
                })
            })
            .collect(),
        data_pieces,
    }
}

/// A multipart object records the codec of its bucket (it recorded
/// replication even in erasure-coded buckets). A part written before the
/// bucket's redundancy changed keeps its shape (reads decode each chunk by
/// its own, and the object is marked for re-encoding when stored); a chunk
/// of no codec's shape is refused.
#[test]
fn assemble_records_the_codec_of_the_bucket() {
    let u = upload();
    let mut ec = part(1, 10, E1);
    ec.chunks = vec![chunk(6, 4)];
    let v = VersionId::new_random();
    let m = assemble(
        &u,
        std::slice::from_ref(&ec),
        &[req(1, E1)],
        v,
        0,
        CODEC_RS_GF256_V1,
    )
    .expect("valid");
    assert!(matches!(
        m.data,
        ObjectData::Chunked {
            codec: CODEC_RS_GF256_V1,
            ..
        }
    ));
    let older = assemble(&u, std::slice::from_ref(&ec), &[req(1, E1)], v, 0, R)
        .expect("a part of the old shape");
    assert_eq!(older.codec(), Some(R));
    let mut malformed = part(1, 10, E1);
    malformed.chunks = vec![chunk(4, 4)];
    assert!(matches!(
        assemble(&u, &[malformed], &[req(1, E1)], v, 0, CODEC_RS_GF256_V1),
        Err(MetaError::InvalidRequest(_))
    ));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// ETags a part may have: two valid ones, and one that is not hex.
    const ETAGS: [&str; 3] = [E1, E2, "not-hex"];

    proptest! {
        /// Any stored parts (in part-number order, as the table keeps them)
        /// and any requested list: a manifest obeying S3's rules, or a typed
        /// error; never a panic.
        #[test]
        fn any_part_list_assembles_or_is_refused(
            stored in proptest::collection::btree_map(1u32..40, (0usize..3, 0u64..(2 * MIN_PART_SIZE)), 0..20),
            requested in proptest::collection::vec((0u32..45, 0usize..3), 0..25),
        ) {
            let u = upload();
            let stored: Vec<PartRecord> = stored
                .into_iter()
                .map(|(n, (e, size))| part(n, size, ETAGS[e]))
                .collect();
            let requested: Vec<CompletedPart> =
                requested.into_iter().map(|(n, e)| req(n, ETAGS[e])).collect();
            if let Ok(m) = assemble(&u, &stored, &requested, VersionId::new_random(), 0, R) {
                prop_assert_eq!(m.part_sizes.len(), requested.len());
                prop_assert_eq!(m.size, m.part_sizes.iter().sum::<u64>());
                prop_assert!(requested.windows(2).all(|w| w[0].part_number < w[1].part_number));
                let suffix = format!("-{}", requested.len());
                prop_assert!(m.etag.ends_with(&suffix), "etag {} lacks {}", m.etag, suffix);
            }
        }
    }
}
