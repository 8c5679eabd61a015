//! Unit tests of the codec correction: a multipart object of an
//! erasure-coded bucket recorded as replicated by an older build is
//! corrected in both tables, once; nothing else changes.

use super::*;
use crate::store::keys::object_key;
use crate::test_support::{create_bucket_command, open, put_command, run};
use cairn_rpc::MetaCommand;
use cairn_types::{ChunkRef, PieceRef, VersionId, VersioningStatus};

fn ec_chunk() -> ChunkRef {
    ChunkRef {
        version: VersionId::new_random(),
        part: 1,
        index: 0,
        len: 10,
        hash: [0; 32],
        nodes: Vec::new(),
        pieces: (1..=3)
            .map(|node| {
                Some(PieceRef {
                    node,
                    hash: [0; 32],
                })
            })
            .collect(),
        data_pieces: 2,
    }
}

/// A PutObject of `key` whose manifest says `codec` over `chunks`.
fn put(key: &str, codec: u16, chunks: Vec<ChunkRef>) -> MetaCommand {
    let mut cmd = put_command(key);
    if let MetaCommand::PutObject { manifest, .. } = &mut cmd {
        manifest.data = ObjectData::Chunked { codec, chunks };
    }
    cmd
}

fn codec_of(db: &MetaDb, key: &str) -> Option<u16> {
    let m: ObjectManifest = db.get(CF_OBJECTS, &object_key("b", key)).expect("read")?;
    m.codec()
}

#[test]
fn mislabelled_erasure_coded_manifests_are_corrected_once() {
    let (_dir, db) = open();
    run(&db, &create_bucket_command()).expect("bucket");
    run(&db, &put("plain", CODEC_REPLICATION_V1, Vec::new())).expect("plain");
    run(
        &db,
        &MetaCommand::SetBucketVersioning {
            bucket: "b".into(),
            status: VersioningStatus::Enabled,
        },
    )
    .expect("versioning");
    // As an older build completed a multipart upload in an ec bucket: one
    // `objects` row and one `object_versions` row.
    run(&db, &put("old", CODEC_REPLICATION_V1, vec![ec_chunk()])).expect("old");
    run(&db, &put("new", CODEC_RS_GF256_V1, vec![ec_chunk()])).expect("new");

    assert_eq!(ensure_codecs(&db).expect("fix"), 2);
    assert_eq!(codec_of(&db, "old"), Some(CODEC_RS_GF256_V1));
    assert_eq!(codec_of(&db, "new"), Some(CODEC_RS_GF256_V1));
    assert_eq!(codec_of(&db, "plain"), Some(CODEC_REPLICATION_V1));
    let versions = db.cf(CF_OBJECT_VERSIONS).expect("cf");
    for item in db.db.iterator_cf(versions, rocksdb::IteratorMode::Start) {
        let (_, v) = item.expect("row");
        let row: StoredVersion = decode(&v).expect("decode");
        // Stored by this build: a chunk count (`Placed`), with the codec.
        if let VersionEntry::Object { manifest, .. } = row.entry {
            assert!(matches!(
                manifest.data,
                ObjectData::Placed {
                    codec: CODEC_RS_GF256_V1,
                    chunks: 1,
                }
            ));
        }
    }
    // Done once: the marker stops a second pass.
    assert_eq!(ensure_codecs(&db).expect("again"), 0);
}
