//! The shard garbage collector on an in-process cluster (three storage
//! nodes, 64 KiB chunks, a grace of a few seconds, a sweep every second):
//! shards of overwritten and deleted objects, of aborted uploads, re-uploaded
//! parts, parts left out of a complete, uploads dropped with their bucket and
//! PUTs that never committed disappear from disk, while every file of a live
//! object stays and every live object reads back identical. A race test then
//! overwrites a few keys from many clients while sweeps run, reads them all
//! the time, and holds one PUT back longer than the grace: it is refused.

use cairn_testkit::*;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const NODES: usize = 3;
const CHUNK: usize = 64 * 1024;
const GRACE_SECS: u64 = 3;
const INTERVAL_SECS: u64 = 1;
/// Data versions the collector asks meta about at once.
const GC_BATCH: usize = 16;
/// How long the collector may take to remove everything dead.
const COLLECT_DEADLINE: Duration = Duration::from_secs(60);
/// Upper bound of each test.
const TEST_DEADLINE: Duration = Duration::from_secs(240);
const MIB: usize = 1024 * 1024;

/// Three nodes on `dir`, 64 KiB chunks, a short grace, a sweep every second.
/// Buckets keep one replica (the `auto` default would make three): the
/// tests count shard files per chunk.
fn start(dir: &Path) -> Cluster {
    Cluster::builder()
        .nodes(NODES)
        .default_redundancy("replicas=1")
        .data_dir(dir)
        .gc(GRACE_SECS, INTERVAL_SECS)
        .configure(|c| {
            c.data_path.chunk_size = CHUNK;
            c.gc.batch_size = GC_BATCH;
        })
        .start()
}

/// `start`, and a client of it with `bucket` created.
async fn start_with_bucket(dir: &Path, bucket: &str) -> (Cluster, Client) {
    let server = start(dir);
    let c = server.client();
    c.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    (server, c)
}

/// Every shard file of every node of the cluster.
fn shard_files(cluster: &Cluster) -> BTreeSet<PathBuf> {
    (1..=NODES).flat_map(|n| cluster.shard_files(n)).collect()
}

/// Runs `op` and answers the shard files it created.
async fn files_of<F: std::future::Future>(cluster: &Cluster, op: F) -> BTreeSet<PathBuf> {
    let before = shard_files(cluster);
    op.await;
    shard_files(cluster).difference(&before).cloned().collect()
}

async fn upload_part(c: &Client, key: &str, upload: &str, n: i32, body: Vec<u8>) -> CompletedPart {
    let out = c
        .upload_part()
        .bucket("gcb")
        .key(key)
        .upload_id(upload)
        .part_number(n)
        .body(ByteStream::from(body))
        .send()
        .await
        .expect("upload part");
    CompletedPart::builder()
        .part_number(n)
        .set_e_tag(out.e_tag)
        .build()
}

async fn create_upload(c: &Client, bucket: &str, key: &str) -> String {
    c.create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("create upload")
        .upload_id
        .expect("upload id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_removes_dead_shards_and_keeps_live_ones() {
    within(TEST_DEADLINE, "the test", collector_scenario()).await;
}

async fn collector_scenario() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, c) = start_with_bucket(tmp.path(), "gcb").await;
    let mut live: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    let mut live_files = BTreeSet::new();
    let mut dead_files = BTreeSet::new();

    // An object that just stays.
    let keep = pattern(300 * 1024 + 7, 1);
    live_files.extend(files_of(&server, put_bytes(&c, "gcb", "keep", &keep)).await);
    live.insert("keep", keep);
    // An overwritten object: the first version's shards are garbage.
    dead_files.extend(
        files_of(
            &server,
            put_bytes(&c, "gcb", "over", &pattern(200 * 1024, 2)),
        )
        .await,
    );
    let over = pattern(150 * 1024 + 3, 3);
    live_files.extend(files_of(&server, put_bytes(&c, "gcb", "over", &over)).await);
    live.insert("over", over);
    // A deleted object.
    dead_files.extend(
        files_of(
            &server,
            put_bytes(&c, "gcb", "gone", &pattern(100 * 1024, 4)),
        )
        .await,
    );
    c.delete_object()
        .bucket("gcb")
        .key("gone")
        .send()
        .await
        .expect("delete");
    // A PUT that never commits (wrong Content-MD5): its shards were written.
    dead_files.extend(
        files_of(&server, async {
            let refused = c
                .put_object()
                .bucket("gcb")
                .key("never")
                .content_md5("1B2M2Y8AsgTpgAmY7PhCfg==")
                .body(ByteStream::from(pattern(130 * 1024, 5)))
                .send()
                .await;
            assert!(refused.is_err(), "a bad Content-MD5 is refused");
        })
        .await,
    );
    // An inline object (no shards) and a copy (new shards of its own).
    let small = pattern(1000, 6);
    assert!(
        files_of(&server, put_bytes(&c, "gcb", "small", &small))
            .await
            .is_empty()
    );
    live.insert("small", small);
    let copy = files_of(&server, async {
        c.copy_object()
            .bucket("gcb")
            .key("copy")
            .copy_source("gcb/keep")
            .send()
            .await
            .expect("copy");
    })
    .await;
    assert!(!copy.is_empty(), "a copy writes shards of its own");
    live_files.extend(copy);
    live.insert("copy", live["keep"].clone());

    // Multipart: part 1 uploaded twice, parts 2 and 3, complete with 1 and 2.
    let upload = create_upload(&c, "gcb", "mp").await;
    dead_files.extend(
        files_of(&server, async {
            upload_part(&c, "mp", &upload, 1, pattern(5 * MIB, 7)).await;
        })
        .await,
    );
    let part1 = pattern(5 * MIB, 8);
    let part2 = pattern(100 * 1024 + 1, 9);
    let mut completed = Vec::new();
    live_files.extend(
        files_of(&server, async {
            completed.push(upload_part(&c, "mp", &upload, 1, part1.clone()).await);
            completed.push(upload_part(&c, "mp", &upload, 2, part2.clone()).await);
        })
        .await,
    );
    dead_files.extend(
        files_of(&server, async {
            upload_part(&c, "mp", &upload, 3, pattern(70 * 1024, 10)).await;
        })
        .await,
    );
    c.complete_multipart_upload()
        .bucket("gcb")
        .key("mp")
        .upload_id(&upload)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    live.insert("mp", [part1, part2].concat());
    // An aborted upload.
    let upload = create_upload(&c, "gcb", "aborted").await;
    dead_files.extend(
        files_of(&server, async {
            upload_part(&c, "aborted", &upload, 1, pattern(90 * 1024, 11)).await;
        })
        .await,
    );
    c.abort_multipart_upload()
        .bucket("gcb")
        .key("aborted")
        .upload_id(&upload)
        .send()
        .await
        .expect("abort");
    // An upload in progress, dropped with its bucket.
    c.create_bucket()
        .bucket("doomed")
        .send()
        .await
        .expect("bucket");
    let upload = create_upload(&c, "doomed", "k").await;
    dead_files.extend(
        files_of(&server, async {
            let out = c
                .upload_part()
                .bucket("doomed")
                .key("k")
                .upload_id(&upload)
                .part_number(1)
                .body(ByteStream::from(pattern(80 * 1024, 12)))
                .send()
                .await;
            out.expect("upload part");
        })
        .await,
    );
    c.delete_bucket()
        .bucket("doomed")
        .send()
        .await
        .expect("delete bucket with an upload in progress");

    assert!(!dead_files.is_empty() && !live_files.is_empty());
    assert!(dead_files.is_disjoint(&live_files));
    // Wait until the collector removed every dead file; live files never go.
    let started = Instant::now();
    loop {
        let on_disk = shard_files(&server);
        let missing: Vec<_> = live_files.difference(&on_disk).collect();
        assert!(missing.is_empty(), "live shard files removed: {missing:?}");
        let left = dead_files.intersection(&on_disk).count();
        if left == 0 {
            assert_eq!(on_disk, live_files, "only live shards remain");
            break;
        }
        assert!(
            started.elapsed() < COLLECT_DEADLINE,
            "{left} dead shard files still on disk after {COLLECT_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Garbage never comes back into view, and every live object is intact.
    tokio::time::sleep(Duration::from_secs(GRACE_SECS + 2 * INTERVAL_SECS)).await;
    assert_eq!(shard_files(&server), live_files);
    for (key, want) in &live {
        assert!(
            get_bytes(&c, "gcb", key).await == *want,
            "{key} reads back identical"
        );
    }
    let metrics = server.metrics();
    assert!(metrics.contains("cairn_node_gc_shards_deleted_total"));
    assert!(metrics.contains("cairn_node_gc_sweeps_total"));
    server.shutdown().expect("shutdown");
}

/// Bytes of the body written under `seed`: its seed, then a pattern. The
/// length (1 to 3 MiB) follows from the seed, so any body read back names
/// the write it came from and can be checked whole.
fn race_body(seed: u64) -> Vec<u8> {
    let len = MIB + (seed.wrapping_mul(7_919_993) % (2 * MIB as u64)) as usize;
    let mut out = seed.to_be_bytes().to_vec();
    out.extend(pattern(len - 8, seed));
    out
}

/// Checks a body read back: it is exactly some write's body.
fn seed_of(body: &[u8]) -> Option<u64> {
    let seed = u64::from_be_bytes(body.get(..8)?.try_into().ok()?);
    (race_body(seed) == body).then_some(seed)
}

const RACE_KEYS: usize = 3;
const RACE_WRITERS: usize = 4;
const RACE_READERS: usize = 2;
const RACE_RUN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrites_racing_the_collector_never_lose_data() {
    within(TEST_DEADLINE, "the test", race_scenario()).await;
}

async fn race_scenario() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, c) = start_with_bucket(tmp.path(), "race").await;
    let next_seed = Arc::new(AtomicU64::new(1));
    // Seeds attempted per key (a refused PUT may not appear; a committed one may).
    let attempted: Arc<std::sync::Mutex<BTreeMap<usize, BTreeSet<u64>>>> = Default::default();
    let until = Instant::now() + RACE_RUN;

    // A PUT held back longer than the grace before it can commit.
    let slow = tokio::spawn(slow_put(c.clone()));

    let mut writers = Vec::new();
    for w in 0..RACE_WRITERS {
        let (c, next_seed, attempted) = (c.clone(), next_seed.clone(), attempted.clone());
        writers.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0u64, 0u64);
            while Instant::now() < until {
                let seed = next_seed.fetch_add(1, Ordering::Relaxed);
                let key = (seed as usize + w) % RACE_KEYS;
                attempted
                    .lock()
                    .expect("lock")
                    .entry(key)
                    .or_default()
                    .insert(seed);
                let r = c
                    .put_object()
                    .bucket("race")
                    .key(format!("k{key}"))
                    .body(ByteStream::from(race_body(seed)))
                    .send()
                    .await;
                match r {
                    Ok(_) => ok += 1,
                    // The only refusal allowed: a PUT slower than the grace (503).
                    Err(e) if http_status(&e) == Some(503) => refused += 1,
                    Err(e) => panic!("PUT k{key} failed: {e:?}"),
                }
            }
            (ok, refused)
        }));
    }
    let mut readers = Vec::new();
    for r in 0..RACE_READERS {
        let c = c.clone();
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            let mut i = r;
            while Instant::now() < until {
                i += 1;
                let key = format!("k{}", i % RACE_KEYS);
                match c.get_object().bucket("race").key(&key).send().await {
                    Ok(out) => {
                        let body = out
                            .body
                            .collect()
                            .await
                            .unwrap_or_else(|e| panic!("GET {key} broke mid-body: {e:?}"))
                            .into_bytes();
                        assert!(seed_of(&body).is_some(), "GET {key}: a body nobody wrote");
                        reads += 1;
                    }
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {}
                    Err(e) => panic!("GET {key} failed: {e:?}"),
                }
            }
            reads
        }));
    }
    let (mut ok, mut refused, mut reads) = (0, 0, 0);
    for w in writers {
        let (o, r) = w.await.expect("writer");
        ok += o;
        refused += r;
    }
    for r in readers {
        reads += r.await.expect("reader");
    }
    slow.await.expect("slow PUT task");
    assert!(ok > 0 && reads > 0, "the race ran: {ok} PUTs, {reads} GETs");

    // Every key holds one whole body that was written to it.
    let attempted = attempted.lock().expect("lock").clone();
    let mut expected_files = 0;
    for key in 0..RACE_KEYS {
        let body = get_bytes(&c, "race", &format!("k{key}")).await;
        let seed = seed_of(&body).expect("the current object is a whole body");
        assert!(
            attempted[&key].contains(&seed),
            "k{key} holds a body written to it"
        );
        expected_files += body.len().div_ceil(CHUNK);
    }
    // Once the collector caught up, only the current objects' shards remain.
    let started = Instant::now();
    loop {
        let n = shard_files(&server).len();
        if n == expected_files {
            break;
        }
        assert!(
            started.elapsed() < COLLECT_DEADLINE,
            "{n} shard files on disk, {expected_files} expected"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for key in 0..RACE_KEYS {
        let body = get_bytes(&c, "race", &format!("k{key}")).await;
        assert!(
            seed_of(&body).is_some(),
            "k{key} still whole after collection"
        );
    }
    eprintln!("race: {ok} PUTs committed, {refused} refused, {reads} GETs verified");
    server.shutdown().expect("shutdown");
}

/// A presigned PUT whose body stalls after a few chunks for longer than the
/// grace plus a few sweeps: the sweeps see its early shards as old and
/// unreferenced, move the horizon past them, and the commit is refused with
/// 503. The key never appears.
async fn slow_put(c: Client) {
    let presigned = c
        .put_object()
        .bucket("race")
        .key("slow")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(600))
                .expect("presign config"),
        )
        .await
        .expect("presign");
    let body = pattern(1024 * 1024, 99);
    let head = bytes::Bytes::copy_from_slice(&body[..4 * CHUNK]);
    let tail = bytes::Bytes::copy_from_slice(&body[4 * CHUNK..]);
    let stall = Duration::from_secs(GRACE_SECS + 4 * INTERVAL_SECS);
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(head)]).chain(
        futures::stream::once(async move {
            tokio::time::sleep(stall).await;
            Ok(tail)
        }),
    );
    let mut req = reqwest::Client::new()
        .put(presigned.uri())
        .header("content-length", body.len().to_string())
        .body(reqwest::Body::wrap_stream(stream));
    for (name, value) in presigned.headers() {
        req = req.header(name, value);
    }
    let resp = req.send().await.expect("slow PUT answered");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(
        status, 503,
        "a PUT slower than the grace is refused: {text}"
    );
    assert!(text.contains("grace"), "the refusal says why: {text}");
    let gone = c.get_object().bucket("race").key("slow").send().await;
    assert!(
        gone.is_err_and(|e| e.as_service_error().is_some_and(|s| s.is_no_such_key())),
        "a refused PUT leaves no object"
    );
}

/// Deletes every row of one table of a stopped voter's database.
fn clear_table(db: &cairn_meta::MetaDb, name: &'static str) {
    let cf = db.cf(name).expect("table");
    let mut keys = Vec::new();
    let mut it = db.db.raw_iterator_cf(cf);
    it.seek_to_first();
    while it.valid() {
        keys.push(it.key().expect("key").to_vec());
        it.next();
    }
    drop(it);
    for k in keys {
        db.db.delete_cf(cf, k).expect("delete row");
    }
}

fn count_rows(db: &cairn_meta::MetaDb, name: &'static str) -> usize {
    let mut it = db.db.raw_iterator_cf(db.cf(name).expect("table"));
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_without_the_index_keeps_every_object() {
    within(TEST_DEADLINE, "the test", upgrade_scenario()).await;
}

/// A data dir written by a build without the index (simulated by emptying
/// the `data_refs` and `gc` tables of a stopped cluster) is reopened with
/// the collector on: the index is rebuilt before any sweep, so only the
/// garbage goes and every object stays readable.
async fn upgrade_scenario() {
    use cairn_meta::db::{CF_DATA_REFS, CF_GC};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (server, c) = start_with_bucket(dir, "old").await;
    let mut live_files = BTreeSet::new();
    let mut live = Vec::new();
    for i in 0..3u64 {
        let body = pattern(200 * 1024 + i as usize, 20 + i);
        let key = format!("k{i}");
        live_files.extend(files_of(&server, put_bytes(&c, "old", &key, &body)).await);
        live.push(body);
    }
    let dead = files_of(
        &server,
        put_bytes(&c, "old", "over", &pattern(150 * 1024, 30)),
    )
    .await;
    let over = pattern(120 * 1024, 31);
    live_files.extend(files_of(&server, put_bytes(&c, "old", "over", &over)).await);
    server.shutdown().expect("shutdown");

    let meta_dir = dir.join("meta");
    {
        let db = cairn_meta::MetaDb::open(&meta_dir).expect("open the stopped voter's db");
        assert!(count_rows(&db, CF_DATA_REFS) >= 4);
        clear_table(&db, CF_DATA_REFS);
        clear_table(&db, CF_GC);
    }
    let server = start(dir);
    let c = server.client();
    let started = Instant::now();
    loop {
        let on_disk = shard_files(&server);
        let missing: Vec<_> = live_files.difference(&on_disk).collect();
        assert!(missing.is_empty(), "live shard files removed: {missing:?}");
        if dead.is_disjoint(&on_disk) {
            break;
        }
        assert!(
            started.elapsed() < COLLECT_DEADLINE,
            "garbage not collected"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A few more sweeps over the live data change nothing.
    tokio::time::sleep(Duration::from_secs(GRACE_SECS + 2 * INTERVAL_SECS)).await;
    assert_eq!(shard_files(&server), live_files);
    for (i, want) in live.iter().enumerate() {
        assert!(
            get_bytes(&c, "old", &format!("k{i}")).await == *want,
            "k{i} intact"
        );
    }
    assert!(get_bytes(&c, "old", "over").await == over, "over intact");
    server.shutdown().expect("shutdown");
    let db = cairn_meta::MetaDb::open(&meta_dir).expect("reopen");
    assert_eq!(count_rows(&db, CF_DATA_REFS), 4, "the index was rebuilt");
}
