//! The client gateways and nodes use to reach meta. It is given any voter
//! addresses, remembers which one led last, follows "not leader" redirects,
//! and turns transport failures into `MetaError::Unavailable`. Three calls
//! cover every endpoint: `write` (a command through Raft), `read` (a typed
//! query of `meta_reads`) and `call` (any other `Endpoint`).

use crate::meta_api::{
    DeleteOutcome, Endpoint, META_READ_PATH, META_WRITE_PATH, MetaCommand, MetaError, MetaResponse,
    QueryResult,
};
use crate::meta_reads::Query;
use crate::sizes::{MAX_CONTROL_BYTES, MAX_QUERY_BYTES, MAX_WRITE_BODY_BYTES};
use crate::transport::{RpcClient, RpcError};
use crate::write_id::WriteId;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long one meta call keeps retrying (redirects, elections, unreachable
/// voters) before it reports the metadata service unavailable. Longer than an
/// election, so a leader change costs latency, not an error.
pub const META_CALL_DEADLINE: Duration = Duration::from_secs(10);
/// Pause between attempts when no voter answered as leader.
pub const META_RETRY_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct MetaClient {
    rpc: RpcClient,
    voters: Arc<Vec<String>>,
    /// The voter that answered last (the leader, as far as we know).
    leader_hint: Arc<std::sync::Mutex<Option<String>>>,
    /// Where rotation over `voters` continues after a failure.
    rotation: Arc<AtomicUsize>,
}

impl MetaClient {
    pub fn new(rpc: RpcClient, voters: Vec<String>) -> Self {
        assert!(
            !voters.is_empty(),
            "a meta client needs at least one voter address"
        );
        Self {
            rpc,
            voters: Arc::new(voters),
            leader_hint: Arc::new(std::sync::Mutex::new(None)),
            rotation: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn hint(&self) -> Option<String> {
        self.leader_hint.lock().ok().and_then(|h| h.clone())
    }

    fn set_hint(&self, addr: Option<String>) {
        if let Ok(mut h) = self.leader_hint.lock() {
            *h = addr;
        }
    }

    /// The next voter in rotation.
    fn rotate(&self) -> String {
        let i = self.rotation.fetch_add(1, Ordering::Relaxed) % self.voters.len();
        self.voters[i].clone()
    }

    /// The next voter in rotation other than `failed` (when there is another):
    /// a voter that just timed out waiting for a majority is not asked again
    /// straight away.
    fn rotate_past(&self, failed: &str) -> String {
        for _ in 0..self.voters.len() {
            let next = self.rotate();
            if next != failed {
                return next;
            }
        }
        self.rotate()
    }

    /// Sends one call to the leader: tries the last known leader first,
    /// follows "not leader" redirects straight to the named leader, and moves
    /// on to the next voter when one cannot be reached or knows no leader.
    async fn send<Req, Resp>(
        &self,
        path: &str,
        req: &Req,
        max_body: usize,
    ) -> Result<Resp, MetaError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        self.send_tracked(path, req, max_body).await.0
    }

    /// `send`, and whether an attempt before the answer may have been acted
    /// on unseen (a voter gave up waiting for a majority after appending, a
    /// request timed out, or a connection broke after sending). A request
    /// over `max_body` (the route's limit) is refused unsent.
    async fn send_tracked<Req, Resp>(
        &self,
        path: &str,
        req: &Req,
        max_body: usize,
    ) -> (Result<Resp, MetaError>, bool)
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let mut maybe_acted = false;
        let mut last_error = String::from("no voter tried");
        let deadline = tokio::time::Instant::now() + META_CALL_DEADLINE;
        let mut target = self.hint().unwrap_or_else(|| self.rotate());
        // Unsuccessful attempts; after each round as long as the voter list, pause.
        let mut failures = 0usize;
        while tokio::time::Instant::now() < deadline {
            let next = match self
                .rpc
                .call_bounded::<Req, Result<Resp, MetaError>>(&target, path, req, max_body)
                .await
            {
                Ok(Ok(resp)) => {
                    self.set_hint(Some(target));
                    return (Ok(resp), maybe_acted);
                }
                Ok(Err(MetaError::NotLeader {
                    leader_addr: Some(leader),
                })) if leader != target => {
                    last_error = format!("{target} is not the leader");
                    failures += 1;
                    leader
                }
                Ok(Err(MetaError::NotLeader { .. })) => {
                    last_error = format!("{target} knows no leader");
                    failures += 1;
                    self.rotate()
                }
                Ok(Err(MetaError::Unavailable(msg))) => {
                    maybe_acted = true;
                    last_error = msg;
                    failures += 1;
                    self.set_hint(None);
                    self.rotate_past(&target)
                }
                Ok(Err(e)) => return (Err(e), maybe_acted),
                Err(
                    e @ (RpcError::Unreachable { .. }
                    | RpcError::Broken { .. }
                    | RpcError::Timeout { .. }),
                ) => {
                    maybe_acted |= !matches!(e, RpcError::Unreachable { .. });
                    last_error = e.to_string();
                    failures += 1;
                    self.set_hint(None);
                    self.rotate_past(&target)
                }
                Err(RpcError::TooLarge { message, .. }) => {
                    return (Err(MetaError::TooLarge(message)), maybe_acted);
                }
                Err(e) => return (Err(MetaError::Internal(e.to_string())), maybe_acted),
            };
            if failures.is_multiple_of(self.voters.len()) {
                tokio::time::sleep(META_RETRY_BACKOFF).await;
            }
            target = next;
        }
        (Err(MetaError::Unavailable(last_error)), maybe_acted)
    }

    /// Replicates a command through Raft and returns what applying it did.
    ///
    /// Every attempt carries the same fresh idempotency id
    /// (`MetaCommand::Idempotent`), so when an earlier attempt was applied
    /// unseen, a repeat gets the first application's answer and changes
    /// nothing, whatever other clients wrote meanwhile. (A command already
    /// wrapped is sent as it is.) For a voter that has forgotten the id
    /// (never, within `META_CALL_DEADLINE`) two deletes keep their old
    /// fallback: when an earlier attempt may have been applied unseen,
    /// DeleteBucket's NoSuchBucket and a conditional DeleteObject's
    /// NoSuchKey mean the thing is gone, which is what was asked, so they
    /// answer success.
    pub async fn write(&self, cmd: &MetaCommand) -> Result<MetaResponse, MetaError> {
        let envelope;
        let sent = match cmd {
            MetaCommand::Idempotent { .. } => cmd,
            _ => {
                envelope = MetaCommand::Idempotent {
                    id: WriteId::new_random(),
                    stamped_ms: 0,
                    command: Box::new(cmd.clone()),
                };
                &envelope
            }
        };
        let (result, maybe_applied) = self
            .send_tracked(META_WRITE_PATH, sent, MAX_WRITE_BODY_BYTES)
            .await;
        match (cmd, result) {
            (MetaCommand::DeleteBucket { .. }, Err(MetaError::NoSuchBucket)) if maybe_applied => {
                Ok(MetaResponse::Done)
            }
            (
                MetaCommand::DeleteObject {
                    if_match: Some(_), ..
                },
                Err(MetaError::NoSuchKey),
            ) if maybe_applied => Ok(MetaResponse::Replaced(None)),
            (
                MetaCommand::DeleteObjectVersion {
                    if_match: Some(_),
                    version,
                    ..
                },
                Err(MetaError::NoSuchKey),
            ) if maybe_applied => Ok(MetaResponse::Deleted(DeleteOutcome {
                removed: None,
                version_id: *version,
                delete_marker: false,
            })),
            (_, result) => result,
        }
    }

    /// A request to one of meta's other endpoints (heartbeat, node list,
    /// membership), answered by the leader.
    pub async fn call<E: Endpoint>(&self, req: &E) -> Result<E::Answer, MetaError> {
        self.send(E::PATH, req, MAX_CONTROL_BYTES).await
    }

    /// A linearizable read: `meta.read(GetBucket { name }).await` answers
    /// the `Option<Bucket>` the query names.
    pub async fn read<Q: Query>(&self, query: Q) -> Result<Q::Answer, MetaError> {
        let result: QueryResult = self
            .send(META_READ_PATH, &query.into(), MAX_QUERY_BYTES)
            .await?;
        Q::answer(result).map_err(|other| unexpected(&other))
    }
}

fn unexpected(r: &QueryResult) -> MetaError {
    MetaError::Internal(format!("unexpected answer from meta: {r:?}"))
}
