//! The `layout` table: the applied `ClusterLayout` (`current`, absent before
//! the first apply) and the operator's staged changes (`staging`), and the nodes applied
//! layouts removed (`departed`). Staging
//! and applying are commands (`apply::layout`); both records are read as one
//! `LayoutState`.

use crate::store::db::{CF_LAYOUT, DbError, MetaDb};
use cairn_types::LayoutState;

/// Key of the applied layout.
pub const CURRENT_KEY: &[u8] = b"current";
/// Key of the staged changes.
pub const STAGING_KEY: &[u8] = b"staging";
/// Key of the nodes applied layouts removed (`LayoutState::departed`).
pub const DEPARTED_KEY: &[u8] = b"departed";

/// The applied layout and the staged changes.
pub fn state(db: &MetaDb) -> Result<LayoutState, DbError> {
    Ok(LayoutState {
        current: db.get(CF_LAYOUT, CURRENT_KEY)?,
        staging: db.get(CF_LAYOUT, STAGING_KEY)?.unwrap_or_default(),
        departed: db.get(CF_LAYOUT, DEPARTED_KEY)?.unwrap_or_default(),
    })
}
