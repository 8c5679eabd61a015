//! ListMultipartUploads: uploads in progress in (key, upload id) order, by
//! prefix, rolled up by delimiter into CommonPrefixes, and paged with key and
//! upload-id markers.

use aws_sdk_s3::operation::list_multipart_uploads::ListMultipartUploadsOutput;
use aws_sdk_s3::operation::list_multipart_uploads::builders::ListMultipartUploadsFluentBuilder;
use cairn_s3_tests::*;

/// Most pages the paging test asks for before giving up.
const MAX_PAGES: usize = 4;

/// ListMultipartUploads with the options `with` adds; panics when it fails.
async fn list_uploads(
    c: &Client,
    bucket: &str,
    with: impl FnOnce(ListMultipartUploadsFluentBuilder) -> ListMultipartUploadsFluentBuilder,
) -> ListMultipartUploadsOutput {
    let result = with(c.list_multipart_uploads().bucket(bucket)).send().await;
    result.expect("ListMultipartUploads")
}

fn upload_keys(out: &ListMultipartUploadsOutput) -> Vec<&str> {
    out.uploads().iter().filter_map(|u| u.key()).collect()
}

fn upload_prefixes(out: &ListMultipartUploadsOutput) -> Vec<&str> {
    let prefixes = out.common_prefixes().iter();
    prefixes.filter_map(|p| p.prefix()).collect()
}

#[tokio::test]
async fn list_multipart_uploads_shows_in_progress_uploads() {
    with_bucket("listuploads", async |c, bucket| {
        let id_a = start_upload(c, bucket, "a").await;
        let id_b = start_upload(c, bucket, "dir/b").await;
        assert_ne!(id_a, id_b, "upload ids are unique");

        let out = list_uploads(c, bucket, |r| r).await;
        let uploads = out.uploads().iter();
        let listed: Vec<(Option<&str>, Option<&str>)> =
            uploads.map(|u| (u.key(), u.upload_id())).collect();
        assert_eq!(
            listed,
            [
                (Some("a"), Some(id_a.as_str())),
                (Some("dir/b"), Some(id_b.as_str()))
            ]
        );
        let initiated = out.uploads().iter().all(|u| u.initiated().is_some());
        assert!(initiated, "uploads carry Initiated");

        let filtered = list_uploads(c, bucket, |r| r.prefix("dir/")).await;
        assert_eq!(upload_keys(&filtered), ["dir/b"]);

        abort(c, bucket, "a", &id_a).await;
        let out = list_uploads(c, bucket, |r| r).await;
        let ids: Vec<&str> = out.uploads().iter().filter_map(|u| u.upload_id()).collect();
        assert_eq!(ids, [id_b.as_str()], "aborted upload is gone");
        abort(c, bucket, "dir/b", &id_b).await;
    })
    .await
}

#[tokio::test]
async fn list_multipart_uploads_rolls_keys_up_by_delimiter_and_pages() {
    with_bucket("uploadsdelim", async |c, bucket| {
        let mut ids = Vec::new();
        for key in [
            "a.bin",
            "logs/1",
            "logs/2",
            "logs/old/3",
            "photos/x",
            "z.bin",
        ] {
            ids.push((key, start_upload(c, bucket, key).await));
        }
        let out = list_uploads(c, bucket, |r| r.delimiter("/")).await;
        assert_eq!(upload_keys(&out), ["a.bin", "z.bin"]);
        assert_eq!(upload_prefixes(&out), ["logs/", "photos/"]);
        assert_eq!(out.delimiter(), Some("/"));
        assert!(
            out.uploads()
                .iter()
                .all(|u| u.initiator().and_then(|i| i.id()).is_some()),
            "uploads name their initiator"
        );

        let nested = list_uploads(c, bucket, |r| r.prefix("logs/").delimiter("/")).await;
        assert_eq!(upload_keys(&nested), ["logs/1", "logs/2"]);
        assert_eq!(upload_prefixes(&nested), ["logs/old/"]);

        // Two entries per page: a common prefix counts as one, and the next
        // page resumes after everything under it.
        let mut seen: Vec<String> = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        for _ in 0..MAX_PAGES {
            let markers = (key_marker.clone(), id_marker.clone());
            let page = list_uploads(c, bucket, |r| {
                r.delimiter("/")
                    .max_uploads(2)
                    .set_key_marker(markers.0)
                    .set_upload_id_marker(markers.1)
            })
            .await;
            seen.extend(upload_keys(&page).into_iter().map(str::to_string));
            seen.extend(upload_prefixes(&page).into_iter().map(str::to_string));
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
        }
        seen.sort();
        assert_eq!(seen, ["a.bin", "logs/", "photos/", "z.bin"]);
        for (key, id) in ids {
            abort(c, bucket, key, &id).await;
        }
    })
    .await
}
