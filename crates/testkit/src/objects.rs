//! Objects a multi-process test stores and checks: writing a set of
//! [`Expected`] objects, reading every one back byte for byte, and one
//! object's placement as the meta leader records it (`cairn admin object
//! inspect`'s answer), for tests that assert where pieces are.

use crate::cluster::Cluster;
use crate::data::pattern;
use crate::runtime::block;
use crate::s3::{get_bytes, put_bytes};
use crate::writer::Expected;
use cairn_rpc::repair_api::{InspectRequest, ObjectInspect};

/// Chunks described per inspect, at most (meta caps it too).
pub const INSPECT_CHUNKS: u32 = 256;

/// PUTs every object of `objects` (its pattern), in order.
pub fn write_expected(cluster: &Cluster, objects: &[Expected]) {
    let client = cluster.client();
    let objects = objects.to_vec();
    block(async move {
        for o in &objects {
            put_bytes(&client, &o.bucket, &o.key, &pattern(o.size, o.seed)).await;
        }
    });
}

/// GETs every object of `objects` and asserts its bytes; `stage` names
/// the moment in the failure message.
pub fn verify_expected(cluster: &Cluster, objects: &[Expected], stage: &str) {
    let client = cluster.client();
    let objects = objects.to_vec();
    let stage = stage.to_string();
    block(async move {
        for o in &objects {
            let got = get_bytes(&client, &o.bucket, &o.key).await;
            assert_eq!(got.len(), o.size, "{stage}: {}/{} length", o.bucket, o.key);
            assert!(
                got == pattern(o.size, o.seed),
                "{stage}: {}/{} differs",
                o.bucket,
                o.key
            );
        }
    });
}

impl Cluster {
    /// The placement of the current version of `bucket/key`, chunk by
    /// chunk (the first `INSPECT_CHUNKS`); panics when it is not stored.
    pub fn inspect(&self, bucket: &str, key: &str) -> ObjectInspect {
        let m = self.meta_client();
        let req = InspectRequest {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: None,
            first_chunk: 0,
            max_chunks: INSPECT_CHUNKS,
        };
        block(async move { m.call(&req).await })
            .unwrap_or_else(|e| panic!("inspect {bucket}/{key}: {e}"))
            .unwrap_or_else(|| panic!("inspect {bucket}/{key}: no such object"))
    }
}
