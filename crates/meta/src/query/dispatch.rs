//! Answering one query: `run_query` hands it to the file of its family.

use super::outcome::Answered;
use super::{buckets, chunks, cluster, objects, uploads};
use crate::store::db::MetaDb;
use cairn_rpc::{MetaError, MetaQuery, QueryResult};

pub fn run_query(db: &MetaDb, q: &MetaQuery) -> Result<QueryResult, MetaError> {
    run(db, q).map_err(|e| MetaError::Internal(e.to_string()))?
}

fn run(db: &MetaDb, q: &MetaQuery) -> Answered {
    match q {
        MetaQuery::GetBucket { .. }
        | MetaQuery::ListBuckets
        | MetaQuery::GetBucketCors { .. }
        | MetaQuery::GetBucketLifecycle { .. }
        | MetaQuery::BucketUsage { .. }
        | MetaQuery::GetBucketVersioning { .. }
        | MetaQuery::GetBucketTags { .. } => buckets::answer(db, q),
        MetaQuery::GetObject { .. }
        | MetaQuery::ListObjects(_)
        | MetaQuery::GetObjectWithExtras { .. }
        | MetaQuery::GetObjectVersion { .. }
        | MetaQuery::ListObjectVersions(_) => objects::answer(db, q),
        MetaQuery::GetUpload { .. }
        | MetaQuery::ListParts { .. }
        | MetaQuery::ListUploads(_)
        | MetaQuery::GetUploadWithExtras { .. }
        | MetaQuery::ListPartsWithChecksums { .. } => uploads::answer(db, q),
        MetaQuery::GetAccessKey { .. }
        | MetaQuery::ListAccessKeys
        | MetaQuery::ListNodes
        | MetaQuery::GetLayout
        | MetaQuery::LayoutEpoch
        | MetaQuery::LayoutUsage
        | MetaQuery::UnreferencedVersions { .. }
        | MetaQuery::GetGrants { .. }
        | MetaQuery::GetBucketPolicy { .. } => cluster::answer(db, q),
        MetaQuery::ChunkRefs { .. }
        | MetaQuery::ShardsOnNode { .. }
        | MetaQuery::PiecesOnNode { .. } => chunks::answer(db, q),
    }
}
