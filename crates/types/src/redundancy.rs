//! How a bucket's chunks are made redundant (`replicas=N` or `ec=K+M`), and
//! the ids of the shard codecs that implement each: the id is written into
//! every shard header and every chunked manifest, so reads decode what was
//! written even after a bucket's policy or the default codec changes.
//! `DefaultRedundancy` is what a bucket created without a choice gets:
//! `auto` (the cluster default) resolves against the layout when the
//! bucket is created.

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

/// Widest replication `auto` chooses: three copies, as Ceph, Swift and
/// Garage default to, once the layout has that many nodes.
pub const AUTO_MAX_REPLICAS: u8 = 3;
/// The text form of the automatic default.
pub const AUTO_REDUNDANCY: &str = "auto";

/// The redundancy of buckets created without choosing one
/// (`s3.default_redundancy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRedundancy {
    /// `auto`: the widest replication the layout can place, up to
    /// `AUTO_MAX_REPLICAS`: `replicas=3` once the layout has 3 or more nodes
    /// that hold data, fewer on a smaller cluster.
    Auto,
    /// An explicit `replicas=N` or `ec=K+M`.
    Fixed(Redundancy),
}

impl DefaultRedundancy {
    /// Parses `auto`, `replicas=N` or `ec=K+M`.
    pub fn parse(s: &str) -> Option<Self> {
        if s.trim() == AUTO_REDUNDANCY {
            return Some(Self::Auto);
        }
        Redundancy::parse(s).map(Self::Fixed)
    }

    /// The redundancy a new bucket gets on a cluster whose layout has
    /// `placeable_nodes` nodes that hold data (before the first layout: the
    /// registered nodes). An explicit value is returned as it is, even when
    /// the layout is too small for it (the caller refuses that).
    pub fn resolve(&self, placeable_nodes: usize) -> Redundancy {
        match self {
            Self::Fixed(r) => *r,
            Self::Auto => {
                let n = placeable_nodes.clamp(1, usize::from(AUTO_MAX_REPLICAS));
                Redundancy::Replicas(u8::try_from(n).unwrap_or(AUTO_MAX_REPLICAS))
            }
        }
    }
}

impl std::fmt::Display for DefaultRedundancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str(AUTO_REDUNDANCY),
            Self::Fixed(r) => r.fmt(f),
        }
    }
}

/// Shard codec: every piece is a whole copy of the chunk.
pub const CODEC_REPLICATION_V1: u16 = 1;
/// Shard codec: systematic Reed-Solomon over GF(2^8); pieces are the data
/// stripes then the parity stripes of the chunk (`cairn_codec::ErasureCodec`).
pub const CODEC_RS_GF256_V1: u16 = 2;

impl Redundancy {
    /// Whether `record`'s chunk is stored as this policy writes a chunk:
    /// whole replicas with this many wanted, or exactly these data and
    /// parity pieces. A chunk of a bucket whose redundancy changed that is
    /// not is re-encoded by the reconciler (`cairn admin bucket set-redundancy`).
    pub fn describes(&self, record: &crate::ChunkRecord) -> bool {
        self.shapes(&record.chunk)
            && match self {
                Redundancy::Replicas(n) => record.width == *n,
                Redundancy::ErasureCoded { .. } => true,
            }
    }

    /// Whether `chunk` has the shape this policy writes: whole replicas, or
    /// exactly these data and parity pieces (the number of replicas wanted
    /// is the record's, see `describes`).
    pub fn shapes(&self, chunk: &crate::ChunkRef) -> bool {
        match self {
            Redundancy::Replicas(_) => chunk.data_pieces == 0 && chunk.pieces.is_empty(),
            Redundancy::ErasureCoded { data, parity } => {
                chunk.data_pieces == *data
                    && chunk.pieces.len() == usize::from(*data) + usize::from(*parity)
            }
        }
    }

    /// The shard codec chunks written under this policy use.
    pub fn codec(&self) -> u16 {
        match self {
            Redundancy::Replicas(_) => CODEC_REPLICATION_V1,
            Redundancy::ErasureCoded { .. } => CODEC_RS_GF256_V1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_default_is_the_widest_replication_up_to_three() {
        let auto = DefaultRedundancy::parse("auto").expect("auto parses");
        assert_eq!(auto, DefaultRedundancy::Auto);
        assert_eq!(auto.resolve(0), Redundancy::Replicas(1));
        assert_eq!(auto.resolve(1), Redundancy::Replicas(1));
        assert_eq!(auto.resolve(2), Redundancy::Replicas(2));
        assert_eq!(auto.resolve(3), Redundancy::Replicas(3));
        assert_eq!(auto.resolve(6), Redundancy::Replicas(3));
        assert_eq!(auto.resolve(1000), Redundancy::Replicas(3));
        assert_eq!(auto.to_string(), "auto");
    }

    #[test]
    fn an_explicit_default_wins_over_auto() {
        let one = DefaultRedundancy::parse("replicas=1").expect("parses");
        assert_eq!(one.resolve(6), Redundancy::Replicas(1));
        let ec = DefaultRedundancy::parse(" ec=4+2 ").expect("parses");
        assert_eq!(
            ec.resolve(3),
            Redundancy::ErasureCoded { data: 4, parity: 2 },
            "an explicit value is kept even when the layout is too small"
        );
        assert_eq!(ec.to_string(), "ec=4+2");
        assert_eq!(DefaultRedundancy::parse("automatic"), None);
        assert_eq!(DefaultRedundancy::parse("replicas=0"), None);
    }
}

/// The codec a chunk's pieces were written with, from their shape: data
/// and parity pieces, or whole replicas. Reads decode each chunk by its
/// own shape, so an object whose bucket is being re-encoded reads while
/// its chunks are of both kinds.
pub fn codec_of(chunk: &crate::ChunkRef) -> u16 {
    if chunk.data_pieces > 0 {
        CODEC_RS_GF256_V1
    } else {
        CODEC_REPLICATION_V1
    }
}
