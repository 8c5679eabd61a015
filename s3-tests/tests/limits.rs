//! S3's size and count limits, answered with AWS's errors before anything is
//! stored: user metadata over 2 KB (`MetadataTooLarge`, on PutObject,
//! CreateMultipartUpload and a CopyObject that replaces metadata), a
//! CompleteMultipartUpload naming more than 10,000 parts, an XML body over
//! the cap (`MaxMessageLengthExceeded`, answered before the body is even
//! sent when its declared length is over), and a CORS
//! configuration over 64 KB. What is exactly at a limit is accepted.

use aws_sdk_s3::types::{CompletedPart, CorsConfiguration, CorsRule, MetadataDirective};
use cairn_s3_tests::*;

/// S3's limit on user metadata, in bytes of names and values.
const METADATA_LIMIT: usize = 2048;
/// Most parts a CompleteMultipartUpload may name.
const MAX_PARTS: i32 = 10_000;
/// The largest XML body cairn parses (8 MiB), and one byte more.
const OVER_XML_CAP: usize = 8 * 1024 * 1024 + 1;
/// S3's limit on a CORS configuration document.
const CORS_LIMIT: usize = 64 * 1024;

/// One metadata entry whose name and value add up to `total` bytes.
fn metadata_of(total: usize) -> (String, String) {
    let name = "big".to_string();
    (name.clone(), "v".repeat(total - name.len()))
}

#[tokio::test]
async fn metadata_over_2_kb_is_refused_everywhere_it_is_set() {
    with_bucket("meta-limit", async |c, bucket| {
        let (name, at_limit) = metadata_of(METADATA_LIMIT);
        put_with(c, bucket, "at-limit", b"x", |r| {
            r.metadata(&name, &at_limit)
        })
        .await;
        let head = head_object(c, bucket, "at-limit").await;
        assert_eq!(meta(head.metadata(), &name), Some(at_limit.as_str()));

        let (name, over) = metadata_of(METADATA_LIMIT + 1);
        let put = put_request(c, bucket, "over", b"x")
            .metadata(&name, &over)
            .send()
            .await;
        expect_s3_error(put, "MetadataTooLarge", 400);
        assert_no_object(c, bucket, "over").await;

        let upload = upload_request(c, bucket, "over-mp")
            .metadata(&name, &over)
            .send()
            .await;
        expect_s3_error(upload, "MetadataTooLarge", 400);

        let copy = copy_request(c, bucket, "copy", &format!("{bucket}/at-limit"))
            .metadata_directive(MetadataDirective::Replace)
            .metadata(&name, &over)
            .send()
            .await;
        expect_s3_error(copy, "MetadataTooLarge", 400);
        assert_no_object(c, bucket, "copy").await;
    })
    .await;
}

#[tokio::test]
async fn a_part_list_over_10000_entries_is_refused() {
    with_bucket("parts-limit", async |c, bucket| {
        let upload_id = start_upload(c, bucket, "k").await;
        let parts: Vec<CompletedPart> = (1..=MAX_PARTS + 1)
            .map(|n| {
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag("\"0123456789abcdef0123456789abcdef\"")
                    .build()
            })
            .collect();
        let done = complete_request(c, bucket, "k", &upload_id, parts)
            .send()
            .await;
        expect_s3_error(done, "InvalidArgument", 400);
        abort(c, bucket, "k", &upload_id).await;
    })
    .await;
}

#[tokio::test]
async fn an_xml_body_over_the_cap_is_refused_before_parsing() {
    with_bucket("xml-limit", async |_c, bucket| {
        // A body that fits is parsed (and found malformed).
        let body = b"<Tagging><TagSet>".to_vec();
        let answer =
            send_raw(RawRequest::new("PUT", format!("/{bucket}?tagging")).body(body)).await;
        assert_raw_error(&answer, "MalformedXML", 400);
        // One that declares a length over the cap is answered before a byte
        // of it is sent: the request line and headers only, then the answer.
        let head = format!(
            "PUT /{bucket}?tagging HTTP/1.1\r\nHost: {}\r\nContent-Length: {OVER_XML_CAP}\r\n\r\n",
            target().authority()
        );
        let answer = head_only_answer(head).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.contains("<Code>MaxMessageLengthExceeded</Code>"),
            "{answer}"
        );
    })
    .await;
}

/// Sends `head` (a request line and headers, no body) on a new connection and
/// returns what the server answers before it closes the connection or 10 s pass.
async fn head_only_answer(head: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(target().authority())
        .await
        .expect("connect");
    conn.write_all(head.as_bytes()).await.expect("send head");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !String::from_utf8_lossy(&answer).contains("</Error>") {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_cors_configuration_over_64_kb_is_refused() {
    with_bucket("cors-limit", async |c, bucket| {
        // Few rules (under the 100-rule limit) with long origin lists.
        let origins: Vec<String> = (0..CORS_LIMIT / 40)
            .map(|i| format!("https://site-{i:05}.example.com"))
            .collect();
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins))
            .allowed_methods("GET")
            .build()
            .expect("rule");
        let config = CorsConfiguration::builder()
            .cors_rules(rule)
            .build()
            .expect("config");
        let put = c
            .put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(config)
            .send()
            .await;
        expect_s3_error(put, "MaxMessageLengthExceeded", 400);
    })
    .await;
}
