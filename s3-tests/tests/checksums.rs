//! Upload integrity in the wire formats real clients use: the SDK default
//! (checksum headers for in-memory bodies, aws-chunked bodies with a trailing
//! checksum for streaming ones), `WhenRequired` clients (no checksums), a
//! hand-built `STREAMING-UNSIGNED-PAYLOAD-TRAILER` upload, explicit checksum
//! algorithms, and mismatching checksums / Content-MD5.

use std::io::Write as _;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use cairn_s3_tests::*;

/// Over several internal chunks, so streamed uploads cross chunk boundaries.
const STREAM_SIZE: usize = 3 * MIB + 4321;
const SMALL_SIZE: usize = 10 * KIB;
/// Chunk size of the hand-built aws-chunked bodies (the SDK uses 64 KiB too).
const AWS_CHUNK_SIZE: usize = 64 * KIB;
/// The algorithms the SDK offers for uploads that the tests try.
const ALGORITHMS: [&str; 3] = ["crc32", "crc32c", "sha256"];

/// `(header name, base64 value)` of a flexible checksum (`crc32`, `crc32c`, `sha256`) of `data`.
fn checksum_header(algorithm: &str, data: &[u8]) -> (String, String) {
    let name = format!("x-amz-checksum-{algorithm}");
    (name, checksum_b64(algorithm, data))
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

/// A test against a fresh bucket with a client of `behaviour` whose every
/// request `capture` records.
async fn with_capturing_bucket(
    behaviour: ChecksumBehaviour,
    prefix: &str,
    body: impl AsyncFnOnce(&Client, &str, &HeaderCapture),
) {
    let capture = HeaderCapture::new();
    let c = target().client_capturing(behaviour, &capture);
    with_client_bucket(c, prefix, async |c, bucket| body(c, bucket, &capture).await).await
}

/// Reads `key` back with checksum mode enabled, so a checksum the server
/// returns is validated by the SDK (default client), and compares the bytes.
async fn read_back(c: &Client, bucket: &str, key: &str, data: &[u8]) {
    let got = get_with(c, bucket, key, |r| r.checksum_mode(ChecksumMode::Enabled)).await;
    assert_eq!(got.e_tag(), Some(etag_of(data).as_str()), "ETag of {key}");
    let body = collect_body(got).await;
    assert!(
        body == data,
        "{key}: {} bytes read back differ from the {} sent",
        body.len(),
        data.len()
    );
}

/// An aws-chunked PUT of `data` with the trailer `(name, value)`, as raw
/// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` request.
fn trailer_put(path: String, data: &[u8], trailer: (&str, &str)) -> RawRequest {
    let body = aws_chunked_body(data, AWS_CHUNK_SIZE, &[trailer]);
    RawRequest::new("PUT", path)
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", data.len().to_string())
        .header("x-amz-trailer", trailer.0)
        .body(body)
        .payload(Payload::StreamingUnsignedTrailer)
}

#[tokio::test]
async fn default_client_in_memory_put_sends_a_checksum_header() {
    let behaviour = ChecksumBehaviour::WhenSupported;
    with_capturing_bucket(behaviour, "ck-default-mem", async |c, bucket, capture| {
        let data = random_bytes(SMALL_SIZE);
        capture.clear();
        let put = put_bytes(c, bucket, "k", &data).await;
        let sent = capture.last().expect("request recorded");
        let (_, crc32) = checksum_header("crc32", &data);
        let header = sent.header("x-amz-checksum-crc32");
        assert_eq!(header, Some(crc32.as_str()), "SDK sent a CRC32 header");
        let encoding = sent.header("content-encoding");
        assert_ne!(
            encoding,
            Some("aws-chunked"),
            "in-memory bodies are not chunked"
        );
        assert_eq!(put.e_tag(), Some(etag_of(&data).as_str()));
        if let Some(echoed) = put.checksum_crc32() {
            assert_eq!(echoed, crc32, "PutObject echoes the CRC32 it verified");
        }
        read_back(c, bucket, "k", &data).await;
    })
    .await
}

#[tokio::test]
async fn default_client_streaming_put_uses_aws_chunked_with_trailer() {
    let behaviour = ChecksumBehaviour::WhenSupported;
    with_capturing_bucket(
        behaviour,
        "ck-default-stream",
        async |c, bucket, capture| {
            let data = random_bytes(STREAM_SIZE);
            let file = temp_file_with(&data);
            capture.clear();
            let body = streaming_body(&file).await;
            let put = c.put_object().bucket(bucket).key("streamed").body(body);
            let put = put.send().await.unwrap_or_else(|e| {
                panic!(
                    "streaming PutObject: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
            let sent = capture.last().expect("request recorded");
            let encoding = sent.header("content-encoding");
            assert!(
                encoding.is_some_and(|v| v.contains("aws-chunked")),
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
            let etag = put.e_tag();
            let expected = etag_of(&data);
            assert_eq!(
                etag,
                Some(expected.as_str()),
                "ETag is the MD5 of the decoded data"
            );
            let head = head_object(c, bucket, "streamed").await;
            let length = head.content_length();
            assert_eq!(
                length,
                Some(STREAM_SIZE as i64),
                "stored length excludes chunk framing"
            );
            read_back(c, bucket, "streamed", &data).await;
            // aws-chunked describes the request framing only; S3 does not store it.
            assert_eq!(
                head.content_encoding(),
                None,
                "Content-Encoding stored for an upload that set none"
            );
        },
    )
    .await
}

#[tokio::test]
async fn streaming_put_with_content_encoding_keeps_it() {
    let behaviour = ChecksumBehaviour::WhenSupported;
    with_capturing_bucket(behaviour, "ck-gzip-stream", async |c, bucket, capture| {
        let data = random_bytes(SMALL_SIZE);
        let file = temp_file_with(&data);
        capture.clear();
        // The SDK adds `aws-chunked` to the caller's Content-Encoding (as a second header line).
        let body = streaming_body(&file).await;
        let put = c
            .put_object()
            .bucket(bucket)
            .key("gz")
            .content_encoding("gzip");
        let put = put.body(body).send().await;
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
        read_back(c, bucket, "gz", &data).await;
        let head = head_object(c, bucket, "gz").await;
        assert_eq!(
            head.content_encoding(),
            Some("gzip"),
            "the caller's encoding is stored, aws-chunked is not"
        );
    })
    .await
}

#[tokio::test]
async fn when_required_client_sends_plain_bodies() {
    let behaviour = ChecksumBehaviour::WhenRequired;
    with_capturing_bucket(behaviour, "ck-required", async |c, bucket, capture| {
        let small = random_bytes(SMALL_SIZE);
        capture.clear();
        put_bytes(c, bucket, "mem", &small).await;
        let sent = capture.last().expect("request recorded");
        let mut headers = sent.headers.iter();
        let plain = headers.all(|(n, _)| !n.starts_with("x-amz-checksum-"));
        assert!(plain, "no checksum: {sent:?}");

        let large = random_bytes(STREAM_SIZE);
        let file = temp_file_with(&large);
        capture.clear();
        let body = streaming_body(&file).await;
        let put = c
            .put_object()
            .bucket(bucket)
            .key("file")
            .body(body)
            .send()
            .await;
        put.unwrap_or_else(|e| {
            panic!(
                "streaming PutObject: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
        let sent = capture.last().expect("request recorded");
        let trailer = sent.header("x-amz-trailer");
        assert!(trailer.is_none(), "no trailer: {sent:?}");
        let encoding = sent.header("content-encoding").unwrap_or_default();
        assert!(!encoding.contains("aws-chunked"), "{sent:?}");

        read_back(c, bucket, "mem", &small).await;
        read_back(c, bucket, "file", &large).await;
    })
    .await
}

#[tokio::test]
async fn hand_built_streaming_unsigned_payload_trailer_upload() {
    with_bucket("ck-trailer", async |c, bucket| {
        let data = random_bytes(STREAM_SIZE);
        for algorithm in ALGORITHMS {
            let key = format!("trailer-{algorithm}");
            let (name, value) = checksum_header(algorithm, &data);
            let request = trailer_put(format!("/{bucket}/{key}"), &data, (&name, &value));
            let request = request.header("content-type", "application/x-chunked");
            let response = send_raw(request).await;
            let status = response.status;
            assert_eq!(
                status,
                200,
                "{algorithm} trailer upload: {}",
                response.text()
            );
            assert_eq!(
                response.header("etag"),
                Some(etag_of(&data).as_str()),
                "{algorithm}: ETag of decoded data"
            );
            read_back(c, bucket, &key, &data).await;
            let head = head_object(c, bucket, &key).await;
            assert_eq!(head.content_type(), Some("application/x-chunked"));
            assert_eq!(head.content_length(), Some(data.len() as i64));
        }
    })
    .await
}

#[tokio::test]
async fn wrong_trailing_checksum_is_rejected() {
    with_bucket("ck-badtrailer", async |c, bucket| {
        let data = random_bytes(SMALL_SIZE);
        let (name, wrong) = checksum_header("crc32", b"some other data");
        let request = trailer_put(format!("/{bucket}/bad"), &data, (&name, &wrong));
        let response = send_raw(request).await;
        // A mismatching trailer is not accepted.
        assert_raw_error(&response, "BadDigest", 400);
        assert_no_object(c, bucket, "bad").await;
    })
    .await
}

#[tokio::test]
async fn explicit_checksum_algorithms_succeed() {
    let behaviour = ChecksumBehaviour::WhenSupported;
    with_capturing_bucket(behaviour, "ck-explicit", async |c, bucket, capture| {
        let data = random_bytes(STREAM_SIZE);
        let file = temp_file_with(&data);
        for algorithm in ALGORITHMS {
            let (header, expected) = checksum_header(algorithm, &data);
            for streamed in [false, true] {
                let how = if streamed { "streamed" } else { "in-memory" };
                let key = format!("{algorithm}-{how}");
                let body = if streamed {
                    streaming_body(&file).await
                } else {
                    ByteStream::from(data.clone())
                };
                capture.clear();
                let request = c.put_object().bucket(bucket).key(&key).body(body);
                let request = request.checksum_algorithm(sdk_algorithm(algorithm));
                let put = request.send().await.unwrap_or_else(|e| {
                    panic!(
                        "PutObject {key}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    )
                });
                let sent = capture.last().expect("request recorded");
                if streamed {
                    let trailer = sent.header("x-amz-trailer");
                    assert_eq!(trailer, Some(header.as_str()), "{key} trailer");
                } else {
                    let value = sent.header(&header);
                    assert_eq!(value, Some(expected.as_str()), "{key} header");
                }
                if let Some(echoed) = checksum_field!(put, algorithm) {
                    assert_eq!(echoed, expected, "{key}: echoed checksum");
                }
                assert_eq!(put.e_tag(), Some(etag_of(&data).as_str()), "{key} ETag");
                read_back(c, bucket, &key, &data).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn mismatching_checksum_header_is_bad_digest() {
    with_bucket("ck-mismatch", async |c, bucket| {
        let data = random_bytes(SMALL_SIZE);
        for algorithm in ALGORITHMS {
            let (_, wrong) = checksum_header(algorithm, b"not the body");
            let request = put_request(c, bucket, algorithm, &data);
            let request = match algorithm {
                "crc32" => request.checksum_crc32(wrong),
                "crc32c" => request.checksum_crc32_c(wrong),
                _ => request.checksum_sha256(wrong),
            };
            expect_s3_error(request.send().await, "BadDigest", 400);
            assert_no_object(c, bucket, algorithm).await;
        }
    })
    .await
}

#[tokio::test]
async fn content_md5_is_verified() {
    with_client_bucket(client_when_required(), "ck-md5", async |c, bucket| {
        let data = random_bytes(SMALL_SIZE);
        let good = put_request(c, bucket, "good", &data).content_md5(content_md5(&data));
        good.send()
            .await
            .expect("PutObject with the right Content-MD5");
        read_back(c, bucket, "good", &data).await;

        let bad = put_request(c, bucket, "bad", &data);
        let bad = bad.content_md5(content_md5(b"something else")).send().await;
        expect_s3_error(bad, "BadDigest", 400);
        assert_no_object(c, bucket, "bad").await;
    })
    .await
}
