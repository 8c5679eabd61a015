//! Who may do what, as rows of `CF_ACCESS`: each grant of a key on a bucket
//! (`g` | key | 0 | bucket → `Grant`), and the same pair by bucket (`b` |
//! bucket | 0 | key → ()) so a deleted bucket takes its grants with it and a
//! deleted key takes its own; and each bucket's policy document (`p` |
//! bucket → the JSON text). Access key ids and bucket names hold no zero
//! byte, so the separator is unambiguous.

use super::db::{CF_ACCESS, DbError, MetaDb, decode, encode};
use cairn_types::access::Grant;
use rocksdb::WriteBatch;

fn row(tag: u8, first: &str, second: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + first.len() + second.len());
    k.push(tag);
    k.extend_from_slice(first.as_bytes());
    k.push(0);
    k.extend_from_slice(second.as_bytes());
    k
}

fn prefix(tag: u8, first: &str) -> Vec<u8> {
    row(tag, first, "")
}

/// Sets (Some, not empty) or removes `key`'s grant on `bucket`.
pub fn set_grant(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &str,
    bucket: &str,
    grant: Option<Grant>,
) -> Result<(), DbError> {
    let cf = db.cf(CF_ACCESS)?;
    match grant.filter(|g| !g.is_empty()) {
        Some(g) => {
            batch.put_cf(cf, row(b'g', key, bucket), encode(&g)?);
            batch.put_cf(cf, row(b'b', bucket, key), []);
        }
        None => {
            batch.delete_cf(cf, row(b'g', key, bucket));
            batch.delete_cf(cf, row(b'b', bucket, key));
        }
    }
    Ok(())
}

/// The (second part, value) of every row under `tag` | `first` | 0.
fn scan(db: &MetaDb, tag: u8, first: &str) -> Result<Vec<(String, Vec<u8>)>, DbError> {
    let p = prefix(tag, first);
    let mut it = db.db.raw_iterator_cf(db.cf(CF_ACCESS)?);
    it.seek(&p);
    let mut out = Vec::new();
    while it.valid() {
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(&p) => {
                out.push((
                    String::from_utf8_lossy(&k[p.len()..]).into_owned(),
                    v.to_vec(),
                ));
            }
            _ => break,
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// `key`'s grants, by bucket.
pub fn grants_of(db: &MetaDb, key: &str) -> Result<Vec<(String, Grant)>, DbError> {
    scan(db, b'g', key)?
        .into_iter()
        .map(|(bucket, v)| Ok((bucket, decode(&v)?)))
        .collect()
}

/// `key`'s grant on `bucket` (exactly that bucket).
pub fn grant(db: &MetaDb, key: &str, bucket: &str) -> Result<Option<Grant>, DbError> {
    db.get(CF_ACCESS, &row(b'g', key, bucket))
}

/// Removes every grant of `key`.
pub fn drop_key(db: &MetaDb, batch: &mut WriteBatch, key: &str) -> Result<(), DbError> {
    for (bucket, _) in scan(db, b'g', key)? {
        set_grant(db, batch, key, &bucket, None)?;
    }
    Ok(())
}

/// Removes every grant on `bucket`, and its policy.
pub fn drop_bucket(db: &MetaDb, batch: &mut WriteBatch, bucket: &str) -> Result<(), DbError> {
    for (key, _) in scan(db, b'b', bucket)? {
        set_grant(db, batch, &key, bucket, None)?;
    }
    set_policy(db, batch, bucket, None)
}

/// Sets (Some) or removes `bucket`'s policy document.
pub fn set_policy(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    policy: Option<&str>,
) -> Result<(), DbError> {
    let cf = db.cf(CF_ACCESS)?;
    match policy {
        Some(p) => batch.put_cf(cf, prefix(b'p', bucket), encode(&p.to_string())?),
        None => batch.delete_cf(cf, prefix(b'p', bucket)),
    }
    Ok(())
}

/// `bucket`'s policy document.
pub fn policy(db: &MetaDb, bucket: &str) -> Result<Option<String>, DbError> {
    db.get(CF_ACCESS, &prefix(b'p', bucket))
}
