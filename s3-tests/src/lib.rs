//! # cairn S3 compatibility test harness
//!
//! The integration tests under `s3-tests/tests/` drive an S3 endpoint with the
//! official `aws-sdk-s3` client (and, where the SDK cannot express a request,
//! with raw HTTP) and assert on data, headers and error codes. This crate is the
//! shared harness they use.
//!
//! ## Which server the tests talk to
//!
//! * If the environment variable `S3_ENDPOINT` is set (e.g.
//!   `S3_ENDPOINT=http://127.0.0.1:9000`), every test runs against that
//!   endpoint, signing with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` in
//!   region `AWS_REGION` (default `us-east-1`). Tests that need a private server
//!   (restart/persistence) are skipped in that mode.
//! * Otherwise each test binary starts **one** in-process cairn server on first
//!   use ([`target`]). It runs on a dedicated OS thread with its own
//!   multi-thread tokio runtime that lives for the whole process: every
//!   `#[tokio::test]` gets its own runtime that is dropped when the test ends,
//!   so the server must not be spawned on a test's runtime. Its data lives in a
//!   temporary directory (left behind at process exit and swept by the next run)
//!   and it listens on `127.0.0.1:0` with the fixed keys [`TEST_ACCESS_KEY`] /
//!   [`TEST_SECRET_KEY`].
//! * A test may start its own [`PrivateServer`] on its own directory
//!   ([`start_private_server`]), e.g. to shut it down and start it again.
//!
//! ## Running
//!
//! ```text
//! cargo test -p cairn-s3-tests                      # in-process server
//! cargo test -p cairn-s3-tests --test multipart     # one feature area
//! S3_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
//!     cargo test -p cairn-s3-tests                  # any S3 endpoint
//! ```
//!
//! Against an external endpoint each test deletes its bucket when it passes
//! ([`cleanup_bucket`]); a failing test leaves its bucket behind for inspection.
//!
//! ## Conventions
//!
//! * Every test body is wrapped in [`bounded`] so nothing hangs forever
//!   ([`TEST_TIMEOUT`]); most run in [`with_bucket`], which also makes and
//!   cleans up the test's bucket.
//! * Every test creates its own uniquely named bucket ([`unique_bucket`],
//!   [`create_bucket`]), so tests are independent and may run in parallel.
//! * Clients are built per test ([`client`], [`client_when_required`],
//!   [`client_with_keys`]): an SDK client's connection pool belongs to the
//!   runtime it was first used on.
//! * S3 errors are checked with [`expect_s3_error`], which compares both the
//!   S3 error code and the HTTP status ([`assert_raw_error`] for raw answers).
//! * Calls that must succeed go through the one-line helpers of [`ops`]
//!   ([`put_bytes`], [`get_bytes`], [`head_object`], [`complete`], …), which
//!   panic naming the call, the bucket, the key and the S3 error.

pub mod clients;
pub mod ops;
pub mod raw;
pub mod server;
pub mod util;
pub mod versions;

pub use clients::{ChecksumBehaviour, HeaderCapture, RecordedRequest};
// The two every test file uses; the shared test kit defines the same pair.
/// The one `put_bytes` / `get_bytes` of the test kit.
pub use cairn_testkit::{get_bytes, put_bytes};
pub use ops::{
    abort, assert_no_bucket, assert_no_object, complete, complete_request, completion, copy_object,
    copy_request, create_bucket_named, delete_bucket, delete_object, get_object, get_request,
    get_with, head_bucket, head_object, head_request, head_with, keys_of, list_keys, list_parts,
    list_parts_request, list_parts_with, list_v2, list_v2_with, meta, part, part_request,
    put_request, put_with, start_upload, tag, tagging, tags_of, upload_multipart, upload_part,
    upload_parts, upload_request,
};
pub use raw::{
    Payload, RawRequest, RawResponse, assert_raw_error, aws_chunked_body, encode_key, raw_signed,
    send_raw, send_to_url, xml_tag_values,
};
pub use server::{
    ENDPOINT_ENV, PrivateServer, SERVER_START_TIMEOUT, TEST_ACCESS_KEY,
    TEST_LIFECYCLE_INTERVAL_SECS, TEST_REGION, TEST_SECRET_KEY, Target, private_servers_supported,
    start_private_server, target,
};
pub use util::{
    KIB, MIB, TEST_TIMEOUT, bounded, checksum_b64, cleanup_bucket, collect_body,
    composite_checksum, content_md5, create_bucket, error_body, error_code, error_status, etag_of,
    expect_s3_error, md5_hex, multipart_etag, random_bytes, sdk_algorithm, unique_bucket,
    url_decode_plus, with_bucket, with_client_bucket,
};

/// The SDK client type the tests use.
pub use aws_sdk_s3::Client;

/// A client for the shared target with the SDK's default checksum behaviour
/// (`WhenSupported`: CRC32 on every upload, aws-chunked trailers for streaming bodies).
pub fn client() -> Client {
    target().client()
}

/// A client for the shared target that computes and validates checksums only when an
/// operation requires it (`RequestChecksumCalculation::WhenRequired`,
/// `ResponseChecksumValidation::WhenRequired`), i.e. how older SDKs behave.
pub fn client_when_required() -> Client {
    target().client_when_required()
}

/// A default-behaviour client for the shared target signing with the given keys.
pub fn client_with_keys(access_key: &str, secret_key: &str) -> Client {
    target().client_with_keys(access_key, secret_key)
}

/// The shared target's endpoint, `http://HOST:PORT`.
pub fn endpoint() -> String {
    target().endpoint.clone()
}
