//! GetObjectAttributes: ETag, ObjectSize, StorageClass and, for multipart
//! objects, ObjectParts with paging; only what `x-amz-object-attributes`
//! asks for; its errors. (Composite checksums in the answer are tested in
//! `checksums_stored.rs`.)

use aws_sdk_s3::operation::get_object_attributes::GetObjectAttributesOutput;
use aws_sdk_s3::operation::get_object_attributes::builders::GetObjectAttributesFluentBuilder;
use aws_sdk_s3::types::{ChecksumType, ObjectAttributes, StorageClass};
use cairn_s3_tests::*;

const MIN_PART_SIZE: usize = 5 * MIB;
const SMALL: usize = 2 * KIB;

fn all_attributes() -> Vec<ObjectAttributes> {
    vec![
        ObjectAttributes::Etag,
        ObjectAttributes::ObjectSize,
        ObjectAttributes::StorageClass,
        ObjectAttributes::ObjectParts,
        ObjectAttributes::Checksum,
    ]
}

/// A GetObjectAttributes of `key`, for the caller to add what it asks for.
fn attributes_request(c: &Client, bucket: &str, key: &str) -> GetObjectAttributesFluentBuilder {
    c.get_object_attributes().bucket(bucket).key(key)
}

/// GetObjectAttributes of `key` with what `with` asks for; panics when it fails.
async fn attributes(
    c: &Client,
    bucket: &str,
    key: &str,
    with: impl FnOnce(GetObjectAttributesFluentBuilder) -> GetObjectAttributesFluentBuilder,
) -> GetObjectAttributesOutput {
    let result = with(attributes_request(c, bucket, key)).send().await;
    result.expect("GetObjectAttributes")
}

#[tokio::test]
async fn attributes_of_a_single_put() {
    with_client_bucket(client_when_required(), "attrs", async |c, bucket| {
        let data = random_bytes(SMALL);
        put_bytes(c, bucket, "k", &data).await;
        let out = attributes(c, bucket, "k", |r| {
            r.set_object_attributes(Some(all_attributes()))
        })
        .await;
        // Bare, as AWS writes it in this answer (not quoted as in headers).
        assert_eq!(out.e_tag(), Some(md5_hex(&data).as_str()));
        assert_eq!(out.object_size(), Some(SMALL as i64));
        assert_eq!(out.storage_class(), Some(&StorageClass::Standard));
        assert!(out.object_parts().is_none(), "a single PUT has no parts");
        // Uploaded without a checksum: S3 keeps a CRC64NVME of it.
        let sum = out.checksum().expect("Checksum");
        let crc64 = checksum_b64("crc64nvme", &data);
        assert_eq!(sum.checksum_crc64_nvme(), Some(crc64.as_str()));
        assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
        assert!(out.last_modified().is_some());

        // Only what was asked for.
        let size = ObjectAttributes::ObjectSize;
        let out = attributes(c, bucket, "k", |r| r.object_attributes(size)).await;
        assert_eq!(out.object_size(), Some(SMALL as i64));
        assert!(out.e_tag().is_none() && out.storage_class().is_none());

        let missing = attributes_request(c, bucket, "missing");
        let missing = missing
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await;
        expect_s3_error(missing, "NoSuchKey", 404);
        let unknown = RawRequest::new("GET", format!("/{bucket}/k?attributes"))
            .header("x-amz-object-attributes", "ETag,Colour");
        let raw = send_raw(unknown).await;
        assert_raw_error(&raw, "InvalidArgument", 400);
    })
    .await
}

#[tokio::test]
async fn attributes_of_a_multipart_object_page_its_parts() {
    with_client_bucket(client_when_required(), "attrs-mp", async |c, bucket| {
        let parts = vec![
            random_bytes(MIN_PART_SIZE),
            random_bytes(MIN_PART_SIZE + 1),
            random_bytes(MIN_PART_SIZE + 2),
            random_bytes(SMALL),
        ];
        let etag = upload_multipart(c, bucket, "mp", &parts).await;
        let total: usize = parts.iter().map(Vec::len).sum();
        let out = attributes(c, bucket, "mp", |r| {
            r.set_object_attributes(Some(all_attributes()))
        })
        .await;
        assert_eq!(out.e_tag(), Some(etag.trim_matches('"')));
        assert_eq!(out.object_size(), Some(total as i64));
        let p = out.object_parts().expect("ObjectParts");
        assert_eq!(p.total_parts_count(), Some(4));
        assert_eq!(p.is_truncated(), Some(false));
        let listed: Vec<(Option<i32>, Option<i64>)> = p
            .parts()
            .iter()
            .map(|p| (p.part_number(), p.size()))
            .collect();
        let numbered = (1..).zip(&parts);
        let expected: Vec<(Option<i32>, Option<i64>)> = numbered
            .map(|(n, p)| (Some(n), Some(p.len() as i64)))
            .collect();
        assert_eq!(listed, expected);

        // Paged two at a time.
        let page = |marker: Option<&str>| {
            let request = attributes_request(c, bucket, "mp");
            let request = request.object_attributes(ObjectAttributes::ObjectParts);
            request
                .max_parts(2)
                .set_part_number_marker(marker.map(str::to_owned))
                .send()
        };
        let first = page(None).await.expect("page 1");
        let p = first.object_parts().expect("ObjectParts");
        assert_eq!(p.is_truncated(), Some(true));
        assert_eq!(p.max_parts(), Some(2));
        assert_eq!(p.next_part_number_marker(), Some("2"));
        assert_eq!(p.parts().len(), 2);
        let second = page(Some("2")).await.expect("page 2");
        let p = second.object_parts().expect("ObjectParts");
        assert_eq!(p.is_truncated(), Some(false));
        let numbers: Vec<Option<i32>> = p.parts().iter().map(|p| p.part_number()).collect();
        assert_eq!(numbers, vec![Some(3), Some(4)]);
        assert_eq!(p.total_parts_count(), Some(4));
    })
    .await
}
