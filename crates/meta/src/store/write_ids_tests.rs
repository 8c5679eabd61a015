//! Unit tests of the write-id table: records expire by the table's clock
//! (the largest stamp applied, never moving back), oldest first, within the
//! per-entry limit, and the count bound removes the oldest early.

use super::*;
use crate::test_support::open;

const SMALL: Bounds = Bounds {
    window_ms: 1_000,
    max_records: 100,
    purged_per_entry: 100,
};

fn id(n: u8) -> WriteId {
    WriteId([n; 16])
}

/// Records `ids` at `recorded_ms` and closes the entry with `stamp`.
fn entry(db: &MetaDb, ids: &[u8], recorded_ms: u64, stamp: u64, bounds: Bounds) {
    let mut batch = WriteBatch::default();
    for n in ids {
        let record = WriteRecord {
            recorded_ms,
            answer: Ok(MetaResponse::Done),
        };
        put(db, &mut batch, &id(*n), &record).expect("put");
    }
    advance(db, &mut batch, stamp, ids.len() as u64, bounds).expect("advance");
    db.db.write(batch).expect("write");
}

fn kept(db: &MetaDb) -> Vec<u8> {
    (0..=255u8)
        .filter(|n| get(db, &id(*n)).expect("get").is_some())
        .collect()
}

#[test]
fn records_expire_by_the_stamped_clock_only() {
    let (_dir, db) = open();
    entry(&db, &[1, 2], 10_000, 10_000, SMALL);
    entry(&db, &[3], 10_500, 10_500, SMALL);
    assert_eq!(kept(&db), vec![1, 2, 3]);
    assert_eq!(count(&db).expect("count"), 3);
    // One ms short of the window: nothing goes.
    entry(&db, &[], 0, 10_999, SMALL);
    assert_eq!(kept(&db), vec![1, 2, 3]);
    // An entry stamped by a voter whose clock is behind does not move the
    // clock back, and expires nothing.
    entry(&db, &[4], 10_999, 5_000, SMALL);
    assert_eq!(clock(&db).expect("clock"), 10_999);
    assert_eq!(kept(&db), vec![1, 2, 3, 4]);
    // The window passed for 1 and 2, not for 3 and 4.
    entry(&db, &[], 0, 11_000, SMALL);
    assert_eq!(kept(&db), vec![3, 4]);
    assert_eq!(count(&db).expect("count"), 2);
    entry(&db, &[], 0, 20_000, SMALL);
    assert!(kept(&db).is_empty());
    assert_eq!(count(&db).expect("count"), 0);
}

#[test]
fn the_bound_removes_the_oldest_and_one_entry_removes_a_limited_number() {
    let (_dir, db) = open();
    let bounds = Bounds {
        window_ms: 1_000_000,
        max_records: 3,
        purged_per_entry: 2,
    };
    entry(&db, &[1], 1, 1, bounds);
    entry(&db, &[2], 2, 2, bounds);
    entry(&db, &[3], 3, 3, bounds);
    assert_eq!(kept(&db), vec![1, 2, 3]);
    // Three more in one entry: three over the bound, but at most two go now.
    entry(&db, &[4, 5, 6], 4, 4, bounds);
    assert_eq!(kept(&db), vec![3, 4, 5, 6]);
    assert_eq!(count(&db).expect("count"), 4);
    entry(&db, &[], 0, 5, bounds);
    assert_eq!(kept(&db), vec![4, 5, 6]);
    assert_eq!(count(&db).expect("count"), 3);
}
