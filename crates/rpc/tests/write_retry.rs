//! `MetaClient::write` when an attempt may have been applied unseen: a fake
//! voter answers from a script, first "unavailable" (as a voter that appended
//! the entry but gave up waiting for a majority), then what a repeat of the
//! command would answer. A DeleteBucket or conditional DeleteObject whose
//! repeat finds its target gone succeeds; without the doubtful first attempt
//! the same answer stays an error, and other errors always pass through.

use axum::Router;
use axum::routing::post;
use cairn_rpc::{
    META_WRITE_PATH, MetaClient, MetaCommand, MetaError, MetaResponse, RpcClient, postcard_response,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const SECRET: &str = "a-test-cluster-secret-of-some-length";

type Answer = Result<MetaResponse, MetaError>;

/// Starts a fake voter answering writes from `script`, in order.
async fn fake_voter(script: Vec<Answer>) -> (MetaClient, Arc<Mutex<VecDeque<Answer>>>) {
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let answers = script.clone();
    let app = Router::new().route(
        META_WRITE_PATH,
        post(move || {
            let answers = answers.clone();
            async move {
                let next = answers
                    .lock()
                    .expect("script lock")
                    .pop_front()
                    .unwrap_or(Err(MetaError::Internal("script exhausted".into())));
                postcard_response(&next)
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
    (MetaClient::new(rpc, vec![addr.to_string()]), script)
}

fn delete_bucket() -> MetaCommand {
    MetaCommand::DeleteBucket { name: "b".into() }
}

fn delete_object(if_match: Option<&str>) -> MetaCommand {
    MetaCommand::DeleteObject {
        bucket: "b".into(),
        key: "k".into(),
        if_match: if_match.map(str::to_string),
    }
}

fn unavailable() -> Answer {
    Err(MetaError::Unavailable("no majority in time".into()))
}

#[tokio::test]
async fn a_repeated_delete_that_finds_its_target_gone_succeeds() {
    let (meta, script) = fake_voter(vec![unavailable(), Err(MetaError::NoSuchBucket)]).await;
    assert_eq!(meta.write(&delete_bucket()).await, Ok(MetaResponse::Done));
    assert!(script.lock().expect("lock").is_empty(), "two attempts");

    let (meta, _) = fake_voter(vec![unavailable(), Err(MetaError::NoSuchKey)]).await;
    assert_eq!(
        meta.write(&delete_object(Some("0123"))).await,
        Ok(MetaResponse::Replaced(None))
    );
}

#[tokio::test]
async fn without_a_doubtful_attempt_the_answer_stands() {
    let (meta, _) = fake_voter(vec![Err(MetaError::NoSuchBucket)]).await;
    assert_eq!(
        meta.write(&delete_bucket()).await,
        Err(MetaError::NoSuchBucket)
    );

    let (meta, _) = fake_voter(vec![Err(MetaError::NoSuchKey)]).await;
    assert_eq!(
        meta.write(&delete_object(Some("0123"))).await,
        Err(MetaError::NoSuchKey)
    );
    // Other errors after a doubtful attempt are real answers.
    let (meta, _) = fake_voter(vec![unavailable(), Err(MetaError::BucketNotEmpty)]).await;
    assert_eq!(
        meta.write(&delete_bucket()).await,
        Err(MetaError::BucketNotEmpty)
    );
    let (meta, _) = fake_voter(vec![unavailable(), Err(MetaError::PreconditionFailed)]).await;
    assert_eq!(
        meta.write(&delete_object(Some("0123"))).await,
        Err(MetaError::PreconditionFailed)
    );
}
