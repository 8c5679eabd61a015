//! GetObjectAttributes: ETag, ObjectSize, StorageClass and, for multipart
//! objects, ObjectParts with paging; only what `x-amz-object-attributes`
//! asks for; its errors. (Composite checksums in the answer are tested in
//! `checksums_stored.rs`.)

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectAttributes, StorageClass};
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

#[tokio::test]
async fn attributes_of_a_single_put() {
    bounded(async {
        let c = client_when_required();
        let bucket = create_bucket(&c, "attrs").await;
        let data = random_bytes(SMALL);
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("PutObject");
        let out = c
            .get_object_attributes()
            .bucket(&bucket)
            .key("k")
            .set_object_attributes(Some(all_attributes()))
            .send()
            .await
            .expect("GetObjectAttributes");
        // Bare, as AWS writes it in this answer (not quoted as in headers).
        assert_eq!(out.e_tag(), Some(md5_hex(&data).as_str()));
        assert_eq!(out.object_size(), Some(SMALL as i64));
        assert_eq!(out.storage_class(), Some(&StorageClass::Standard));
        assert!(out.object_parts().is_none(), "a single PUT has no parts");
        // Uploaded without a checksum: S3 keeps a CRC64NVME of it.
        let sum = out.checksum().expect("Checksum");
        assert_eq!(
            sum.checksum_crc64_nvme(),
            Some(checksum_b64("crc64nvme", &data).as_str())
        );
        assert_eq!(
            sum.checksum_type(),
            Some(&aws_sdk_s3::types::ChecksumType::FullObject)
        );
        assert!(out.last_modified().is_some());

        // Only what was asked for.
        let out = c
            .get_object_attributes()
            .bucket(&bucket)
            .key("k")
            .object_attributes(ObjectAttributes::ObjectSize)
            .send()
            .await
            .expect("GetObjectAttributes ObjectSize");
        assert_eq!(out.object_size(), Some(SMALL as i64));
        assert!(out.e_tag().is_none() && out.storage_class().is_none());

        expect_s3_error(
            c.get_object_attributes()
                .bucket(&bucket)
                .key("missing")
                .object_attributes(ObjectAttributes::Etag)
                .send()
                .await,
            "NoSuchKey",
            404,
        );
        let raw = target()
            .send_signed(
                RawRequest::new("GET", format!("/{bucket}/k?attributes"))
                    .header("x-amz-object-attributes", "ETag,Colour"),
            )
            .await
            .expect("raw GetObjectAttributes");
        assert_eq!(raw.status, 400, "{}", raw.text());
        assert_eq!(raw.error_code().as_deref(), Some("InvalidArgument"));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn attributes_of_a_multipart_object_page_its_parts() {
    bounded(async {
        let c = client_when_required();
        let bucket = create_bucket(&c, "attrs-mp").await;
        let parts = vec![
            random_bytes(MIN_PART_SIZE),
            random_bytes(MIN_PART_SIZE + 1),
            random_bytes(MIN_PART_SIZE + 2),
            random_bytes(SMALL),
        ];
        let etag = upload_multipart(&c, &bucket, "mp", &parts).await;
        let total: usize = parts.iter().map(Vec::len).sum();
        let out = c
            .get_object_attributes()
            .bucket(&bucket)
            .key("mp")
            .set_object_attributes(Some(all_attributes()))
            .send()
            .await
            .expect("GetObjectAttributes");
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
        let expected: Vec<(Option<i32>, Option<i64>)> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (Some(i as i32 + 1), Some(p.len() as i64)))
            .collect();
        assert_eq!(listed, expected);

        // Paged two at a time.
        let first = c
            .get_object_attributes()
            .bucket(&bucket)
            .key("mp")
            .object_attributes(ObjectAttributes::ObjectParts)
            .max_parts(2)
            .send()
            .await
            .expect("page 1");
        let p = first.object_parts().expect("ObjectParts");
        assert_eq!(p.is_truncated(), Some(true));
        assert_eq!(p.max_parts(), Some(2));
        assert_eq!(p.next_part_number_marker(), Some("2"));
        assert_eq!(p.parts().len(), 2);
        let second = c
            .get_object_attributes()
            .bucket(&bucket)
            .key("mp")
            .object_attributes(ObjectAttributes::ObjectParts)
            .max_parts(2)
            .part_number_marker("2")
            .send()
            .await
            .expect("page 2");
        let p = second.object_parts().expect("ObjectParts");
        assert_eq!(p.is_truncated(), Some(false));
        let numbers: Vec<Option<i32>> = p.parts().iter().map(|p| p.part_number()).collect();
        assert_eq!(numbers, vec![Some(3), Some(4)]);
        assert_eq!(p.total_parts_count(), Some(4));
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
