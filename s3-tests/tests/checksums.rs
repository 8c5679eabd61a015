//! Upload integrity in the wire formats real clients use: the SDK default
//! (checksum headers for in-memory bodies, aws-chunked bodies with a trailing
//! checksum for streaming ones), `WhenRequired` clients (no checksums), a
//! hand-built `STREAMING-UNSIGNED-PAYLOAD-TRAILER` upload, explicit checksum
//! algorithms, and mismatching checksums / Content-MD5.

use std::io::Write as _;
use std::str::FromStr as _;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use base64::Engine as _;
use cairn_s3_tests::*;

/// Over several internal chunks, so streamed uploads cross chunk boundaries.
const STREAM_SIZE: usize = 3 * MIB + 4321;
const SMALL_SIZE: usize = 10 * KIB;
/// Chunk size of the hand-built aws-chunked bodies (the SDK uses 64 KiB too).
const AWS_CHUNK_SIZE: usize = 64 * KIB;

/// `(header name, base64 value)` of a flexible checksum (`crc32`, `crc32c`, `sha256`) of `data`.
fn checksum_header(algorithm: &str, data: &[u8]) -> (String, String) {
    let mut checksum = aws_smithy_checksums::ChecksumAlgorithm::from_str(algorithm)
        .expect("known algorithm")
        .into_impl();
    checksum.update(data);
    let name = checksum.header_name().to_owned();
    let value = checksum
        .header_value()
        .to_str()
        .expect("base64 header")
        .to_owned();
    (name, value)
}

fn sdk_algorithm(name: &str) -> ChecksumAlgorithm {
    match name {
        "crc32" => ChecksumAlgorithm::Crc32,
        "crc32c" => ChecksumAlgorithm::Crc32C,
        "sha256" => ChecksumAlgorithm::Sha256,
        other => panic!("no SDK algorithm for {other}"),
    }
}

fn temp_file_with(data: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(data).expect("write temp file");
    file.flush().expect("flush temp file");
    file
}

async fn streaming_body(file: &tempfile::NamedTempFile) -> ByteStream {
    ByteStream::from_path(file.path())
        .await
        .expect("ByteStream from file")
}

/// Reads `key` back with checksum mode enabled, so a checksum the server
/// returns is validated by the SDK (default client), and compares the bytes.
async fn read_back(c: &Client, bucket: &str, key: &str, data: &[u8]) {
    let got = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetObject {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    assert_eq!(got.e_tag(), Some(etag_of(data).as_str()), "ETag of {key}");
    let body = collect_body(got).await;
    assert!(
        body == data,
        "{key}: {} bytes read back differ from the {} sent",
        body.len(),
        data.len()
    );
}

#[tokio::test]
async fn default_client_in_memory_put_sends_a_checksum_header() {
    bounded(async {
        let capture = HeaderCapture::new();
        let c = target().client_capturing(ChecksumBehaviour::WhenSupported, &capture);
        let bucket = create_bucket(&c, "ck-default-mem").await;
        let data = random_bytes(SMALL_SIZE);
        capture.clear();
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from(data.clone()))
            .send()
            .await;
        let put = put.expect("PutObject");
        let sent = capture.last().expect("request recorded");
        let (_, crc32) = checksum_header("crc32", &data);
        assert_eq!(
            sent.header("x-amz-checksum-crc32"),
            Some(crc32.as_str()),
            "SDK sent a CRC32 header"
        );
        assert_ne!(
            sent.header("content-encoding"),
            Some("aws-chunked"),
            "in-memory bodies are not chunked"
        );
        assert_eq!(put.e_tag(), Some(etag_of(&data).as_str()));
        if let Some(echoed) = put.checksum_crc32() {
            assert_eq!(echoed, crc32, "PutObject echoes the CRC32 it verified");
        }
        read_back(&c, &bucket, "k", &data).await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn default_client_streaming_put_uses_aws_chunked_with_trailer() {
    bounded(async {
        let capture = HeaderCapture::new();
        let c = target().client_capturing(ChecksumBehaviour::WhenSupported, &capture);
        let bucket = create_bucket(&c, "ck-default-stream").await;
        let data = random_bytes(STREAM_SIZE);
        let file = temp_file_with(&data);
        capture.clear();
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("streamed")
            .body(streaming_body(&file).await)
            .send()
            .await;
        let put = put.unwrap_or_else(|e| {
            panic!(
                "streaming PutObject: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
        let sent = capture.last().expect("request recorded");
        assert!(
            sent.header("content-encoding")
                .is_some_and(|v| v.contains("aws-chunked")),
            "{sent:?}"
        );
        assert_eq!(sent.header("x-amz-trailer"), Some("x-amz-checksum-crc32"));
        assert_eq!(
            sent.header("x-amz-decoded-content-length"),
            Some(STREAM_SIZE.to_string().as_str())
        );
        // Over plain http the SDK signs every chunk (…-PAYLOAD-TRAILER); over https it sends
        // STREAMING-UNSIGNED-PAYLOAD-TRAILER. Either way a trailing checksum follows the data.
        let mode = sent.header("x-amz-content-sha256").unwrap_or_default();
        assert!(
            mode.starts_with("STREAMING-") && mode.ends_with("-TRAILER"),
            "x-amz-content-sha256 {mode}"
        );
        assert_eq!(
            put.e_tag(),
            Some(etag_of(&data).as_str()),
            "ETag is the MD5 of the decoded data"
        );
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("streamed")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(
            head.content_length(),
            Some(STREAM_SIZE as i64),
            "stored length excludes chunk framing"
        );
        read_back(&c, &bucket, "streamed", &data).await;
        // aws-chunked describes the request framing only; S3 does not store it.
        assert_eq!(
            head.content_encoding(),
            None,
            "Content-Encoding stored for an upload that set none"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn streaming_put_with_content_encoding_keeps_it() {
    bounded(async {
        let capture = HeaderCapture::new();
        let c = target().client_capturing(ChecksumBehaviour::WhenSupported, &capture);
        let bucket = create_bucket(&c, "ck-gzip-stream").await;
        let data = random_bytes(SMALL_SIZE);
        let file = temp_file_with(&data);
        capture.clear();
        // The SDK adds `aws-chunked` to the caller's Content-Encoding (as a second header line).
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("gz")
            .content_encoding("gzip")
            .body(streaming_body(&file).await)
            .send()
            .await;
        let sent = capture.last().expect("request recorded");
        let encodings: Vec<&str> = sent
            .headers
            .iter()
            .filter(|(n, _)| n == "content-encoding")
            .map(|(_, v)| v.as_str())
            .collect();
        put.unwrap_or_else(|e| {
            panic!(
                "streaming PutObject with Content-Encoding {encodings:?}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
        read_back(&c, &bucket, "gz", &data).await;
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("gz")
            .send()
            .await
            .expect("HeadObject");
        assert_eq!(
            head.content_encoding(),
            Some("gzip"),
            "the caller's encoding is stored, aws-chunked is not"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn when_required_client_sends_plain_bodies() {
    bounded(async {
        let capture = HeaderCapture::new();
        let c = target().client_capturing(ChecksumBehaviour::WhenRequired, &capture);
        let bucket = create_bucket(&c, "ck-required").await;

        let small = random_bytes(SMALL_SIZE);
        capture.clear();
        c.put_object()
            .bucket(&bucket)
            .key("mem")
            .body(ByteStream::from(small.clone()))
            .send()
            .await
            .expect("Put");
        let sent = capture.last().expect("request recorded");
        assert!(
            sent.headers
                .iter()
                .all(|(n, _)| !n.starts_with("x-amz-checksum-")),
            "no checksum: {sent:?}"
        );

        let large = random_bytes(STREAM_SIZE);
        let file = temp_file_with(&large);
        capture.clear();
        let put = c
            .put_object()
            .bucket(&bucket)
            .key("file")
            .body(streaming_body(&file).await)
            .send()
            .await;
        put.unwrap_or_else(|e| {
            panic!(
                "streaming PutObject: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
        let sent = capture.last().expect("request recorded");
        assert!(
            sent.header("x-amz-trailer").is_none(),
            "no trailer: {sent:?}"
        );
        assert!(
            !sent
                .header("content-encoding")
                .unwrap_or_default()
                .contains("aws-chunked"),
            "{sent:?}"
        );

        read_back(&c, &bucket, "mem", &small).await;
        read_back(&c, &bucket, "file", &large).await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn hand_built_streaming_unsigned_payload_trailer_upload() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "ck-trailer").await;
        let data = random_bytes(STREAM_SIZE);
        for algorithm in ["crc32", "crc32c", "sha256"] {
            let key = format!("trailer-{algorithm}");
            let (trailer_name, trailer_value) = checksum_header(algorithm, &data);
            let body = aws_chunked_body(&data, AWS_CHUNK_SIZE, &[(&trailer_name, &trailer_value)]);
            let request = RawRequest::new("PUT", format!("/{bucket}/{key}"))
                .header("content-encoding", "aws-chunked")
                .header("x-amz-decoded-content-length", data.len().to_string())
                .header("x-amz-trailer", trailer_name.clone())
                .header("content-type", "application/x-chunked")
                .body(body)
                .payload(Payload::StreamingUnsignedTrailer);
            let response = target()
                .send_signed(request)
                .await
                .expect("raw aws-chunked PUT");
            assert_eq!(
                response.status,
                200,
                "{algorithm} trailer upload: {}",
                response.text()
            );
            assert_eq!(
                response.header("etag"),
                Some(etag_of(&data).as_str()),
                "{algorithm}: ETag of decoded data"
            );
            read_back(&c, &bucket, &key, &data).await;
            let head = c
                .head_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .expect("HeadObject");
            assert_eq!(head.content_type(), Some("application/x-chunked"));
            assert_eq!(head.content_length(), Some(data.len() as i64));
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn wrong_trailing_checksum_is_rejected() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "ck-badtrailer").await;
        let data = random_bytes(SMALL_SIZE);
        let (name, wrong) = checksum_header("crc32", b"some other data");
        let body = aws_chunked_body(&data, AWS_CHUNK_SIZE, &[(&name, &wrong)]);
        let request = RawRequest::new("PUT", format!("/{bucket}/bad"))
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", data.len().to_string())
            .header("x-amz-trailer", name.clone())
            .body(body)
            .payload(Payload::StreamingUnsignedTrailer);
        let response = target()
            .send_signed(request)
            .await
            .expect("raw aws-chunked PUT");
        assert_eq!(
            response.status,
            400,
            "mismatching trailer accepted? {}",
            response.text()
        );
        assert_eq!(
            response.error_code().as_deref(),
            Some("BadDigest"),
            "{}",
            response.text()
        );
        expect_s3_error(
            c.head_object().bucket(&bucket).key("bad").send().await,
            "NotFound",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn explicit_checksum_algorithms_succeed() {
    bounded(async {
        let capture = HeaderCapture::new();
        let c = target().client_capturing(ChecksumBehaviour::WhenSupported, &capture);
        let bucket = create_bucket(&c, "ck-explicit").await;
        let data = random_bytes(STREAM_SIZE);
        let file = temp_file_with(&data);
        for algorithm in ["crc32", "crc32c", "sha256"] {
            let (header, expected) = checksum_header(algorithm, &data);
            for streamed in [false, true] {
                let key = format!(
                    "{algorithm}-{}",
                    if streamed { "streamed" } else { "in-memory" }
                );
                let body = if streamed {
                    streaming_body(&file).await
                } else {
                    ByteStream::from(data.clone())
                };
                capture.clear();
                let put = c
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .checksum_algorithm(sdk_algorithm(algorithm))
                    .body(body)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PutObject {key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    });
                let sent = capture.last().expect("request recorded");
                if streamed {
                    assert_eq!(
                        sent.header("x-amz-trailer"),
                        Some(header.as_str()),
                        "{key} trailer"
                    );
                } else {
                    assert_eq!(
                        sent.header(&header),
                        Some(expected.as_str()),
                        "{key} header"
                    );
                }
                let echoed = match algorithm {
                    "crc32" => put.checksum_crc32(),
                    "crc32c" => put.checksum_crc32_c(),
                    _ => put.checksum_sha256(),
                };
                if let Some(echoed) = echoed {
                    assert_eq!(echoed, expected, "{key}: echoed checksum");
                }
                assert_eq!(put.e_tag(), Some(etag_of(&data).as_str()), "{key} ETag");
                read_back(&c, &bucket, &key, &data).await;
            }
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn mismatching_checksum_header_is_bad_digest() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "ck-mismatch").await;
        let data = random_bytes(SMALL_SIZE);
        for algorithm in ["crc32", "crc32c", "sha256"] {
            let (_, wrong) = checksum_header(algorithm, b"not the body");
            let request = c
                .put_object()
                .bucket(&bucket)
                .key(algorithm)
                .body(ByteStream::from(data.clone()));
            let request = match algorithm {
                "crc32" => request.checksum_crc32(wrong),
                "crc32c" => request.checksum_crc32_c(wrong),
                _ => request.checksum_sha256(wrong),
            };
            expect_s3_error(request.send().await, "BadDigest", 400);
            expect_s3_error(
                c.head_object().bucket(&bucket).key(algorithm).send().await,
                "NotFound",
                404,
            );
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn content_md5_is_verified() {
    bounded(async {
        let c = client_when_required();
        let bucket = create_bucket(&c, "ck-md5").await;
        let data = random_bytes(SMALL_SIZE);
        let md5 = |bytes: &[u8]| {
            base64::engine::general_purpose::STANDARD
                .encode(hex::decode(md5_hex(bytes)).expect("hex md5"))
        };
        c.put_object()
            .bucket(&bucket)
            .key("good")
            .content_md5(md5(&data))
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("PutObject with the right Content-MD5");
        read_back(&c, &bucket, "good", &data).await;

        let bad = c
            .put_object()
            .bucket(&bucket)
            .key("bad")
            .content_md5(md5(b"something else"))
            .body(ByteStream::from(data.clone()))
            .send()
            .await;
        expect_s3_error(bad, "BadDigest", 400);
        expect_s3_error(
            c.head_object().bucket(&bucket).key("bad").send().await,
            "NotFound",
            404,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
