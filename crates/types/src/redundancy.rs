//! How a bucket's chunks are made redundant (`replicas=N` or `ec=K+M`), and
//! the ids of the shard codecs that implement each: the id is written into
//! every shard header and every chunked manifest, so reads decode what was
//! written even after a bucket's policy or the default codec changes.

use crate::limits::{MAX_EC_WIDTH, MAX_REPLICAS};
use serde::{Deserialize, Serialize};

/// How a bucket's chunks are made redundant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Redundancy {
    /// Every chunk stored whole on this many distinct nodes.
    Replicas(u8),
    /// Every chunk cut into `data` pieces plus `parity` Reed-Solomon pieces,
    /// each on its own node; any `data` of them rebuild the chunk.
    ErasureCoded { data: u8, parity: u8 },
}

impl Redundancy {
    /// Parses the text form: `replicas=N` (N from 1 to `MAX_REPLICAS`) or
    /// `ec=K+M` (K data and M parity pieces, both at least 1, K+M at most `MAX_EC_WIDTH`).
    pub fn parse(s: &str) -> Option<Redundancy> {
        let (kind, value) = s.trim().split_once('=')?;
        match kind.trim() {
            "replicas" => {
                let n: u8 = value.trim().parse().ok()?;
                (1..=MAX_REPLICAS)
                    .contains(&n)
                    .then_some(Redundancy::Replicas(n))
            }
            "ec" => {
                let (k, m) = value.trim().split_once('+')?;
                let (data, parity): (u8, u8) = (k.trim().parse().ok()?, m.trim().parse().ok()?);
                let ok = data >= 1
                    && parity >= 1
                    && u16::from(data) + u16::from(parity) <= u16::from(MAX_EC_WIDTH);
                ok.then_some(Redundancy::ErasureCoded { data, parity })
            }
            _ => None,
        }
    }

    /// Pieces that must be on stable storage before a chunk counts as
    /// written: a majority of replicas, or k+1 of the k+m pieces of an
    /// erasure-coded chunk (so one more node can fail before the chunk is
    /// unreadable).
    pub fn write_quorum(&self) -> usize {
        match self {
            Redundancy::Replicas(_) => self.width() / 2 + 1,
            Redundancy::ErasureCoded { data, .. } => (usize::from(*data) + 1).min(self.width()),
        }
    }

    /// How many nodes hold a piece of each chunk.
    pub fn width(&self) -> usize {
        match self {
            Redundancy::Replicas(n) => usize::from(*n),
            Redundancy::ErasureCoded { data, parity } => usize::from(*data) + usize::from(*parity),
        }
    }
}

impl std::fmt::Display for Redundancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Redundancy::Replicas(n) => write!(f, "replicas={n}"),
            Redundancy::ErasureCoded { data, parity } => write!(f, "ec={data}+{parity}"),
        }
    }
}

/// Shard codec: every piece is a whole copy of the chunk.
pub const CODEC_REPLICATION_V1: u16 = 1;
/// Shard codec: systematic Reed-Solomon over GF(2^8); pieces are the data
/// stripes then the parity stripes of the chunk (`cairn_codec::ErasureCodec`).
pub const CODEC_RS_GF256_V1: u16 = 2;

impl Redundancy {
    /// The shard codec chunks written under this policy use.
    pub fn codec(&self) -> u16 {
        match self {
            Redundancy::Replicas(_) => CODEC_REPLICATION_V1,
            Redundancy::ErasureCoded { .. } => CODEC_RS_GF256_V1,
        }
    }
}
