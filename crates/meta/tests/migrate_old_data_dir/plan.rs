//! The contents of the old-format fixture (`fixtures/meta-1c87be6.tar.gz`):
//! the commands that made it, as the gateway and voters of commit 1c87be6
//! sent them (each wrapped in `Idempotent` with a stamp, as a voter
//! proposes it), and the objects they leave. Written against types both
//! that commit and this build have, so the very same file made the fixture
//! (compiled into a throwaway test at 1c87be6) and tells the migration test
//! what to expect. Every id is fixed (UUIDv7 with a made-up timestamp), so
//! the expected rows are known.

use cairn_rpc::write_id::WriteId;
use cairn_rpc::{CompletedPart, MetaCommand, NodeRecord, WriteCondition};
use cairn_types::{
    Bucket, CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, ObjectData, ObjectExtras,
    ObjectManifest, PartRecord, PieceRef, Redundancy, UploadExtras, UploadRecord, VersionId,
    VersioningStatus,
};
use md5::{Digest, Md5};

/// The made-up clock of the fixture (ms since the epoch, December 2026).
pub const T0: u64 = 1_796_000_000_000;
pub const MIB: u64 = 1 << 20;
/// A multipart part below this size may only be the last one (S3's rule).
pub const PART: u64 = 5 * MIB;

/// A replicated bucket (`replicas=3`): `big` (three chunks, the last
/// acknowledged by two replicas of three), `small` (inline), `multi` (a
/// completed two-part upload) and `pending` (an upload with one part, not
/// completed).
pub const REP: &str = "rep";
/// An erasure-coded bucket (`ec=4+2`): `obj`, two chunks, the second
/// acknowledged with five pieces of six (piece 2 never written).
pub const EC: &str = "ec";
/// A versioned replicated bucket: `doc`, two versions.
pub const VER: &str = "ver";

/// A fixed UUIDv7: created at `T0 + n` ms, `n` also in its random bits.
pub fn vid(n: u16) -> VersionId {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&(T0 + u64::from(n)).to_be_bytes()[2..]);
    b[6] = 0x70;
    b[8] = 0x80;
    b[14..].copy_from_slice(&n.to_be_bytes());
    VersionId(b)
}

fn hash(tag: u8, n: u32) -> [u8; 32] {
    let mut h = [tag; 32];
    h[28..].copy_from_slice(&n.to_be_bytes());
    h
}

/// A replicated chunk on `nodes`.
pub fn replica(version: VersionId, part: u32, index: u32, len: u64, nodes: &[u64]) -> ChunkRef {
    ChunkRef {
        version,
        part,
        index,
        len,
        hash: hash(0xaa, index),
        nodes: nodes.to_vec(),
        pieces: Vec::new(),
        data_pieces: 0,
    }
}

/// An `ec=4+2` chunk; `holders[i]` holds piece i (None: not written).
pub fn coded(version: VersionId, index: u32, len: u64, holders: [Option<u64>; 6]) -> ChunkRef {
    ChunkRef {
        version,
        part: 0,
        index,
        len,
        hash: hash(0xee, index),
        nodes: Vec::new(),
        pieces: holders
            .iter()
            .enumerate()
            .map(|(i, h)| {
                h.map(|node| PieceRef {
                    node,
                    hash: hash(i as u8, index),
                })
            })
            .collect(),
        data_pieces: 4,
    }
}

/// One object the fixture stores, as the old build's manifest had it.
#[derive(Debug, Clone)]
pub struct Expected {
    pub bucket: &'static str,
    pub key: &'static str,
    pub manifest: ObjectManifest,
}

fn manifest(bucket: &str, key: &str, version: VersionId, data: ObjectData) -> ObjectManifest {
    let size = match &data {
        ObjectData::Inline(b) => b.len() as u64,
        ObjectData::Chunked { chunks, .. } => chunks.iter().map(|c| c.len).sum(),
        #[allow(unreachable_patterns)]
        _ => 0,
    };
    ObjectManifest {
        bucket: bucket.into(),
        key: key.into(),
        version,
        size,
        etag: format!("{:032x}", version.created_millis()),
        last_modified: version.created_millis() as i64,
        headers: Default::default(),
        data,
        part_sizes: Vec::new(),
    }
}

pub fn big() -> Expected {
    let v = vid(10);
    let chunks = vec![
        replica(v, 0, 0, MIB, &[1, 3, 5]),
        replica(v, 0, 1, MIB, &[2, 4, 6]),
        replica(v, 0, 2, 100, &[1, 4]),
    ];
    Expected {
        bucket: REP,
        key: "big",
        manifest: manifest(
            REP,
            "big",
            v,
            ObjectData::Chunked {
                codec: CODEC_REPLICATION_V1,
                chunks,
            },
        ),
    }
}

pub fn small() -> Expected {
    Expected {
        bucket: REP,
        key: "small",
        manifest: manifest(REP, "small", vid(11), ObjectData::Inline(b"hello".to_vec())),
    }
}

pub fn ec_obj() -> Expected {
    let v = vid(20);
    let chunks = vec![
        coded(
            v,
            0,
            MIB,
            [Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)],
        ),
        coded(
            v,
            1,
            500_000,
            [Some(2), Some(3), None, Some(5), Some(6), Some(1)],
        ),
    ];
    Expected {
        bucket: EC,
        key: "obj",
        manifest: manifest(
            EC,
            "obj",
            v,
            ObjectData::Chunked {
                codec: CODEC_RS_GF256_V1,
                chunks,
            },
        ),
    }
}

/// The two versions of `ver/doc`, oldest first.
pub fn doc_versions() -> [Expected; 2] {
    let one = |n: u16, nodes: &[u64], len: u64| {
        let v = vid(n);
        Expected {
            bucket: VER,
            key: "doc",
            manifest: manifest(
                VER,
                "doc",
                v,
                ObjectData::Chunked {
                    codec: CODEC_REPLICATION_V1,
                    chunks: vec![replica(v, 0, 0, len, nodes)],
                },
            ),
        }
    };
    [one(30, &[1, 2, 3], 300), one(31, &[4, 5, 6], 310)]
}

/// The completed upload `rep/multi`: its id, its parts, and the object.
pub fn multi_upload() -> (VersionId, Vec<PartRecord>) {
    let p1 = vid(41);
    let p2 = vid(42);
    let parts = vec![
        PartRecord {
            part_number: 1,
            etag: format!("{:032x}", 1),
            size: PART,
            last_modified: T0 as i64 + 41,
            data_version: p1,
            chunks: (0..5)
                .map(|i| {
                    let n = 1 + u64::from(i);
                    replica(p1, 1, i, MIB, &[n, n % 6 + 1, (n + 1) % 6 + 1])
                })
                .collect(),
        },
        PartRecord {
            part_number: 2,
            etag: format!("{:032x}", 2),
            size: 1234,
            last_modified: T0 as i64 + 42,
            data_version: p2,
            chunks: vec![replica(p2, 2, 0, 1234, &[6, 1, 2])],
        },
    ];
    (vid(40), parts)
}

/// The object the completed upload became (version `vid(43)`).
pub fn multi() -> Expected {
    let (_, parts) = multi_upload();
    let v = vid(43);
    let mut m = manifest(
        REP,
        "multi",
        v,
        ObjectData::Chunked {
            codec: CODEC_REPLICATION_V1,
            chunks: parts.iter().flat_map(|p| p.chunks.clone()).collect(),
        },
    );
    m.part_sizes = parts.iter().map(|p| p.size).collect();
    // S3's multipart ETag: the MD5 of the parts' MD5s, then the count.
    let mut md5 = Md5::new();
    for p in &parts {
        md5.update(hex::decode(&p.etag).expect("hex etag"));
    }
    m.etag = format!("{}-{}", hex::encode(md5.finalize()), parts.len());
    Expected {
        bucket: REP,
        key: "multi",
        manifest: m,
    }
}

/// The upload `rep/pending` left open, with its one part.
pub fn pending_upload() -> (VersionId, PartRecord) {
    let d = vid(51);
    (
        vid(50),
        PartRecord {
            part_number: 1,
            etag: format!("{:032x}", 3),
            size: 10,
            last_modified: T0 as i64 + 51,
            data_version: d,
            chunks: vec![replica(d, 1, 0, 10, &[2, 3, 5])],
        },
    )
}

/// Every current object (for `ver/doc`, its newest version).
pub fn current_objects() -> Vec<Expected> {
    let [_, doc2] = doc_versions();
    vec![big(), small(), ec_obj(), doc2, multi()]
}

fn put(e: &Expected) -> MetaCommand {
    MetaCommand::PutObjectWithExtras {
        manifest: e.manifest.clone(),
        condition: WriteCondition::Always,
        extras: ObjectExtras::default(),
    }
}

fn bucket(name: &str, redundancy: Redundancy) -> MetaCommand {
    MetaCommand::CreateBucket(Bucket {
        name: name.into(),
        created: T0 as i64,
        redundancy,
    })
}

/// The commands, in order, each as a voter proposed it.
pub fn commands() -> Vec<MetaCommand> {
    let mut plain = Vec::new();
    for id in 1..=6u64 {
        plain.push(MetaCommand::RegisterNode(NodeRecord {
            id,
            addr: format!("127.0.0.1:{}", 7000 + id),
            zone: format!("z{}", (id - 1) / 2),
            capacity: 1 << 40,
            registered: T0 as i64,
        }));
    }
    plain.push(bucket(REP, Redundancy::Replicas(3)));
    plain.push(bucket(EC, Redundancy::ErasureCoded { data: 4, parity: 2 }));
    plain.push(bucket(VER, Redundancy::Replicas(3)));
    plain.push(MetaCommand::SetBucketVersioning {
        bucket: VER.into(),
        status: VersioningStatus::Enabled,
    });
    plain.push(put(&big()));
    plain.push(put(&small()));
    plain.push(put(&ec_obj()));
    for d in doc_versions() {
        plain.push(put(&d));
    }
    let (upload_id, parts) = multi_upload();
    plain.push(MetaCommand::CreateUploadWithExtras {
        upload: UploadRecord {
            upload_id,
            bucket: REP.into(),
            key: "multi".into(),
            initiated: T0 as i64 + 40,
            headers: Default::default(),
        },
        extras: UploadExtras::default(),
    });
    for p in &parts {
        plain.push(MetaCommand::PutPartWithChecksum {
            bucket: REP.into(),
            key: "multi".into(),
            upload_id,
            part: p.clone(),
            checksum: None,
        });
    }
    plain.push(MetaCommand::CompleteUploadWithChecksums {
        bucket: REP.into(),
        key: "multi".into(),
        upload_id,
        parts: parts
            .iter()
            .map(|p| CompletedPart {
                part_number: p.part_number,
                etag: p.etag.clone(),
            })
            .collect(),
        part_checksums: vec![None; parts.len()],
        object_checksum: None,
        version: multi().manifest.version,
        last_modified: multi().manifest.last_modified,
        condition: WriteCondition::Always,
    });
    let (pending, part) = pending_upload();
    plain.push(MetaCommand::CreateUploadWithExtras {
        upload: UploadRecord {
            upload_id: pending,
            bucket: REP.into(),
            key: "pending".into(),
            initiated: T0 as i64 + 50,
            headers: Default::default(),
        },
        extras: UploadExtras::default(),
    });
    plain.push(MetaCommand::PutPartWithChecksum {
        bucket: REP.into(),
        key: "pending".into(),
        upload_id: pending,
        part,
        checksum: None,
    });
    plain
        .into_iter()
        .enumerate()
        .map(|(i, c)| MetaCommand::Idempotent {
            id: WriteId(vid(1000 + i as u16).0),
            stamped_ms: T0 + 1000 + i as u64,
            command: Box::new(c),
        })
        .collect()
}
