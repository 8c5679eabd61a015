//! Retried metadata writes take effect exactly once, against a real voter.
//! A scripted voter stands in front of it: it passes a write on, and once
//! the real voter has applied it, lets another client act (a DELETE of the
//! same key) and then answers "unavailable", as a voter does that appended
//! the entry but gave up waiting for a majority. `MetaClient` retries on the
//! real voter. The retry must answer as the first application did and
//! change nothing: a PUT must not bring back the object deleted meanwhile,
//! and a CompleteMultipartUpload whose object was deleted meanwhile must
//! answer its result, not NoSuchUpload.

use cairn_testkit::*;

use aws_sdk_s3::primitives::ByteStream;
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use cairn_rpc::{
    CompletedPart, META_WRITE_PATH, MetaClient, MetaCommand, MetaError, MetaResponse, RpcClient,
    WriteCondition, decode_postcard, postcard_response,
};
use cairn_types::{HttpHeaders, ObjectData, ObjectExtras, ObjectManifest, VersionId, now_millis};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Upper bound of each test.
const TEST_DEADLINE: Duration = Duration::from_secs(120);
const BUCKET: &str = "once";

type Answer = Result<MetaResponse, MetaError>;

/// The scripted voter's hold on the first write: `applied` fires once the
/// real voter applied it (with its answer); the write is answered
/// "unavailable" when `release` fires.
struct Held {
    applied: oneshot::Receiver<Answer>,
    release: oneshot::Sender<()>,
}

/// Starts the scripted voter in front of `voter`: the first write is
/// applied there, held, then answered "unavailable"; later ones pass.
async fn scripted_voter(
    voter: String,
    rpc: RpcClient,
    tls: cairn_rpc::tls::InternalTls,
) -> (String, Held) {
    let (applied_tx, applied) = oneshot::channel();
    let (release, release_rx) = oneshot::channel();
    let first = Arc::new(Mutex::new(Some((applied_tx, release_rx))));
    let app = Router::new().route(
        META_WRITE_PATH,
        post(move |body: Bytes| {
            let (voter, rpc, first) = (voter.clone(), rpc.clone(), first.clone());
            async move {
                let cmd: MetaCommand = decode_postcard(&body).expect("a command");
                let answer: Answer = rpc
                    .call(&voter, META_WRITE_PATH, &cmd)
                    .await
                    .unwrap_or_else(|e| Err(MetaError::Unavailable(e.to_string())));
                let held = first.lock().expect("lock").take();
                let Some((applied_tx, release_rx)) = held else {
                    return postcard_response(&answer);
                };
                let _ = applied_tx.send(answer);
                let _ = release_rx.await;
                postcard_response(&Err::<MetaResponse, _>(MetaError::Unavailable(
                    "no majority in time (scripted)".into(),
                )))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    // Mutual TLS with a meta certificate, as a voter serves.
    let limits = cairn::serve::ServeLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_secs(30),
        write_timeout: Duration::from_secs(30),
    };
    let transport = cairn::serve::Transport::Mutual(tls.server.clone());
    let _ = cairn::serve::serve(listener, app, transport, limits, Default::default());
    (addr, Held { applied, release })
}

/// A meta client that asks the scripted voter first, then the real one.
async fn client_through_script(c: &Cluster) -> (MetaClient, Held) {
    let voter = c.voter_addr(1).to_string();
    let tls = c.tls_as(cairn_rpc::tls::PeerRole::Meta);
    let (script, held) = scripted_voter(voter.clone(), c.rpc(), tls).await;
    (MetaClient::new(c.rpc(), vec![script, voter]), held)
}

fn inline_manifest(key: &str, body: &[u8]) -> ObjectManifest {
    ObjectManifest {
        bucket: BUCKET.into(),
        key: key.into(),
        version: VersionId::new_random(),
        size: body.len() as u64,
        // Any ETag will do: nothing checks an inline body against it here.
        etag: "0123456789abcdef0123456789abcdef".into(),
        last_modified: now_millis(),
        headers: HttpHeaders::default(),
        data: ObjectData::Inline(body.to_vec()),
        part_sizes: Vec::new(),
    }
}

async fn status_of_get(client: &aws_sdk_s3::Client, key: &str) -> Option<u16> {
    match client.get_object().bucket(BUCKET).key(key).send().await {
        Ok(_) => Some(200),
        Err(e) => http_status(&e),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_put_does_not_bring_back_an_object_deleted_meanwhile() {
    let c = Cluster::builder().start();
    within(TEST_DEADLINE, "the test", async {
        let s3 = c.client();
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("bucket");
        let (meta, held) = client_through_script(&c).await;
        let put = MetaCommand::PutObjectWithExtras {
            manifest: inline_manifest("k", b"the first body"),
            condition: WriteCondition::Always,
            extras: ObjectExtras::default(),
        };
        let write = tokio::spawn(async move { meta.write(&put).await });
        let first = held.applied.await.expect("the write reached the voter");
        assert!(
            matches!(first, Ok(MetaResponse::Written { .. })),
            "{first:?}"
        );
        // Another client deletes the key while the writer waits for its answer.
        assert_eq!(status_of_get(&s3, "k").await, Some(200));
        s3.delete_object()
            .bucket(BUCKET)
            .key("k")
            .send()
            .await
            .expect("delete");
        let _ = held.release.send(());
        let retried = write
            .await
            .expect("task")
            .expect("the retried PUT succeeds");
        assert_eq!(Ok(retried), first, "the retry answers the first answer");
        assert_eq!(
            status_of_get(&s3, "k").await,
            Some(404),
            "the retry brought the deleted object back"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_complete_answers_its_result_not_no_such_upload() {
    let c = Cluster::builder().start();
    within(TEST_DEADLINE, "the test", async {
        let s3 = c.client();
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("bucket");
        let body = pattern(100_000, 14);
        let upload = s3
            .create_multipart_upload()
            .bucket(BUCKET)
            .key("mp")
            .send()
            .await
            .expect("create upload");
        let upload_id = upload.upload_id().expect("upload id").to_string();
        let part = s3
            .upload_part()
            .bucket(BUCKET)
            .key("mp")
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("part");
        let etag = part.e_tag().expect("etag").trim_matches('"').to_string();
        let (meta, held) = client_through_script(&c).await;
        let complete = MetaCommand::CompleteUploadWithChecksums {
            bucket: BUCKET.into(),
            key: "mp".into(),
            upload_id: VersionId::parse(&upload_id).expect("an upload id cairn made"),
            parts: vec![CompletedPart {
                part_number: 1,
                etag,
            }],
            part_checksums: vec![None],
            object_checksum: None,
            version: VersionId::new_random(),
            last_modified: now_millis(),
            condition: WriteCondition::Always,
        };
        let write = tokio::spawn(async move { meta.write(&complete).await });
        let first = held.applied.await.expect("the complete reached the voter");
        let Ok(MetaResponse::CompletedWithExtras { manifest, .. }) = &first else {
            panic!("the first application failed: {first:?}");
        };
        let (etag, version) = (manifest.etag.clone(), manifest.version);
        // Another client deletes the completed object meanwhile: its version
        // is no longer current, so only the write id tells the retry.
        assert_eq!(get_bytes(&s3, BUCKET, "mp").await, body);
        s3.delete_object()
            .bucket(BUCKET)
            .key("mp")
            .send()
            .await
            .expect("delete");
        let _ = held.release.send(());
        let retried = write.await.expect("task");
        let Ok(MetaResponse::CompletedWithExtras { manifest, .. }) = retried else {
            panic!("the retried complete answered {retried:?}, not its result");
        };
        assert_eq!((manifest.etag, manifest.version), (etag, version));
        assert_eq!(
            status_of_get(&s3, "mp").await,
            Some(404),
            "the retry brought the deleted object back"
        );
    })
    .await;
}
