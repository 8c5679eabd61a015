//! Range GETs: bounded, suffix and open ranges, ranges crossing the server's
//! internal 1 MiB chunk boundaries and multipart part boundaries, clamping,
//! InvalidRange, and reads of one part by `partNumber`.

use cairn_s3_tests::*;

/// cairn stores object data in chunks of this size.
const CHUNK: usize = MIB;
/// Several chunks plus a partial one.
const OBJECT_SIZE: usize = 4 * CHUNK + 1000;
const SMALL_SIZE: usize = KIB;
const SUFFIX_LEN: usize = 500;
const MIN_PART_SIZE: usize = 5 * MIB;
/// Parts of the multipart objects read by part number.
const PARTS_COUNT: i32 = 3;

/// A `Range` header and the first and last byte (inclusive) it should select.
type Case = (String, usize, usize);

/// `bytes=first-last`, selecting exactly those bytes.
fn bytes(first: usize, last: usize) -> Case {
    (format!("bytes={first}-{last}"), first, last)
}

/// A `Range` header that selects `first..=last`.
fn case(range: &str, first: usize, last: usize) -> Case {
    (range.to_owned(), first, last)
}

async fn put_random(c: &Client, bucket: &str, key: &str, size: usize) -> Vec<u8> {
    let data = random_bytes(size);
    put_bytes(c, bucket, key, &data).await;
    data
}

/// GETs each case's range of `key` (holding `data`) and checks body,
/// Content-Length and Content-Range.
async fn check_ranges(c: &Client, bucket: &str, key: &str, data: &[u8], cases: &[Case]) {
    for (range, first, last) in cases {
        let (first, last) = (*first, *last);
        let out = get_with(c, bucket, key, |r| r.range(range)).await;
        let expected_range = format!("bytes {first}-{last}/{}", data.len());
        assert_eq!(
            out.content_range(),
            Some(expected_range.as_str()),
            "Content-Range for {range}"
        );
        let length = last - first + 1;
        let content_length = out.content_length();
        assert_eq!(
            content_length,
            Some(length as i64),
            "Content-Length for {range}"
        );
        let body = collect_body(out).await;
        assert_eq!(body.len(), length, "body length for {range}");
        assert!(
            body == data[first..=last],
            "body bytes for {range} differ from the source"
        );
    }
}

#[tokio::test]
async fn bounded_range_is_206_with_exact_bytes() {
    with_bucket("range", async |c, bucket| {
        let data = put_random(c, bucket, "obj", OBJECT_SIZE).await;
        let cases = [case("bytes=100-199", 100, 199), case("bytes=0-0", 0, 0)];
        check_ranges(c, bucket, "obj", &data, &cases).await;

        let ranged =
            RawRequest::new("GET", format!("/{bucket}/obj")).header("range", "bytes=100-199");
        let raw = send_raw(ranged).await;
        assert_eq!(raw.status, 206, "ranged GET answers 206 Partial Content");
        assert_eq!(
            raw.header("content-range"),
            Some(format!("bytes 100-199/{OBJECT_SIZE}").as_str())
        );
        assert_eq!(raw.header("content-length"), Some("100"));
        assert_eq!(&raw.body[..], &data[100..200]);

        let head = raw_signed("HEAD", format!("/{bucket}/obj")).await;
        assert_eq!(
            head.header("accept-ranges"),
            Some("bytes"),
            "objects advertise Accept-Ranges: bytes"
        );
    })
    .await
}

#[tokio::test]
async fn suffix_and_open_ranges() {
    with_bucket("suffix", async |c, bucket| {
        let data = put_random(c, bucket, "obj", OBJECT_SIZE).await;
        let n = data.len();
        let start = 3 * CHUNK - 7;
        let cases = [
            case(&format!("bytes=-{SUFFIX_LEN}"), n - SUFFIX_LEN, n - 1),
            case(&format!("bytes={start}-"), start, n - 1),
            case("bytes=0-", 0, n - 1),
            // A suffix longer than the object is the whole object.
            case(&format!("bytes=-{}", n + 100), 0, n - 1),
        ];
        check_ranges(c, bucket, "obj", &data, &cases).await;
    })
    .await
}

#[tokio::test]
async fn ranges_across_chunk_boundaries() {
    with_bucket("chunks", async |c, bucket| {
        let data = put_random(c, bucket, "obj", OBJECT_SIZE).await;
        let cases = [
            bytes(CHUNK - 6, CHUNK + 14),           // bytes=1048570-1048590
            bytes(CHUNK - 1, CHUNK),                // the two bytes around the first boundary
            bytes(CHUNK, CHUNK),                    // first byte of the second chunk
            bytes(CHUNK - 1, CHUNK - 1),            // last byte of the first chunk
            bytes(500_000, 500_000 + 3 * MIB - 1),  // spans four chunks
            bytes(2 * CHUNK, 3 * CHUNK - 1),        // exactly one whole chunk
            bytes(4 * CHUNK - 10, OBJECT_SIZE - 1), // into the partial last chunk
        ];
        check_ranges(c, bucket, "obj", &data, &cases).await;
    })
    .await
}

#[tokio::test]
async fn range_end_past_the_object_is_clamped() {
    with_bucket("clamp", async |c, bucket| {
        let data = put_random(c, bucket, "obj", OBJECT_SIZE).await;
        let n = data.len();
        let cases = [case(
            &format!("bytes={}-{}", n - 10, n + 1000),
            n - 10,
            n - 1,
        )];
        check_ranges(c, bucket, "obj", &data, &cases).await;
    })
    .await
}

#[tokio::test]
async fn ranges_on_a_small_object() {
    with_bucket("smallrange", async |c, bucket| {
        let data = put_random(c, bucket, "small", SMALL_SIZE).await;
        let cases = [
            case("bytes=10-19", 10, 19),
            case("bytes=-24", SMALL_SIZE - 24, SMALL_SIZE - 1),
            case("bytes=1000-", 1000, SMALL_SIZE - 1),
        ];
        check_ranges(c, bucket, "small", &data, &cases).await;
    })
    .await
}

#[tokio::test]
async fn range_starting_beyond_the_end_is_invalid_range() {
    with_bucket("invalidrange", async |c, bucket| {
        put_random(c, bucket, "obj", OBJECT_SIZE).await;
        for range in [
            format!("bytes={OBJECT_SIZE}-"),
            format!("bytes={}-{}", OBJECT_SIZE + 100, OBJECT_SIZE + 200),
        ] {
            let result = get_request(c, bucket, "obj").range(&range).send().await;
            expect_s3_error(result, "InvalidRange", 416);
        }
    })
    .await
}

#[tokio::test]
async fn ranges_across_multipart_part_boundaries() {
    with_bucket("partrange", async |c, bucket| {
        let parts = [
            random_bytes(MIN_PART_SIZE),
            random_bytes(MIN_PART_SIZE),
            random_bytes(3 * KIB),
        ];
        upload_multipart(c, bucket, "mpu", &parts).await;
        let data = parts.concat();
        let cases = [
            bytes(MIN_PART_SIZE - 5, MIN_PART_SIZE + 5),
            bytes(MIN_PART_SIZE - 1, 2 * MIN_PART_SIZE), // spans all of part 2
            bytes(2 * MIN_PART_SIZE - 100, data.len() - 1), // into the last part
            bytes(MIN_PART_SIZE + CHUNK - 3, MIN_PART_SIZE + CHUNK + 3), // chunk boundary inside part 2
            case("bytes=-2000", data.len() - 2000, data.len() - 1),
        ];
        check_ranges(c, bucket, "mpu", &data, &cases).await;
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
    with_bucket("partnum", async |c, bucket| {
        let parts = part_number_parts();
        let etag = upload_multipart(c, bucket, "mpu", &parts).await;
        let total: usize = parts.iter().map(Vec::len).sum();
        let mut start = 0usize;
        for (n, part) in (1..).zip(&parts) {
            let end = start + part.len() - 1;
            let range = format!("bytes {start}-{end}/{total}");
            let got = get_with(c, bucket, "mpu", |r| r.part_number(n)).await;
            assert_eq!(got.parts_count(), Some(PARTS_COUNT), "x-amz-mp-parts-count");
            assert_eq!(got.content_length(), Some(part.len() as i64));
            assert_eq!(got.content_range(), Some(range.as_str()));
            assert_eq!(got.e_tag(), Some(etag.as_str()), "the whole object's ETag");
            assert!(collect_body(got).await == *part, "part {n} bytes");

            let head = head_with(c, bucket, "mpu", |r| r.part_number(n)).await;
            assert_eq!(head.parts_count(), Some(PARTS_COUNT));
            assert_eq!(head.content_length(), Some(part.len() as i64));
            assert_eq!(head.content_range(), Some(range.as_str()));
            start = end + 1;
        }
        // Both answer 206 Partial Content.
        for method in ["GET", "HEAD"] {
            let raw = raw_signed(method, format!("/{bucket}/mpu?partNumber=2")).await;
            assert_eq!(raw.status, 206, "{method}");
            assert_eq!(raw.header("x-amz-mp-parts-count"), Some("3"), "{method}");
        }
        // Out of range: 400 InvalidPartNumber (HEAD has no body to carry the code).
        let past_last = get_request(c, bucket, "mpu").part_number(4).send().await;
        expect_s3_error(past_last, "InvalidPartNumber", 400);
        let head = raw_signed("HEAD", format!("/{bucket}/mpu?partNumber=4")).await;
        assert_eq!(head.status, 400);
        // Not a part number at all: 400 InvalidArgument.
        for n in ["0", "10001"] {
            let raw = raw_signed("GET", format!("/{bucket}/mpu?partNumber={n}")).await;
            assert_eq!(raw.status, 400, "partNumber={n}: {}", raw.text());
            assert_eq!(raw.error_code().as_deref(), Some("InvalidArgument"));
        }
        // partNumber with Range is refused.
        let with_range = get_request(c, bucket, "mpu")
            .part_number(1)
            .range("bytes=0-9");
        expect_s3_error(with_range.send().await, "InvalidRequest", 400);
    })
    .await
}

#[tokio::test]
async fn part_number_one_of_a_single_put_is_the_whole_object() {
    with_bucket("partnum1", async |c, bucket| {
        let data = put_random(c, bucket, "single", OBJECT_SIZE).await;
        let got = get_with(c, bucket, "single", |r| r.part_number(1)).await;
        assert_eq!(got.parts_count(), None, "no parts count for a single PUT");
        assert_eq!(got.content_length(), Some(OBJECT_SIZE as i64));
        let range = format!("bytes 0-{}/{OBJECT_SIZE}", OBJECT_SIZE - 1);
        assert_eq!(got.content_range(), Some(range.as_str()));
        assert!(collect_body(got).await == data);
        let head = head_with(c, bucket, "single", |r| r.part_number(1)).await;
        assert_eq!(head.content_length(), Some(OBJECT_SIZE as i64));
        assert_eq!(head.parts_count(), None);
        let second = get_request(c, bucket, "single").part_number(2).send().await;
        expect_s3_error(second, "InvalidPartNumber", 400);
    })
    .await
}
