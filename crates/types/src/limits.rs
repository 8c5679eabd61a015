//! Every size and count limit cairn enforces on what clients send, in one
//! place: S3's own limits (object and part sizes, part numbers, key length,
//! tags, keys per DeleteObjects, configuration sizes) and cairn's bounds on
//! its data path (chunk sizes, tied to the largest shard a node accepts).
//! The gateway answers the S3 error each one names; meta and the nodes check
//! the ones that protect their own state.

/// Largest body of a single PutObject (S3: 5 GiB; larger objects need a
/// multipart upload). Above it: `400 EntityTooLarge`.
pub const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Largest part of a multipart upload (S3: 5 GiB). Above it: `400 EntityTooLarge`.
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Smallest size of every part but the last (S3: 5 MiB). Below it,
/// CompleteMultipartUpload answers `400 EntityTooSmall`.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Highest part number (S3: 10,000). Above it: `400 InvalidArgument`.
pub const MAX_PART_NUMBER: u32 = 10_000;
/// Longest object key in bytes of UTF-8 (S3: 1024). Above it: `400 KeyTooLongError`.
pub const MAX_OBJECT_KEY_BYTES: usize = 1024;
/// User metadata of an object (S3: 2 KB), counted as the bytes of every
/// `x-amz-meta-*` name (without the prefix) and value. Above it:
/// `400 MetadataTooLarge`.
pub const MAX_USER_METADATA_BYTES: usize = 2 * 1024;
/// Entries of a CompleteMultipartUpload part list (S3: one per part, at most
/// 10,000). Above it: `400 InvalidArgument`.
pub const MAX_COMPLETE_PARTS: usize = MAX_PART_NUMBER as usize;
/// Largest XML request body, capped before it is parsed. The biggest a
/// valid request needs: DeleteObjects of 1,000 keys of 1,024 bytes each
/// escaped (`&#xHH;`, up to 6 bytes a byte) or CompleteMultipartUpload of
/// 10,000 parts with checksums. Above it: `400 MaxMessageLengthExceeded`.
pub const MAX_XML_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest CORS configuration document (S3: 64 KB). Above it:
/// `400 MaxMessageLengthExceeded`.
pub const MAX_CORS_CONFIG_BYTES: u64 = 64 * 1024;
/// Bucket name length (S3: 3 to 63). Outside: `400 InvalidBucketName`.
pub const MIN_BUCKET_NAME_LEN: usize = 3;
pub const MAX_BUCKET_NAME_LEN: usize = 63;
/// Tags per object (S3: 10). Above it: `400 InvalidTag`.
pub const MAX_OBJECT_TAGS: usize = 10;
/// Tags per bucket (S3: 50). Above it: `400 InvalidTag`.
pub const MAX_BUCKET_TAGS: usize = 50;
/// Longest tag key, in characters (S3: 128).
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// Longest tag value, in characters (S3: 256).
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// Keys per DeleteObjects request (S3: 1000). Above it: `400 MalformedXML`.
pub const MAX_DELETE_KEYS: usize = 1000;
/// Rules per bucket CORS configuration (S3: 100).
pub const MAX_CORS_RULES: usize = 100;
/// Rules per bucket lifecycle configuration (S3: 1000).
pub const MAX_LIFECYCLE_RULES: usize = 1000;

/// Most replicas a bucket may ask for (`replicas=N`).
pub const MAX_REPLICAS: u8 = 7;
/// Most pieces (data + parity) of an erasure-coded chunk (`ec=K+M`).
pub const MAX_EC_WIDTH: u8 = 32;

/// Largest shard payload a storage node accepts (and the most a node reads
/// into one file). A replicated chunk's shard is the whole chunk, so no
/// chunk may be larger.
pub const MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;
/// Smallest chunk size `data_path.chunk_size` may be set to.
pub const MIN_CHUNK_SIZE: usize = 64 * 1024;
/// Largest chunk size `data_path.chunk_size` may be set to: a whole chunk
/// must fit in one shard.
pub const MAX_CHUNK_SIZE: usize = MAX_SHARD_BYTES as usize;

const _: () = assert!(MAX_CHUNK_SIZE as u64 <= MAX_SHARD_BYTES);
const _: () = assert!(MIN_CHUNK_SIZE <= MAX_CHUNK_SIZE);
const _: () = assert!(MIN_PART_SIZE <= MAX_PART_BYTES);

/// Largest metadata write meta accepts, as encoded on the wire: one
/// object's or part's record with its whole chunk list, or one bucket
/// configuration. Every internal message and Raft log entry is sized from it
/// (`cairn_rpc::sizes`). It holds the chunk list of a 5 GiB PUT or part at
/// the default 1 MiB chunk size even with the widest erasure layout (32
/// pieces: about 6 MiB), and at any chunk size with replication (64 KiB
/// chunks, 3 replicas: about 5 MiB). Erasure coding with small chunks
/// lowers the largest object: 64 KiB chunks with `ec=4+2` hold about
/// 1.9 GiB. A write above it is refused (`400 EntityTooLarge`) and never
/// reaches the Raft log.
pub const MAX_META_COMMAND_BYTES: usize = 8 * 1024 * 1024;
