//! `MetaClient::write` sends every write under an idempotency id
//! (`MetaCommand::Idempotent`), the same on every attempt of one write and a
//! fresh one for the next write, so the state machine can answer a retry of
//! an attempt applied unseen with the first answer. A fake voter answers
//! "unavailable" first and records what each attempt carried.

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use cairn_rpc::{
    META_WRITE_PATH, MetaClient, MetaCommand, MetaError, MetaResponse, RpcClient, WriteId,
    decode_postcard, postcard_response,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const SECRET: &str = "a-test-cluster-secret-of-some-length";

type Seen = Arc<Mutex<Vec<MetaCommand>>>;

/// A fake voter that answers every odd attempt "unavailable" and every even
/// one `Done`, recording each command it got.
async fn flaky_voter() -> (MetaClient, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        META_WRITE_PATH,
        post(move |body: Bytes| {
            let log = log.clone();
            async move {
                let cmd: MetaCommand = decode_postcard(&body).expect("a command");
                let mut log = log.lock().expect("lock");
                log.push(cmd);
                let answer: Result<MetaResponse, MetaError> = if log.len() % 2 == 1 {
                    Err(MetaError::Unavailable("no majority in time".into()))
                } else {
                    Ok(MetaResponse::Done)
                };
                postcard_response(&answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let rpc = RpcClient::new(
        REQUEST_TIMEOUT,
        &cairn_rpc::ClientAuth::Token(SECRET.into()),
    )
    .expect("rpc client");
    (MetaClient::new(rpc, vec![addr.to_string()]), seen)
}

fn id_of(cmd: &MetaCommand) -> WriteId {
    match cmd {
        MetaCommand::Idempotent { id, command, .. } => {
            assert_eq!(**command, MetaCommand::DeleteBucket { name: "b".into() });
            *id
        }
        other => panic!("a write sent without an idempotency id: {other:?}"),
    }
}

#[tokio::test]
async fn every_attempt_of_a_write_carries_its_one_id() {
    let (meta, seen) = flaky_voter().await;
    let cmd = MetaCommand::DeleteBucket { name: "b".into() };
    assert_eq!(meta.write(&cmd).await, Ok(MetaResponse::Done));
    assert_eq!(meta.write(&cmd).await, Ok(MetaResponse::Done));
    let ids: Vec<WriteId> = seen.lock().expect("lock").iter().map(id_of).collect();
    assert_eq!(ids.len(), 4, "two attempts per write");
    assert_eq!(ids[0], ids[1], "a retry carries its write's id");
    assert_eq!(ids[2], ids[3], "a retry carries its write's id");
    assert_ne!(ids[0], ids[2], "two writes share no id");
}
