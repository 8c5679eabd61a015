//! Unit tests of the multipart checksums: the S3 digests, COMPOSITE and
//! FULL_OBJECT.

use super::*;

const CHECK: &[u8] = b"123456789";

#[test]
fn digests_are_the_s3_algorithms() {
    // The catalogued check values of each CRC, and the SHA test vectors.
    assert_eq!(
        hex::encode(digest(ChecksumAlgorithm::Crc32, CHECK)),
        "cbf43926"
    );
    assert_eq!(
        hex::encode(digest(ChecksumAlgorithm::Crc32c, CHECK)),
        "e3069283"
    );
    assert_eq!(
        hex::encode(digest(ChecksumAlgorithm::Crc64Nvme, CHECK)),
        "ae8b14860a799888"
    );
    assert_eq!(
        hex::encode(digest(ChecksumAlgorithm::Sha1, b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex::encode(digest(ChecksumAlgorithm::Sha256, b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn composite_is_the_checksum_of_the_part_checksums() {
    let b64 = base64::engine::general_purpose::STANDARD;
    // CRC32 of "hello" is 3610a686, of "world" 3a771143; the CRC32 of the
    // eight bytes 3610a686 3a771143 (computed independently with zlib).
    let parts = vec![
        b64.encode(0x3610_a686u32.to_be_bytes()),
        b64.encode(0x3a77_1143u32.to_be_bytes()),
    ];
    assert_eq!(
        parts[0],
        b64.encode(digest(ChecksumAlgorithm::Crc32, b"hello"))
    );
    assert_eq!(
        parts[1],
        b64.encode(digest(ChecksumAlgorithm::Crc32, b"world"))
    );
    let joined = [0x36, 0x10, 0xa6, 0x86, 0x3a, 0x77, 0x11, 0x43];
    assert_eq!(
        composite(ChecksumAlgorithm::Crc32, &parts),
        Ok(b64.encode(digest(ChecksumAlgorithm::Crc32, &joined)))
    );
    assert_eq!(
        composite(ChecksumAlgorithm::Crc32, &parts),
        Ok(b64.encode(ZLIB_CRC32_OF_JOINED.to_be_bytes()))
    );
    // A SHA-256 composite over one part is the SHA-256 of its digest.
    let one = vec![b64.encode(digest(ChecksumAlgorithm::Sha256, b"abc"))];
    let expected = b64.encode(digest(
        ChecksumAlgorithm::Sha256,
        &digest(ChecksumAlgorithm::Sha256, b"abc"),
    ));
    assert_eq!(composite(ChecksumAlgorithm::Sha256, &one), Ok(expected));
    // Wrong lengths and bad base64 are refused.
    assert_eq!(
        composite(ChecksumAlgorithm::Sha1, &parts),
        Err(CompositeError::BadPartChecksum(1, "SHA1"))
    );
    assert!(composite(ChecksumAlgorithm::Crc32, &["!!".to_string()]).is_err());
}

#[test]
fn full_object_crcs_combine_the_parts() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let pieces = [&data[..4096], &data[4096..9000], &data[9000..]];
    for algorithm in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
    ] {
        let parts: Vec<(String, u64)> = pieces
            .iter()
            .map(|p| (b64.encode(digest(algorithm, p)), p.len() as u64))
            .collect();
        assert_eq!(
            full_object_crc(algorithm, &parts),
            Ok(b64.encode(digest(algorithm, &data))),
            "{algorithm:?}"
        );
    }
    let sha = vec![(b64.encode(digest(ChecksumAlgorithm::Sha1, b"x")), 1)];
    assert_eq!(
        full_object_crc(ChecksumAlgorithm::Sha1, &sha),
        Err(CompositeError::NotACrc("SHA1"))
    );
}

/// zlib.crc32(bytes.fromhex("3610a6863a771143")).
const ZLIB_CRC32_OF_JOINED: u32 = 0xc299_fbb6;
