//! Range GETs: bounded, suffix and open ranges, ranges crossing the server's
//! internal 1 MiB chunk boundaries and multipart part boundaries, clamping,
//! InvalidRange, and reads of one part by `partNumber`.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use cairn_s3_tests::*;

/// cairn stores object data in chunks of this size.
const CHUNK: usize = MIB;
/// Several chunks plus a partial one.
const OBJECT_SIZE: usize = 4 * CHUNK + 1000;
const SMALL_SIZE: usize = KIB;
const SUFFIX_LEN: usize = 500;
const MIN_PART_SIZE: usize = 5 * MIB;

async fn put_random(c: &Client, bucket: &str, key: &str, size: usize) -> Vec<u8> {
    let data = random_bytes(size);
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PutObject {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    data
}

/// GETs `range` and checks body, Content-Length and Content-Range against `expected` (inclusive bounds).
async fn check_range(
    c: &Client,
    bucket: &str,
    key: &str,
    data: &[u8],
    range: &str,
    first: usize,
    last: usize,
) {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(range)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GET Range {range}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    let expected_range = format!("bytes {first}-{last}/{}", data.len());
    assert_eq!(
        out.content_range(),
        Some(expected_range.as_str()),
        "Content-Range for {range}"
    );
    assert_eq!(
        out.content_length(),
        Some((last - first + 1) as i64),
        "Content-Length for {range}"
    );
    let body = collect_body(out).await;
    assert_eq!(body.len(), last - first + 1, "body length for {range}");
    assert!(
        body == data[first..=last],
        "body bytes for {range} differ from the source"
    );
}

#[tokio::test]
async fn bounded_range_is_206_with_exact_bytes() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "range").await;
        let data = put_random(&c, &bucket, "obj", OBJECT_SIZE).await;
        check_range(&c, &bucket, "obj", &data, "bytes=100-199", 100, 199).await;
        check_range(&c, &bucket, "obj", &data, "bytes=0-0", 0, 0).await;

        let raw = target()
            .send_signed(
                RawRequest::new("GET", format!("/{bucket}/obj")).header("range", "bytes=100-199"),
            )
            .await
            .expect("raw ranged GET");
        assert_eq!(raw.status, 206, "ranged GET answers 206 Partial Content");
        assert_eq!(
            raw.header("content-range"),
            Some(format!("bytes 100-199/{OBJECT_SIZE}").as_str())
        );
        assert_eq!(raw.header("content-length"), Some("100"));
        assert_eq!(&raw.body[..], &data[100..200]);

        let head = target()
            .send_signed(RawRequest::new("HEAD", format!("/{bucket}/obj")))
            .await
            .expect("raw HEAD");
        assert_eq!(
            head.header("accept-ranges"),
            Some("bytes"),
            "objects advertise Accept-Ranges: bytes"
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn suffix_and_open_ranges() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "suffix").await;
        let data = put_random(&c, &bucket, "obj", OBJECT_SIZE).await;
        let n = data.len();
        check_range(
            &c,
            &bucket,
            "obj",
            &data,
            &format!("bytes=-{SUFFIX_LEN}"),
            n - SUFFIX_LEN,
            n - 1,
        )
        .await;
        let start = 3 * CHUNK - 7;
        check_range(
            &c,
            &bucket,
            "obj",
            &data,
            &format!("bytes={start}-"),
            start,
            n - 1,
        )
        .await;
        check_range(&c, &bucket, "obj", &data, "bytes=0-", 0, n - 1).await;
        // A suffix longer than the object is the whole object.
        check_range(
            &c,
            &bucket,
            "obj",
            &data,
            &format!("bytes=-{}", n + 100),
            0,
            n - 1,
        )
        .await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn ranges_across_chunk_boundaries() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "chunks").await;
        let data = put_random(&c, &bucket, "obj", OBJECT_SIZE).await;
        let cases = [
            (CHUNK - 6, CHUNK + 14),           // bytes=1048570-1048590
            (CHUNK - 1, CHUNK),                // the two bytes around the first boundary
            (CHUNK, CHUNK),                    // first byte of the second chunk
            (CHUNK - 1, CHUNK - 1),            // last byte of the first chunk
            (500_000, 500_000 + 3 * MIB - 1),  // spans four chunks
            (2 * CHUNK, 3 * CHUNK - 1),        // exactly one whole chunk
            (4 * CHUNK - 10, OBJECT_SIZE - 1), // into the partial last chunk
        ];
        for (first, last) in cases {
            check_range(
                &c,
                &bucket,
                "obj",
                &data,
                &format!("bytes={first}-{last}"),
                first,
                last,
            )
            .await;
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn range_end_past_the_object_is_clamped() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "clamp").await;
        let data = put_random(&c, &bucket, "obj", OBJECT_SIZE).await;
        let n = data.len();
        check_range(
            &c,
            &bucket,
            "obj",
            &data,
            &format!("bytes={}-{}", n - 10, n + 1000),
            n - 10,
            n - 1,
        )
        .await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn ranges_on_a_small_object() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "smallrange").await;
        let data = put_random(&c, &bucket, "small", SMALL_SIZE).await;
        check_range(&c, &bucket, "small", &data, "bytes=10-19", 10, 19).await;
        check_range(
            &c,
            &bucket,
            "small",
            &data,
            "bytes=-24",
            SMALL_SIZE - 24,
            SMALL_SIZE - 1,
        )
        .await;
        check_range(
            &c,
            &bucket,
            "small",
            &data,
            "bytes=1000-",
            1000,
            SMALL_SIZE - 1,
        )
        .await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn range_starting_beyond_the_end_is_invalid_range() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "invalidrange").await;
        put_random(&c, &bucket, "obj", OBJECT_SIZE).await;
        for range in [
            format!("bytes={OBJECT_SIZE}-"),
            format!("bytes={}-{}", OBJECT_SIZE + 100, OBJECT_SIZE + 200),
        ] {
            let result = c
                .get_object()
                .bucket(&bucket)
                .key("obj")
                .range(&range)
                .send()
                .await;
            expect_s3_error(result, "InvalidRange", 416);
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn ranges_across_multipart_part_boundaries() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "partrange").await;
        let up = c
            .create_multipart_upload()
            .bucket(&bucket)
            .key("mpu")
            .send()
            .await
            .expect("Create");
        let upload_id = up.upload_id().expect("UploadId");
        let parts = [
            random_bytes(MIN_PART_SIZE),
            random_bytes(MIN_PART_SIZE),
            random_bytes(3 * KIB),
        ];
        let mut completed = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let out = c
                .upload_part()
                .bucket(&bucket)
                .key("mpu")
                .upload_id(upload_id)
                .part_number(n)
                .body(ByteStream::from(part.clone()))
                .send()
                .await
                .expect("UploadPart");
            completed.push(
                CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .build(),
            );
        }
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key("mpu")
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .expect("Complete");
        let data = parts.concat();
        let cases = [
            (MIN_PART_SIZE - 5, MIN_PART_SIZE + 5),
            (MIN_PART_SIZE - 1, 2 * MIN_PART_SIZE), // spans all of part 2
            (2 * MIN_PART_SIZE - 100, data.len() - 1), // into the last part
            (MIN_PART_SIZE + CHUNK - 3, MIN_PART_SIZE + CHUNK + 3), // chunk boundary inside part 2
        ];
        for (first, last) in cases {
            check_range(
                &c,
                &bucket,
                "mpu",
                &data,
                &format!("bytes={first}-{last}"),
                first,
                last,
            )
            .await;
        }
        check_range(
            &c,
            &bucket,
            "mpu",
            &data,
            "bytes=-2000",
            data.len() - 2000,
            data.len() - 1,
        )
        .await;
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

/// The parts of the multipart object the partNumber tests read.
fn part_number_parts() -> Vec<Vec<u8>> {
    vec![
        random_bytes(MIN_PART_SIZE),
        random_bytes(MIN_PART_SIZE + 7),
        random_bytes(3 * KIB),
    ]
}

#[tokio::test]
async fn part_number_reads_one_part_of_a_multipart_object() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "partnum").await;
        let parts = part_number_parts();
        let etag = upload_multipart(&c, &bucket, "mpu", &parts).await;
        let total: usize = parts.iter().map(Vec::len).sum();
        let mut start = 0usize;
        for (i, part) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let end = start + part.len() - 1;
            let range = format!("bytes {start}-{end}/{total}");
            let got = c
                .get_object()
                .bucket(&bucket)
                .key("mpu")
                .part_number(n)
                .send()
                .await
                .expect("GET partNumber");
            assert_eq!(got.parts_count(), Some(3), "x-amz-mp-parts-count");
            assert_eq!(got.content_length(), Some(part.len() as i64));
            assert_eq!(got.content_range(), Some(range.as_str()));
            assert_eq!(got.e_tag(), Some(etag.as_str()), "the whole object's ETag");
            assert!(collect_body(got).await == *part, "part {n} bytes");

            let head = c
                .head_object()
                .bucket(&bucket)
                .key("mpu")
                .part_number(n)
                .send()
                .await
                .expect("HEAD partNumber");
            assert_eq!(head.parts_count(), Some(3));
            assert_eq!(head.content_length(), Some(part.len() as i64));
            assert_eq!(head.content_range(), Some(range.as_str()));
            start = end + 1;
        }
        // Both answer 206 Partial Content.
        for method in ["GET", "HEAD"] {
            let raw = target()
                .send_signed(RawRequest::new(
                    method,
                    format!("/{bucket}/mpu?partNumber=2"),
                ))
                .await
                .expect("raw partNumber");
            assert_eq!(raw.status, 206, "{method}");
            assert_eq!(raw.header("x-amz-mp-parts-count"), Some("3"), "{method}");
        }
        // Out of range: 416 InvalidPartNumber (HEAD has no body to carry the code).
        expect_s3_error(
            c.get_object()
                .bucket(&bucket)
                .key("mpu")
                .part_number(4)
                .send()
                .await,
            "InvalidPartNumber",
            416,
        );
        let head = target()
            .send_signed(RawRequest::new(
                "HEAD",
                format!("/{bucket}/mpu?partNumber=4"),
            ))
            .await
            .expect("raw HEAD");
        assert_eq!(head.status, 416);
        // Not a part number at all: 400 InvalidArgument.
        for n in ["0", "10001"] {
            let raw = target()
                .send_signed(RawRequest::new(
                    "GET",
                    format!("/{bucket}/mpu?partNumber={n}"),
                ))
                .await
                .expect("raw GET");
            assert_eq!(raw.status, 400, "partNumber={n}: {}", raw.text());
            assert_eq!(raw.error_code().as_deref(), Some("InvalidArgument"));
        }
        // partNumber with Range is refused.
        expect_s3_error(
            c.get_object()
                .bucket(&bucket)
                .key("mpu")
                .part_number(1)
                .range("bytes=0-9")
                .send()
                .await,
            "InvalidRequest",
            400,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn part_number_one_of_a_single_put_is_the_whole_object() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "partnum1").await;
        let data = put_random(&c, &bucket, "single", OBJECT_SIZE).await;
        let got = c
            .get_object()
            .bucket(&bucket)
            .key("single")
            .part_number(1)
            .send()
            .await
            .expect("GET partNumber=1");
        assert_eq!(got.parts_count(), None, "no parts count for a single PUT");
        assert_eq!(got.content_length(), Some(OBJECT_SIZE as i64));
        let range = format!("bytes 0-{}/{OBJECT_SIZE}", OBJECT_SIZE - 1);
        assert_eq!(got.content_range(), Some(range.as_str()));
        assert!(collect_body(got).await == data);
        let head = c
            .head_object()
            .bucket(&bucket)
            .key("single")
            .part_number(1)
            .send()
            .await
            .expect("HEAD partNumber=1");
        assert_eq!(head.content_length(), Some(OBJECT_SIZE as i64));
        assert_eq!(head.parts_count(), None);
        expect_s3_error(
            c.get_object()
                .bucket(&bucket)
                .key("single")
                .part_number(2)
                .send()
                .await,
            "InvalidPartNumber",
            416,
        );
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
