//! `x-amz-checksum-*` on uploads and in answers. The expected value comes
//! either in a header (`x-amz-checksum-crc32: …`) or, for aws-chunked bodies,
//! in a trailer announced by `x-amz-trailer`. The body is hashed as it streams
//! (with s3s's hashers) and compared once it ended: a mismatch is BadDigest and
//! nothing is committed; a match is the checksum the object or part keeps.
//! A PutObject without any checksum gets a CRC64NVME computed here, as AWS
//! adds one to every object uploaded without. Stored checksums are answered
//! on GET/HEAD with `x-amz-checksum-mode: ENABLED` (`response_checksum`).

use cairn_types::{ChecksumAlgorithm, ObjectExtras, ObjectManifest, StoredChecksum};
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
    Header {
        name: &'static str,
        value: String,
    },
    Trailer {
        name: &'static str,
    },
    /// Nothing to compare with: the checksum is computed to be stored.
    Computed {
        name: &'static str,
    },
}

/// The algorithm of a checksum header name.
fn algorithm_of(name: &str) -> Option<ChecksumAlgorithm> {
    Some(match name {
        "x-amz-checksum-crc32" => ChecksumAlgorithm::Crc32,
        "x-amz-checksum-crc32c" => ChecksumAlgorithm::Crc32c,
        "x-amz-checksum-crc64nvme" => ChecksumAlgorithm::Crc64Nvme,
        "x-amz-checksum-sha1" => ChecksumAlgorithm::Sha1,
        "x-amz-checksum-sha256" => ChecksumAlgorithm::Sha256,
        _ => return None,
    })
}

/// The header name of an algorithm.
fn header_of(algorithm: ChecksumAlgorithm) -> &'static str {
    match algorithm {
        ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
        ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
        ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
        ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
        ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
    }
}

/// The algorithm of an s3s `ChecksumAlgorithm` value (`x-amz-checksum-algorithm`).
pub fn algorithm_named(a: &s3s::dto::ChecksumAlgorithm) -> S3Result<ChecksumAlgorithm> {
    ChecksumAlgorithm::from_name(a.as_str()).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
        )
    })
}

pub struct ChecksumVerifier {
    hasher: ChecksumHasher,
    expected: Expected,
    /// Also compute a CRC64NVME beside the request's own checksum.
    side_crc64nvme: bool,
}

/// What a verifier found once the body ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The request's checksum, verified (or computed, when asked to be).
    pub checksum: Option<StoredChecksum>,
    /// The CRC64NVME computed beside it (`also_crc64nvme`).
    pub crc64nvme: Option<StoredChecksum>,
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
            Expected::Header { name, .. }
            | Expected::Trailer { name }
            | Expected::Computed { name } => hasher_for(name),
        };
        Ok(Self {
            hasher,
            expected,
            side_crc64nvme: false,
        })
    }

    /// Also computes a CRC64NVME of the body (the part checksum kept for
    /// uploads without a checksum algorithm, whose objects get a
    /// FULL_OBJECT CRC64NVME as at AWS).
    pub fn also_crc64nvme(mut self) -> Self {
        self.hasher.crc64nvme.get_or_insert_with(Crc64Nvme::new);
        self.side_crc64nvme = true;
        self
    }

    /// A verifier that only computes `algorithm` (for data the gateway
    /// copies, which comes with no checksum to compare).
    pub fn computing(algorithm: ChecksumAlgorithm) -> Self {
        let name = header_of(algorithm);
        Self {
            hasher: hasher_for(name),
            expected: Expected::Computed { name },
            side_crc64nvme: false,
        }
    }

    /// When the request promises no checksum, computes a CRC64NVME to store
    /// (AWS's default for objects uploaded without one).
    pub fn or_default_crc64nvme(self) -> Self {
        match self.expected {
            Expected::None => Self::computing(ChecksumAlgorithm::Crc64Nvme),
            _ => self,
        }
    }

    /// The algorithm the request promised, if any (known before the body).
    pub fn promised(&self) -> Option<ChecksumAlgorithm> {
        match &self.expected {
            Expected::Header { name, .. } | Expected::Trailer { name } => algorithm_of(name),
            Expected::None | Expected::Computed { .. } => None,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    /// Compares what was received with what was promised; answers the
    /// verified (or computed) checksum, None when there was none.
    pub fn verify(self, trailers: Option<&TrailingHeaders>) -> S3Result<Option<StoredChecksum>> {
        Ok(self.verify_all(trailers)?.checksum)
    }

    /// `verify`, and the side CRC64NVME when one was asked for.
    pub fn verify_all(self, trailers: Option<&TrailingHeaders>) -> S3Result<Verified> {
        let sum = self.hasher.finalize();
        let stored = |name: &'static str| {
            let value = value_of(&sum, name).unwrap_or_default();
            algorithm_of(name).map(|algorithm| StoredChecksum {
                algorithm,
                value,
                parts: None,
            })
        };
        let crc64nvme = if self.side_crc64nvme {
            stored("x-amz-checksum-crc64nvme")
        } else {
            None
        };
        let (name, expected) = match self.expected {
            Expected::None => {
                return Ok(Verified {
                    checksum: None,
                    crc64nvme,
                });
            }
            Expected::Computed { name } => {
                return Ok(Verified {
                    checksum: stored(name),
                    crc64nvme,
                });
            }
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
        let actual = value_of(&sum, name).unwrap_or_default();
        if actual != expected.trim() {
            return Err(s3_error!(
                BadDigest,
                "The {name} you specified did not match the calculated checksum."
            ));
        }
        Ok(Verified {
            checksum: stored(name),
            crc64nvme,
        })
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

/// The checksum a GET/HEAD answers (with `x-amz-checksum-mode: ENABLED`):
/// none for a Range (S3 has no checksum of an arbitrary range); the part's
/// own for `partNumber` of a multipart object; the object's otherwise.
pub fn response_checksum(
    m: &ObjectManifest,
    extras: &ObjectExtras,
    ranged: bool,
    part_number: Option<i32>,
) -> Option<Checksum> {
    let stored = extras.checksum.as_ref()?;
    if ranged {
        return None;
    }
    match part_number {
        Some(n) if !m.part_sizes.is_empty() => {
            let i = usize::try_from(n).ok()?.checked_sub(1)?;
            let part = StoredChecksum {
                algorithm: stored.algorithm,
                value: extras.part_checksums.get(i)?.clone(),
                parts: None,
            };
            let mut c = checksum_dto(&part);
            if stored.parts.is_some() {
                c.checksum_type = Some(ChecksumType::from_static(ChecksumType::COMPOSITE));
            }
            Some(c)
        }
        _ => Some(checksum_dto(stored)),
    }
}

/// Copies the five `checksum_*` fields (and `checksum_type` when the output
/// has one: `set_checksum!(out, c, type)`) of a `Checksum` onto an output.
macro_rules! set_checksum {
    ($out:expr, $c:expr) => {
        if let Some(c) = $c {
            $out.checksum_crc32 = c.checksum_crc32;
            $out.checksum_crc32c = c.checksum_crc32c;
            $out.checksum_crc64nvme = c.checksum_crc64nvme;
            $out.checksum_sha1 = c.checksum_sha1;
            $out.checksum_sha256 = c.checksum_sha256;
        }
    };
    ($out:expr, $c:expr, type) => {
        if let Some(c) = $c {
            $out.checksum_type = c.checksum_type.clone();
            $crate::s3::checksum::set_checksum!($out, Some(c));
        }
    };
}
pub(crate) use set_checksum;

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
        let kept = v.verify(None).expect("verified").expect("a checksum");
        assert_eq!(kept.algorithm, ChecksumAlgorithm::Crc32);
        assert_eq!(kept.value, good);
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

    #[test]
    fn reads_answer_the_object_part_or_no_checksum() {
        use cairn_types::{HttpHeaders, ObjectData, VersionId};
        let composite = StoredChecksum {
            algorithm: ChecksumAlgorithm::Sha1,
            value: "whole".into(),
            parts: Some(2),
        };
        let extras = ObjectExtras {
            tags: vec![],
            checksum: Some(composite),
            part_checksums: vec!["one".into(), "two".into()],
        };
        let m = ObjectManifest {
            bucket: "b".into(),
            key: "k".into(),
            version: VersionId::new_random(),
            size: 10,
            etag: String::new(),
            last_modified: 0,
            headers: HttpHeaders::default(),
            data: ObjectData::Inline(vec![0; 10]),
            part_sizes: vec![5, 5],
        };
        let whole = response_checksum(&m, &extras, false, None).expect("whole");
        assert_eq!(whole.checksum_sha1.as_deref(), Some("whole-2"));
        let part = response_checksum(&m, &extras, false, Some(2)).expect("part");
        assert_eq!(part.checksum_sha1.as_deref(), Some("two"));
        assert!(response_checksum(&m, &extras, false, Some(3)).is_none());
        assert!(response_checksum(&m, &extras, true, None).is_none());
        assert!(response_checksum(&m, &ObjectExtras::default(), false, None).is_none());
    }

    #[test]
    fn default_crc64nvme_only_without_a_promise() {
        let mut v = ChecksumVerifier::new(&http::HeaderMap::new(), &Checksum::default())
            .expect("plan")
            .or_default_crc64nvme();
        v.update(b"123456789");
        let kept = v.verify(None).expect("computed").expect("a checksum");
        assert_eq!(kept.algorithm, ChecksumAlgorithm::Crc64Nvme);
        // The catalogued check value of CRC-64/NVME.
        assert_eq!(
            kept.value,
            base64_of(&0xae8b_1486_0a79_9888u64.to_be_bytes())
        );
        let promised = ChecksumVerifier::new(&http::HeaderMap::new(), &given_crc32("x"))
            .expect("plan")
            .or_default_crc64nvme();
        assert_eq!(promised.promised(), Some(ChecksumAlgorithm::Crc32));
    }

    #[test]
    fn a_side_crc64nvme_is_computed_beside_the_promised_checksum() {
        // CRC32 of "123456789" is cbf43926.
        let crc32 = base64_of(&0xcbf4_3926u32.to_be_bytes());
        let mut v = ChecksumVerifier::new(&http::HeaderMap::new(), &given_crc32(&crc32))
            .expect("plan")
            .also_crc64nvme();
        v.update(b"123456789");
        let found = v.verify_all(None).expect("verified");
        assert_eq!(found.checksum.map(|c| c.value), Some(crc32));
        assert_eq!(
            found.crc64nvme.map(|c| c.value),
            Some(base64_of(&0xae8b_1486_0a79_9888u64.to_be_bytes()))
        );
    }

    fn base64_of(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}
