//! Object checksums of multipart objects, as S3 defines them. COMPOSITE: the
//! checksum (with the upload's algorithm) of the concatenated binary
//! checksums of the parts, in object order, reported as
//! `<base64>-<number of parts>`. FULL_OBJECT (CRCs only): the CRC of all the
//! object's bytes, combined from the parts' CRCs and sizes. Computed here, in
//! the state machine, from the part checksums it stored at UploadPart, so
//! every voter derives the same.

use base64::Engine;
use cairn_types::ChecksumAlgorithm;

/// Why a composite checksum cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompositeError {
    #[error("part checksum {0} is not base64 of a {1} digest")]
    BadPartChecksum(usize, &'static str),
    #[error("{0} checksums do not combine; FULL_OBJECT needs a CRC")]
    NotACrc(&'static str),
}

/// The digest of `data` with `algorithm`, as S3 encodes it (big-endian CRCs).
pub fn digest(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    use crc_fast::CrcAlgorithm;
    use sha2::Digest as _;
    match algorithm {
        ChecksumAlgorithm::Crc32 => (crc_fast::checksum(CrcAlgorithm::Crc32IsoHdlc, data) as u32)
            .to_be_bytes()
            .to_vec(),
        ChecksumAlgorithm::Crc32c => (crc_fast::checksum(CrcAlgorithm::Crc32Iscsi, data) as u32)
            .to_be_bytes()
            .to_vec(),
        ChecksumAlgorithm::Crc64Nvme => crc_fast::checksum(CrcAlgorithm::Crc64Nvme, data)
            .to_be_bytes()
            .to_vec(),
        ChecksumAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        ChecksumAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
    }
}

/// The composite checksum (base64, without the `-N` suffix) of parts whose
/// checksums (base64) are `parts`, in object order.
pub fn composite(algorithm: ChecksumAlgorithm, parts: &[String]) -> Result<String, CompositeError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut joined = Vec::with_capacity(parts.len() * algorithm.digest_len());
    for (i, p) in parts.iter().enumerate() {
        let raw = b64
            .decode(p.trim())
            .ok()
            .filter(|d| d.len() == algorithm.digest_len())
            .ok_or(CompositeError::BadPartChecksum(i + 1, algorithm.name()))?;
        joined.extend_from_slice(&raw);
    }
    Ok(b64.encode(digest(algorithm, &joined)))
}

/// The FULL_OBJECT checksum of a multipart object: the CRC of all its bytes,
/// combined from the parts' CRCs (base64) and sizes, in object order.
pub fn full_object_crc(
    algorithm: ChecksumAlgorithm,
    parts: &[(String, u64)],
) -> Result<String, CompositeError> {
    use crc_fast::CrcAlgorithm;
    let b64 = base64::engine::general_purpose::STANDARD;
    let crc = match algorithm {
        ChecksumAlgorithm::Crc32 => CrcAlgorithm::Crc32IsoHdlc,
        ChecksumAlgorithm::Crc32c => CrcAlgorithm::Crc32Iscsi,
        ChecksumAlgorithm::Crc64Nvme => CrcAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => {
            return Err(CompositeError::NotACrc(algorithm.name()));
        }
    };
    let mut combined: Option<u64> = None;
    for (i, (value, size)) in parts.iter().enumerate() {
        let raw = b64
            .decode(value.trim())
            .ok()
            .filter(|d| d.len() == algorithm.digest_len())
            .ok_or(CompositeError::BadPartChecksum(i + 1, algorithm.name()))?;
        let mut be = [0u8; 8];
        be[8 - raw.len()..].copy_from_slice(&raw);
        let part = u64::from_be_bytes(be);
        combined = Some(match combined {
            None => part,
            Some(so_far) => crc_fast::checksum_combine(crc, so_far, part, *size),
        });
    }
    let value = combined.unwrap_or_else(|| crc_fast::checksum(crc, &[]));
    let bytes = value.to_be_bytes();
    Ok(b64.encode(&bytes[8 - algorithm.digest_len()..]))
}

#[cfg(test)]
#[path = "checksums_tests.rs"]
mod tests;
