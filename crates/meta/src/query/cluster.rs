//! Queries about the cluster rather than its data: access keys and their
//! grants, storage node
//! records, the layout and where shards are (`layout_usage`), and which data
//! versions nothing references (for the garbage collector).

use super::layout_usage::usage;
use super::outcome::{Answered, misrouted};
use crate::store::data_refs::unreferenced;
use crate::store::db::{CF_KEYS, CF_NODES, MetaDb, scan_all};
use crate::store::layout::state;
use cairn_rpc::{MetaQuery, QueryResult};

/// Answers a cluster query (see `dispatch`).
pub(super) fn answer(db: &MetaDb, q: &MetaQuery) -> Answered {
    Ok(Ok(match q {
        MetaQuery::GetAccessKey { access_key_id } => {
            QueryResult::AccessKey(db.get(CF_KEYS, access_key_id.as_bytes())?)
        }
        MetaQuery::ListAccessKeys => QueryResult::AccessKeys(scan_all(db, CF_KEYS)?),
        MetaQuery::ListNodes => QueryResult::Nodes(scan_all(db, CF_NODES)?),
        MetaQuery::GetGrants { access_key_id } => {
            QueryResult::Grants(crate::store::access::grants_of(db, access_key_id)?)
        }
        MetaQuery::GetBucketPolicy { bucket } => {
            QueryResult::BucketPolicy(crate::store::access::policy(db, bucket)?)
        }
        MetaQuery::GetLayout => QueryResult::Layout(state(db)?),
        MetaQuery::LayoutEpoch => QueryResult::LayoutEpoch(state(db)?.epoch()),
        MetaQuery::LayoutUsage => QueryResult::Usage(usage(db)?),
        MetaQuery::UnreferencedVersions { versions } => {
            QueryResult::Unreferenced(unreferenced(db, versions)?)
        }
        _ => return misrouted(),
    }))
}
