//! One benchmark run from start to end: check the options, make sure the
//! bucket exists, write the objects a workload reads (get, mixed, list), run
//! `concurrency` workers until the duration or operation count is reached,
//! then delete exactly the objects this run wrote (and the bucket, if the run
//! created it). Every key lives under `PREFIX RUN-ID/`, a random run id, so a
//! run never reads, lists or deletes anything it did not write.

use crate::client::{self, Target, error_code};
use crate::ops::Session;
use crate::payload::{ObjectInfo, Payload};
use crate::report::{Prepare, REPORT_SCHEMA, Report};
use crate::spec::{GIB, Mix, MixedOp, SizeSpec, format_bytes};
use crate::stats::{Recorder, Sample};
use aws_sdk_s3::Client;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Key prefix used when none is given.
pub const DEFAULT_PREFIX: &str = "cairn-bench/";
/// Start of the name of a bucket the run creates itself.
pub const BUCKET_NAME_PREFIX: &str = "cairn-bench-";
/// Largest object size (S3's limit for one PUT); the payload buffer is this large at most.
pub const MAX_OBJECT_SIZE: u64 = 5 * GIB;
/// Largest ListObjectsV2 page S3 answers.
pub const MAX_LIST_PAGE: i32 = 1000;
/// How often the progress bar and the time series are brought up to date.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// Error code counted when one full listing pass does not see every object.
pub const LIST_COUNT_MISMATCH: &str = "ListCountMismatch";

/// When the measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Start no new operation after this long (operations in flight finish).
    Duration(Duration),
    /// Run this many operations in all (uploads, for multipart).
    Ops(u64),
}

/// What the workers do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// PutObject of new keys.
    Put,
    /// GetObject of `objects` objects written beforehand, picked at random.
    Get { objects: u64 },
    /// GET/PUT/HEAD/DELETE by `mix` over a pool of `objects` objects written
    /// beforehand; no two workers touch the same object at once.
    Mixed { objects: u64, mix: Mix },
    /// ListObjectsV2 pages of `page_size` over `objects` objects written beforehand.
    List { objects: u64, page_size: i32 },
    /// Multipart uploads of new keys in parts of `part_size`.
    Multipart { part_size: u64 },
}

impl Workload {
    pub fn name(&self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::Get { .. } => "get",
            Workload::Mixed { .. } => "mixed",
            Workload::List { .. } => "list",
            Workload::Multipart { .. } => "multipart",
        }
    }

    /// Objects to write before the measured phase.
    fn prepared_objects(&self) -> Option<u64> {
        match self {
            Workload::Get { objects }
            | Workload::Mixed { objects, .. }
            | Workload::List { objects, .. } => Some(*objects),
            Workload::Put | Workload::Multipart { .. } => None,
        }
    }

    fn parameters(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        if let Some(objects) = self.prepared_objects() {
            p.insert("objects".to_owned(), objects.to_string());
        }
        match self {
            Workload::Mixed { mix, .. } => {
                p.insert("mix".to_owned(), mix.to_string());
            }
            Workload::List { page_size, .. } => {
                p.insert("page size".to_owned(), page_size.to_string());
            }
            Workload::Multipart { part_size } => {
                p.insert("part size".to_owned(), format_bytes(*part_size));
            }
            Workload::Put | Workload::Get { .. } => {}
        }
        p
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    pub workload: Workload,
    /// Bucket to use; a fresh `cairn-bench-XXXXXXXX` when None. A bucket that
    /// already exists is used and left in place.
    pub bucket: Option<String>,
    /// Leave the objects (and a created bucket) in place.
    pub keep: bool,
    /// Keys are `PREFIX RUN-ID/NNNNNNNNNNNN`.
    pub prefix: String,
    pub concurrency: usize,
    pub limit: Limit,
    /// Object sizes (for multipart: the size of a whole upload).
    pub size: SizeSpec,
    /// Compare GET bodies byte for byte (lengths are always checked).
    pub verify: bool,
    /// Bound of one request, body included.
    pub op_timeout: Duration,
    /// Stop the run after this many failed operations.
    pub max_errors: u64,
    /// Draw a progress bar on stderr (only if stderr is a terminal).
    pub progress: bool,
    /// Sign request bodies (SHA-256) instead of UNSIGNED-PAYLOAD.
    pub sign_payload: bool,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid options: {0}")]
    Invalid(String),
    #[error("{what} failed: {code}")]
    S3 { what: String, code: String },
    #[error("a worker stopped unexpectedly: {0}")]
    Worker(String),
}

impl Options {
    fn validate(&self) -> Result<(), BenchError> {
        let invalid = |m: String| Err(BenchError::Invalid(m));
        if self.concurrency == 0 {
            return invalid("concurrency must be at least 1".into());
        }
        if self.size.max() > MAX_OBJECT_SIZE && !matches!(self.workload, Workload::Multipart { .. })
        {
            return invalid(format!(
                "object size above {} (S3's largest PUT)",
                format_bytes(MAX_OBJECT_SIZE)
            ));
        }
        if self.limit == Limit::Ops(0) {
            return invalid("--ops must be at least 1".into());
        }
        match self.workload {
            Workload::Get { objects: 0 }
            | Workload::Mixed { objects: 0, .. }
            | Workload::List { objects: 0, .. } => invalid("--objects must be at least 1".into()),
            Workload::List { page_size, .. } if !(1..=MAX_LIST_PAGE).contains(&page_size) => {
                invalid(format!("--page-size must be 1..={MAX_LIST_PAGE}"))
            }
            Workload::Multipart { part_size } if part_size == 0 || part_size > MAX_OBJECT_SIZE => {
                invalid(format!(
                    "--part-size must be 1 B..={}",
                    format_bytes(MAX_OBJECT_SIZE)
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Carries out a run. `stop` ends the measured phase early (e.g. on Ctrl-C);
/// the objects are still cleaned up and the report covers what ran.
pub async fn run(opts: Options, stop: CancellationToken) -> Result<Report, BenchError> {
    opts.validate()?;
    let client = client::build(&opts.target, opts.op_timeout);
    let bucket = match &opts.bucket {
        Some(b) => b.clone(),
        None => format!("{BUCKET_NAME_PREFIX}{:08x}", rand::random::<u32>()),
    };
    let created = ensure_bucket(&client, &bucket).await?;
    let run_prefix = format!("{}{:08x}/", opts.prefix, rand::random::<u32>());
    let keys = Arc::new(KeyNames {
        prefix: run_prefix,
        next: AtomicU64::new(0),
    });
    let outcome = measure(&opts, client.clone(), &bucket, keys.clone(), &stop).await;
    let mut notes = Vec::new();
    if opts.keep {
        notes.push(format!(
            "kept bucket {bucket} and the objects under {}",
            keys.prefix
        ));
    } else if let Err(e) = cleanup(&client, &bucket, &keys, opts.concurrency, created).await {
        notes.push(format!("cleanup failed: {e}"));
    }
    let mut report = outcome?;
    report.notes.extend(notes);
    Ok(report)
}

/// Names of the keys of a run: `PREFIX NNNNNNNNNNNN`, numbered from 0.
struct KeyNames {
    prefix: String,
    next: AtomicU64,
}

impl KeyNames {
    fn key(&self, n: u64) -> String {
        format!("{}{n:012}", self.prefix)
    }

    fn new_object(&self, size: &SizeSpec, rng: &mut impl Rng) -> ObjectInfo {
        ObjectInfo {
            key: self.key(self.next.fetch_add(1, Ordering::Relaxed)),
            size: size.sample(rng),
            offset: Payload::pick_offset(rng),
        }
    }
}

/// Creates the bucket unless it exists; true when this run created it.
async fn ensure_bucket(client: &Client, bucket: &str) -> Result<bool, BenchError> {
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(false);
    }
    match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let code = error_code(&e);
            if code == "BucketAlreadyOwnedByYou" {
                Ok(false)
            } else {
                Err(BenchError::S3 {
                    what: format!("creating bucket {bucket}"),
                    code,
                })
            }
        }
    }
}

/// Deletes every key the run named (keys it never wrote or already deleted
/// answer 204 too), then the bucket if the run created it.
async fn cleanup(
    client: &Client,
    bucket: &str,
    keys: &KeyNames,
    concurrency: usize,
    created: bool,
) -> Result<(), BenchError> {
    let count = keys.next.load(Ordering::Relaxed);
    let mut deletes = futures::stream::iter(0..count)
        .map(|n| {
            let key = keys.key(n);
            async move { client.delete_object().bucket(bucket).key(&key).send().await }
        })
        .buffer_unordered(concurrency);
    let mut first_error = None;
    while let Some(result) = deletes.next().await {
        if let Err(e) = result {
            first_error.get_or_insert_with(|| error_code(&e));
        }
    }
    if let Some(code) = first_error {
        return Err(BenchError::S3 {
            what: "deleting the run's objects".into(),
            code,
        });
    }
    if created {
        client
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| BenchError::S3 {
                what: format!("deleting bucket {bucket}"),
                code: error_code(&e),
            })?;
    }
    Ok(())
}

/// State the workers share during the measured phase.
struct Shared {
    session: Session,
    keys: Arc<KeyNames>,
    workload: Workload,
    size: SizeSpec,
    limit: Limit,
    /// End of the measured phase (`Limit::Duration` only).
    deadline: Option<Instant>,
    max_errors: u64,
    stop: CancellationToken,
    /// Operations started (for `Limit::Ops`).
    claimed: AtomicU64,
    /// Finished operations and bytes, for the progress bar.
    done_ops: AtomicU64,
    done_bytes: AtomicU64,
    failed: AtomicU64,
    too_many_errors: AtomicBool,
    /// Objects that can be read (get, mixed) or listed (list).
    pool: Mutex<Vec<ObjectInfo>>,
    recorder: Mutex<Recorder>,
}

/// Locks a mutex; a worker that panicked while holding it left consistent
/// counters (each update is one statement), so the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Whether a worker may start another operation.
    fn claim(&self) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        if self.failed.load(Ordering::Relaxed) >= self.max_errors {
            self.too_many_errors.store(true, Ordering::Relaxed);
            return false;
        }
        match self.limit {
            Limit::Duration(_) => self.deadline.is_some_and(|d| Instant::now() < d),
            Limit::Ops(n) => self.claimed.fetch_add(1, Ordering::Relaxed) < n,
        }
    }

    fn record(&self, sample: Sample) {
        if sample.outcome.is_ok() {
            if sample.kind.counts_in_total() {
                self.done_ops.fetch_add(1, Ordering::Relaxed);
                self.done_bytes.fetch_add(sample.bytes, Ordering::Relaxed);
            }
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.recorder).record(sample);
    }

    /// Takes a random object out of the pool (so no other worker uses it).
    fn lease(&self, rng: &mut impl Rng) -> Option<ObjectInfo> {
        let mut pool = lock(&self.pool);
        if pool.is_empty() {
            return None;
        }
        let i = rng.random_range(0..pool.len());
        Some(pool.swap_remove(i))
    }

    fn give_back(&self, obj: ObjectInfo) {
        lock(&self.pool).push(obj);
    }

    /// A random object of the pool, left in it (get: objects are never removed).
    fn pick(&self, rng: &mut impl Rng) -> Option<ObjectInfo> {
        let pool = lock(&self.pool);
        (!pool.is_empty()).then(|| pool[rng.random_range(0..pool.len())].clone())
    }
}

async fn worker(shared: Arc<Shared>, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let s = &shared.session;
    let mut list_token: Option<String> = None;
    let mut listed_this_pass = 0u64;
    while shared.claim() {
        match &shared.workload {
            Workload::Put => {
                let obj = shared.keys.new_object(&shared.size, &mut rng);
                shared.record(s.put(&obj).await);
            }
            Workload::Get { .. } => {
                if let Some(obj) = shared.pick(&mut rng) {
                    shared.record(s.get(&obj).await);
                }
            }
            Workload::Mixed { mix, .. } => mixed_op(&shared, *mix, &mut rng).await,
            Workload::List { objects, page_size } => {
                let mut sample = s
                    .list_page(&shared.keys.prefix, *page_size, &mut list_token)
                    .await;
                listed_this_pass += sample.entries;
                if sample.outcome.is_err() {
                    listed_this_pass = 0;
                } else if list_token.is_none() {
                    // A pass ended: it must have seen every object exactly once.
                    if listed_this_pass != *objects {
                        sample.outcome = Err(LIST_COUNT_MISMATCH.to_owned());
                    }
                    listed_this_pass = 0;
                }
                shared.record(sample);
            }
            Workload::Multipart { part_size } => {
                let obj = shared.keys.new_object(&shared.size, &mut rng);
                for sample in s.multipart(&obj, *part_size).await {
                    shared.record(sample);
                }
            }
        }
    }
}

/// One operation of the mixed workload. GET, HEAD and DELETE lease their
/// object from the pool; an empty pool turns them into a PUT.
async fn mixed_op(shared: &Shared, mix: Mix, rng: &mut SmallRng) {
    let s = &shared.session;
    let op = mix.pick(rng);
    let leased = match op {
        MixedOp::Put => None,
        _ => shared.lease(rng),
    };
    match (op, leased) {
        (MixedOp::Get, Some(obj)) => {
            shared.record(s.get(&obj).await);
            shared.give_back(obj);
        }
        (MixedOp::Stat, Some(obj)) => {
            shared.record(s.stat(&obj).await);
            shared.give_back(obj);
        }
        (MixedOp::Delete, Some(obj)) => {
            let sample = s.delete(&obj.key).await;
            let failed = sample.outcome.is_err();
            shared.record(sample);
            if failed {
                shared.give_back(obj);
            }
        }
        _ => {
            let obj = shared.keys.new_object(&shared.size, rng);
            let sample = s.put(&obj).await;
            let ok = sample.outcome.is_ok();
            shared.record(sample);
            if ok {
                shared.give_back(obj);
            }
        }
    }
}

fn progress_bar(show: bool, len: u64, template: &str) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Writes the objects a workload reads, `concurrency` at a time.
async fn prepare(
    session: &Session,
    keys: &KeyNames,
    opts: &Options,
    objects: u64,
) -> Result<(Vec<ObjectInfo>, Prepare), BenchError> {
    let began = Instant::now();
    let bar = progress_bar(
        opts.progress,
        objects,
        "preparing {pos}/{len} objects [{bar:30}] {elapsed}",
    );
    let mut rng = SmallRng::seed_from_u64(rand::random());
    let planned: Vec<ObjectInfo> = (0..objects)
        .map(|_| keys.new_object(&opts.size, &mut rng))
        .collect();
    let mut bytes = 0;
    {
        let mut puts = futures::stream::iter(planned.iter())
            .map(|obj| session.put(obj))
            .buffer_unordered(opts.concurrency);
        while let Some(sample) = puts.next().await {
            if let Err(code) = sample.outcome {
                bar.finish_and_clear();
                return Err(BenchError::S3 {
                    what: "writing the objects to read".into(),
                    code,
                });
            }
            bytes += sample.bytes;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let summary = Prepare {
        objects,
        bytes,
        secs: began.elapsed().as_secs_f64(),
    };
    Ok((planned, summary))
}

/// Prepares, runs the workers, and builds the report.
async fn measure(
    opts: &Options,
    client: Client,
    bucket: &str,
    keys: Arc<KeyNames>,
    stop: &CancellationToken,
) -> Result<Report, BenchError> {
    let payload_size = match opts.workload {
        Workload::Multipart { part_size } => part_size,
        _ => opts.size.max(),
    };
    let mut rng = SmallRng::seed_from_u64(rand::random());
    let mut session = Session {
        client,
        bucket: bucket.to_owned(),
        payload: Payload::new(payload_size, &mut rng),
        start: Instant::now(),
        verify: opts.verify,
        sign_payload: opts.sign_payload,
        op_timeout: opts.op_timeout,
    };
    let (pool, prepared) = match opts.workload.prepared_objects() {
        Some(n) => {
            let (pool, summary) = prepare(&session, &keys, opts, n).await?;
            (pool, Some(summary))
        }
        None => (Vec::new(), None),
    };
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    session.start = Instant::now();
    let (bar_len, template) = match opts.limit {
        Limit::Duration(d) => (d.as_secs().max(1), "{pos}/{len} s [{bar:30}] {msg}"),
        Limit::Ops(n) => (n, "{pos}/{len} ops [{bar:30}] {msg}"),
    };
    let bar = progress_bar(opts.progress, bar_len, template);
    let shared = Arc::new(Shared {
        deadline: match opts.limit {
            Limit::Duration(d) => session.start.checked_add(d),
            Limit::Ops(_) => None,
        },
        session,
        keys,
        workload: opts.workload.clone(),
        size: opts.size,
        limit: opts.limit,
        max_errors: opts.max_errors,
        stop: stop.child_token(),
        claimed: AtomicU64::new(0),
        done_ops: AtomicU64::new(0),
        done_bytes: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        too_many_errors: AtomicBool::new(false),
        pool: Mutex::new(pool),
        recorder: Mutex::new(Recorder::new()),
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency {
        workers.spawn(worker(shared.clone(), rng.random()));
    }
    let ticker_stop = CancellationToken::new();
    let ticker = tokio::spawn(tick(shared.clone(), bar.clone(), ticker_stop.clone()));
    let mut worker_error = None;
    while let Some(result) = workers.join_next().await {
        if let Err(e) = result {
            worker_error.get_or_insert(e.to_string());
            shared.stop.cancel();
        }
    }
    ticker_stop.cancel();
    let _ = ticker.await;
    bar.finish_and_clear();
    if let Some(e) = worker_error {
        return Err(BenchError::Worker(e));
    }
    let elapsed = {
        let recorder = lock(&shared.recorder);
        recorder.last_end()
    };
    let finished = std::mem::take(&mut *lock(&shared.recorder)).finish(elapsed);
    let mut notes = Vec::new();
    if shared.too_many_errors.load(Ordering::Relaxed) {
        notes.push(format!(
            "stopped early: {} errors (--max-errors)",
            opts.max_errors
        ));
    } else if stop.is_cancelled() {
        notes.push("stopped early: interrupted".to_owned());
    }
    Ok(Report {
        schema: REPORT_SCHEMA.to_owned(),
        workload: opts.workload.name().to_owned(),
        endpoint: opts.target.endpoint.clone(),
        bucket: bucket.to_owned(),
        prefix: shared.keys.prefix.clone(),
        concurrency: opts.concurrency,
        size: opts.size.to_string(),
        parameters: opts.workload.parameters(),
        started_unix_ms,
        duration_secs: elapsed.as_secs_f64(),
        prepare: prepared,
        operations: finished.operations,
        total: finished.total,
        errors: finished.errors,
        timeline: finished.timeline,
        notes,
    })
}

/// Keeps the progress bar and the time series up to date until `done`.
async fn tick(shared: Arc<Shared>, bar: ProgressBar, done: CancellationToken) {
    let mut interval = tokio::time::interval(PROGRESS_INTERVAL);
    loop {
        tokio::select! {
            _ = done.cancelled() => return,
            _ = interval.tick() => {}
        }
        let elapsed = shared.session.start.elapsed();
        lock(&shared.recorder).close_seconds_before(elapsed);
        let ops = shared.done_ops.load(Ordering::Relaxed);
        let bytes = shared.done_bytes.load(Ordering::Relaxed);
        let errors = shared.failed.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64().max(f64::EPSILON);
        bar.set_position(match shared.limit {
            Limit::Duration(_) => elapsed.as_secs(),
            Limit::Ops(_) => ops + errors,
        });
        bar.set_message(format!(
            "{ops} ops, {:.1} ops/s, {:.2} MiB/s, {errors} errors",
            ops as f64 / secs,
            bytes as f64 / secs / crate::spec::MIB as f64
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(workload: Workload) -> Options {
        Options {
            target: Target {
                endpoint: "http://127.0.0.1:9".into(),
                access_key: "a".into(),
                secret_key: "s".into(),
                region: client::DEFAULT_REGION.into(),
            },
            workload,
            bucket: None,
            keep: false,
            prefix: DEFAULT_PREFIX.into(),
            concurrency: 1,
            limit: Limit::Ops(1),
            size: SizeSpec::Fixed(1),
            verify: false,
            op_timeout: Duration::from_secs(1),
            max_errors: 1,
            progress: false,
            sign_payload: false,
        }
    }

    #[test]
    fn options_are_checked_before_anything_is_sent() {
        assert!(options(Workload::Put).validate().is_ok());
        let mut o = options(Workload::Put);
        o.concurrency = 0;
        assert!(o.validate().is_err());
        let mut o = options(Workload::Put);
        o.limit = Limit::Ops(0);
        assert!(o.validate().is_err());
        let mut o = options(Workload::Put);
        o.size = SizeSpec::Fixed(MAX_OBJECT_SIZE + 1);
        assert!(o.validate().is_err());
        // A multipart upload may exceed one PUT; its parts may not.
        let mut o = options(Workload::Multipart { part_size: 1 });
        o.size = SizeSpec::Fixed(MAX_OBJECT_SIZE + 1);
        assert!(o.validate().is_ok());
        assert!(
            options(Workload::Multipart { part_size: 0 })
                .validate()
                .is_err()
        );
        assert!(options(Workload::Get { objects: 0 }).validate().is_err());
        for page_size in [0, MAX_LIST_PAGE + 1] {
            let list = Workload::List {
                objects: 1,
                page_size,
            };
            assert!(options(list).validate().is_err());
        }
    }

    #[test]
    fn keys_are_numbered_under_the_run_prefix() {
        let keys = KeyNames {
            prefix: "p/0000abcd/".into(),
            next: AtomicU64::new(0),
        };
        let mut rng = SmallRng::seed_from_u64(1);
        let a = keys.new_object(&SizeSpec::Fixed(10), &mut rng);
        let b = keys.new_object(&SizeSpec::Fixed(10), &mut rng);
        assert_eq!(a.key, "p/0000abcd/000000000000");
        assert_eq!(b.key, "p/0000abcd/000000000001");
        assert_eq!(keys.key(1), b.key);
        assert!(a.offset < crate::payload::PAYLOAD_OFFSETS);
    }
}
