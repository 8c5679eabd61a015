//! ListMultipartUploads: uploads in progress in (key, upload id) order, by
//! prefix, rolled up by delimiter into CommonPrefixes, and paged with key and
//! upload-id markers.

use cairn_s3_tests::*;

#[tokio::test]
async fn list_multipart_uploads_shows_in_progress_uploads() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "listuploads").await;
        let id_a = start_upload(&c, &bucket, "a").await;
        let id_b = start_upload(&c, &bucket, "dir/b").await;
        assert_ne!(id_a, id_b, "upload ids are unique");

        let out = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListMultipartUploads");
        let listed: Vec<(Option<&str>, Option<&str>)> = out
            .uploads()
            .iter()
            .map(|u| (u.key(), u.upload_id()))
            .collect();
        assert_eq!(
            listed,
            [
                (Some("a"), Some(id_a.as_str())),
                (Some("dir/b"), Some(id_b.as_str()))
            ]
        );
        assert!(
            out.uploads().iter().all(|u| u.initiated().is_some()),
            "uploads carry Initiated"
        );

        let filtered = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .prefix("dir/")
            .send()
            .await
            .expect("with prefix");
        let keys: Vec<&str> = filtered.uploads().iter().filter_map(|u| u.key()).collect();
        assert_eq!(keys, ["dir/b"]);

        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("a")
            .upload_id(&id_a)
            .send()
            .await
            .expect("Abort a");
        let out = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .send()
            .await
            .expect("ListMultipartUploads");
        let ids: Vec<&str> = out.uploads().iter().filter_map(|u| u.upload_id()).collect();
        assert_eq!(ids, [id_b.as_str()], "aborted upload is gone");
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("dir/b")
            .upload_id(&id_b)
            .send()
            .await
            .expect("Abort b");
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}

#[tokio::test]
async fn list_multipart_uploads_rolls_keys_up_by_delimiter_and_pages() {
    bounded(async {
        let c = client();
        let bucket = create_bucket(&c, "uploadsdelim").await;
        let mut ids = Vec::new();
        for key in [
            "a.bin",
            "logs/1",
            "logs/2",
            "logs/old/3",
            "photos/x",
            "z.bin",
        ] {
            ids.push((key, start_upload(&c, &bucket, key).await));
        }
        let out = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .delimiter("/")
            .send()
            .await
            .expect("with delimiter");
        let keys: Vec<&str> = out.uploads().iter().filter_map(|u| u.key()).collect();
        assert_eq!(keys, ["a.bin", "z.bin"]);
        let prefixes: Vec<&str> = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect();
        assert_eq!(prefixes, ["logs/", "photos/"]);
        assert_eq!(out.delimiter(), Some("/"));
        assert!(
            out.uploads()
                .iter()
                .all(|u| u.initiator().and_then(|i| i.id()).is_some()),
            "uploads name their initiator"
        );

        let nested = c
            .list_multipart_uploads()
            .bucket(&bucket)
            .prefix("logs/")
            .delimiter("/")
            .send()
            .await
            .expect("prefix and delimiter");
        let keys: Vec<&str> = nested.uploads().iter().filter_map(|u| u.key()).collect();
        assert_eq!(keys, ["logs/1", "logs/2"]);
        let prefixes: Vec<&str> = nested
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect();
        assert_eq!(prefixes, ["logs/old/"]);

        // Two entries per page: a common prefix counts as one, and the next
        // page resumes after everything under it.
        let mut seen = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        for _ in 0..4 {
            let page = c
                .list_multipart_uploads()
                .bucket(&bucket)
                .delimiter("/")
                .max_uploads(2)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
                .expect("page");
            seen.extend(
                page.uploads()
                    .iter()
                    .filter_map(|u| u.key().map(str::to_string)),
            );
            seen.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
        }
        seen.sort();
        assert_eq!(seen, ["a.bin", "logs/", "photos/", "z.bin"]);
        for (key, id) in ids {
            c.abort_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .upload_id(id)
                .send()
                .await
                .expect("Abort");
        }
        cleanup_bucket(&c, &bucket).await;
    })
    .await
}
