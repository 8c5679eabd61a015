//! Records meta keeps beside objects, uploads and buckets, each in a table of
//! its own keyed like the record it belongs to: tags and stored checksums.
//! They live apart from `ObjectManifest`, `UploadRecord` and `Bucket` so the
//! postcard encoding of those (not self-describing) never changes; a record
//! without extras simply has no row. Written in the same batch as the record
//! they belong to, so an overwrite replaces them and a delete removes them.

use serde::{Deserialize, Serialize};

/// One tag of an object or bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The `x-amz-checksum-*` algorithms S3 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in S3's order.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// S3's name (`x-amz-checksum-algorithm` value).
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The algorithm of an S3 name, ignoring case.
    pub fn from_name(name: &str) -> Option<ChecksumAlgorithm> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether it is a CRC (whose values over adjacent byte ranges combine
    /// into the value over both: FULL_OBJECT multipart checksums).
    pub fn is_crc(self) -> bool {
        matches!(
            self,
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc64Nvme
        )
    }

    /// Bytes of one digest.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }
}

/// A checksum as S3 reports it: the base64 of the digest, and for a
/// composite multipart checksum the number of parts it was made from
/// (reported as `<base64>-<parts>`). None is a FULL_OBJECT checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChecksum {
    pub algorithm: ChecksumAlgorithm,
    pub value: String,
    /// Some(n) for a composite checksum of n parts.
    pub parts: Option<u32>,
}

/// What an object carries besides its manifest (table `object_extras`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectExtras {
    /// In the order they were given.
    pub tags: Vec<Tag>,
    /// The verified checksum of the whole object, if the upload sent one.
    pub checksum: Option<StoredChecksum>,
    /// Multipart objects: each part's checksum (base64), in object order,
    /// when the upload had a checksum algorithm.
    pub part_checksums: Vec<String>,
}

impl ObjectExtras {
    /// Whether there is nothing to store (no row is kept then).
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.checksum.is_none() && self.part_checksums.is_empty()
    }
}

/// What a multipart upload carries besides its record (table `upload_extras`):
/// what CreateMultipartUpload asked for the object it will become.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadExtras {
    pub tags: Vec<Tag>,
    /// `x-amz-checksum-algorithm`: every part must then carry this checksum.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `x-amz-checksum-type: FULL_OBJECT` (CRCs only): the object's checksum
    /// is the CRC of all its bytes, combined from the parts' CRCs, rather
    /// than the COMPOSITE checksum of the part checksums.
    pub full_object: bool,
}

impl UploadExtras {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.checksum_algorithm.is_none()
    }
}
