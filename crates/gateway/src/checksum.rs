//! Verification of `x-amz-checksum-*` on uploads. The expected value comes
//! either in a header (`x-amz-checksum-crc32: …`) or, for aws-chunked bodies,
//! in a trailer announced by `x-amz-trailer`. The body is hashed as it streams
//! (with s3s's hashers) and compared once it ended: a mismatch is BadDigest and
//! nothing is committed.

use cairn_types::{ChecksumAlgorithm, StoredChecksum};
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use s3s::dto::{Checksum, ChecksumType, ObjectPart};
use s3s::{S3Result, TrailingHeaders, s3_error};

/// The checksum algorithms S3 defines, by their header name.
const ALGORITHMS: [&str; 5] = [
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
];

/// Where the expected value will come from.
enum Expected {
    None,
    Header { name: &'static str, value: String },
    Trailer { name: &'static str },
}

pub struct ChecksumVerifier {
    hasher: ChecksumHasher,
    expected: Expected,
}

fn hasher_for(name: &str) -> ChecksumHasher {
    let mut h = ChecksumHasher::default();
    match name {
        "x-amz-checksum-crc32" => h.crc32 = Some(Crc32::new()),
        "x-amz-checksum-crc32c" => h.crc32c = Some(Crc32c::new()),
        "x-amz-checksum-crc64nvme" => h.crc64nvme = Some(Crc64Nvme::new()),
        "x-amz-checksum-sha1" => h.sha1 = Some(Sha1::new()),
        "x-amz-checksum-sha256" => h.sha256 = Some(Sha256::new()),
        _ => {}
    }
    h
}

fn value_of(sum: &Checksum, name: &str) -> Option<String> {
    match name {
        "x-amz-checksum-crc32" => sum.checksum_crc32.clone(),
        "x-amz-checksum-crc32c" => sum.checksum_crc32c.clone(),
        "x-amz-checksum-crc64nvme" => sum.checksum_crc64nvme.clone(),
        "x-amz-checksum-sha1" => sum.checksum_sha1.clone(),
        "x-amz-checksum-sha256" => sum.checksum_sha256.clone(),
        _ => None,
    }
}

impl ChecksumVerifier {
    /// Reads which checksum the request promises: at most one header value
    /// (given as the parsed input fields) or one announced trailer.
    pub fn new(headers: &http::HeaderMap, given: &Checksum) -> S3Result<Self> {
        let mut from_headers = ALGORITHMS
            .iter()
            .filter_map(|&name| value_of(given, name).map(|v| (name, v)));
        let first = from_headers.next();
        if from_headers.next().is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            ));
        }
        let trailer = headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        let expected = match (first, trailer) {
            (Some((name, value)), _) => Expected::Header { name, value },
            (None, Some(t)) => match ALGORITHMS.iter().find(|&&a| a == t) {
                Some(&name) => Expected::Trailer { name },
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "unsupported x-amz-trailer value {t}"
                    ));
                }
            },
            (None, None) => Expected::None,
        };
        let hasher = match &expected {
            Expected::None => ChecksumHasher::default(),
            Expected::Header { name, .. } | Expected::Trailer { name } => hasher_for(name),
        };
        Ok(Self { hasher, expected })
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    /// Compares what was received with what was promised.
    pub fn verify(self, trailers: Option<&TrailingHeaders>) -> S3Result<()> {
        let (name, expected) = match self.expected {
            Expected::None => return Ok(()),
            Expected::Header { name, value } => (name, value),
            Expected::Trailer { name } => {
                let sent = trailers
                    .and_then(|t| {
                        t.read(|h| {
                            h.get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string)
                        })
                    })
                    .flatten();
                match sent {
                    Some(v) => (name, v),
                    None => {
                        return Err(s3_error!(
                            InvalidRequest,
                            "the trailer {name} announced in x-amz-trailer was not sent"
                        ));
                    }
                }
            }
        };
        let actual = value_of(&self.hasher.finalize(), name).unwrap_or_default();
        if actual != expected.trim() {
            return Err(s3_error!(
                BadDigest,
                "The {name} you specified did not match the calculated checksum."
            ));
        }
        Ok(())
    }
}

/// A stored checksum as the `Checksum` fields of a response: the value
/// (`<base64>-<parts>` for a composite one) under its algorithm, and its type.
pub fn checksum_dto(c: &StoredChecksum) -> Checksum {
    let value = match c.parts {
        Some(n) => format!("{}-{n}", c.value),
        None => c.value.clone(),
    };
    let mut out = Checksum {
        checksum_type: Some(ChecksumType::from_static(if c.parts.is_some() {
            ChecksumType::COMPOSITE
        } else {
            ChecksumType::FULL_OBJECT
        })),
        ..Default::default()
    };
    match c.algorithm {
        ChecksumAlgorithm::Crc32 => out.checksum_crc32 = Some(value),
        ChecksumAlgorithm::Crc32c => out.checksum_crc32c = Some(value),
        ChecksumAlgorithm::Crc64Nvme => out.checksum_crc64nvme = Some(value),
        ChecksumAlgorithm::Sha1 => out.checksum_sha1 = Some(value),
        ChecksumAlgorithm::Sha256 => out.checksum_sha256 = Some(value),
    }
    out
}

/// Sets one part's checksum on a GetObjectAttributes part.
pub fn part_checksum_dto(part: &mut ObjectPart, algorithm: ChecksumAlgorithm, value: &str) {
    let value = Some(value.to_string());
    match algorithm {
        ChecksumAlgorithm::Crc32 => part.checksum_crc32 = value,
        ChecksumAlgorithm::Crc32c => part.checksum_crc32c = value,
        ChecksumAlgorithm::Crc64Nvme => part.checksum_crc64nvme = value,
        ChecksumAlgorithm::Sha1 => part.checksum_sha1 = value,
        ChecksumAlgorithm::Sha256 => part.checksum_sha256 = value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given_crc32(v: &str) -> Checksum {
        Checksum {
            checksum_crc32: Some(v.to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn header_checksum_is_verified() {
        // CRC32 of "hello" is 0x3610a686.
        let good = base64_of(&0x3610_a686u32.to_be_bytes());
        let mut v =
            ChecksumVerifier::new(&http::HeaderMap::new(), &given_crc32(&good)).expect("plan");
        v.update(b"hel");
        v.update(b"lo");
        assert!(v.verify(None).is_ok());
        let mut v =
            ChecksumVerifier::new(&http::HeaderMap::new(), &given_crc32(&good)).expect("plan");
        v.update(b"hellO");
        assert_eq!(
            v.verify(None).map_err(|e| e.code().clone()),
            Err(s3s::S3ErrorCode::BadDigest)
        );
    }

    #[test]
    fn two_checksum_headers_are_refused() {
        let both = Checksum {
            checksum_crc32: Some("a".into()),
            checksum_sha256: Some("b".into()),
            ..Default::default()
        };
        assert!(ChecksumVerifier::new(&http::HeaderMap::new(), &both).is_err());
    }

    fn base64_of(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}
