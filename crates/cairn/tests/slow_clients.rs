//! Slow, stalled and hostile clients against a cluster of real processes
//! (one voter, one node, 64 KiB chunks, small chunk budgets):
//!
//! - 24 GETs whose clients never read do not stop other clients' PUTs and
//!   GETs (a GET's read-budget permit is released before its chunk waits for
//!   the client);
//! - a GET whose client stops reading is cut off after
//!   `s3.client_write_timeout_secs`;
//! - 2,000 connections that send half a request line are closed within the
//!   header timeout while a normal request is served;
//! - 16 CopyObjects and 16 UploadPartCopies at once all finish (reads and
//!   writes draw on separate budgets, so copies cannot deadlock the pool);
//! - an unsigned form upload (POST object) is refused before its file is
//!   sent;
//! - the S3 port's `/health` answers from a cache, without addresses, even
//!   while meta does not answer; `/metrics` and the detailed health are on
//!   the admin address only.

use cairn_testkit::*;

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const CHUNK: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;
/// Read and write chunk budgets of the gateway under test: far below the
/// number of slow clients.
const BUDGET: usize = 8;
/// Receive buffer the stalled readers ask for (the kernel rounds it up).
const STALLED_RCVBUF: u32 = 4096;
/// Upper bound of each test's work once its cluster is up.
const TEST_DEADLINE: Duration = Duration::from_secs(180);
/// Upper bound of the other clients' work while the stalled ones stall.
const OTHERS_DEADLINE: Duration = Duration::from_secs(60);

/// A one-voter, one-node cluster of processes with small chunks and budgets.
fn start(configure: impl Fn(&mut cairn_types::config::Config) + Send + Sync + 'static) -> Cluster {
    Cluster::builder()
        .processes()
        .configure(move |c| {
            c.data_path.chunk_size = CHUNK;
            c.data_path.read_chunk_budget = BUDGET;
            c.data_path.write_chunk_budget = BUDGET;
            c.data_path.get_chunks_in_flight = 2;
            c.data_path.put_chunks_in_flight = 2;
            configure(c);
        })
        .start()
}

/// `HOST:PORT` of an `http://HOST:PORT` endpoint.
fn host_of(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").to_string()
}

/// A presigned GET of `bucket/key`: the path and query to send.
async fn presigned_get(c: &Client, bucket: &str, key: &str) -> String {
    let p = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).expect("presign"))
        .await
        .expect("presign");
    let uri = p.uri().trim_start_matches("http://");
    uri[uri.find('/').expect("a path")..].to_string()
}

/// Opens a connection with a tiny receive buffer, sends `GET target` and
/// reads nothing: the server's writes stall once the socket buffers fill.
async fn stalled_get(host: &str, target: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(STALLED_RCVBUF)
        .expect("receive buffer");
    let mut s = socket
        .connect(host.parse().expect("address"))
        .await
        .expect("connect");
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("send GET");
    s
}

/// Reads `s` until the server closes it (or resets it); the bytes read.
async fn read_to_close(s: &mut TcpStream) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

#[test]
fn stalled_readers_do_not_stop_other_clients() {
    // The write timeout is far away: what keeps the others going must be
    // that stalled GETs hold no budget, not that they are cut off.
    let c = start(|c| c.s3.client_write_timeout_secs = 600);
    let client = c.client();
    let host = host_of(c.endpoint());
    let seed = test_seed();
    block(within(TEST_DEADLINE, "the test", async move {
        client
            .create_bucket()
            .bucket("slow")
            .send()
            .await
            .expect("bucket");
        // Larger than what socket buffers absorb, so each reader stalls.
        let big = pattern(16 * MIB, seed);
        put_bytes(&client, "slow", "big", &big).await;
        let target = presigned_get(&client, "slow", "big").await;
        let mut stalled = Vec::new();
        for _ in 0..24 {
            stalled.push(stalled_get(&host, &target).await);
        }
        // Let them fetch what they can and stall.
        tokio::time::sleep(Duration::from_secs(3)).await;
        within(OTHERS_DEADLINE, "other clients' PUTs and GETs", async {
            for i in 0..8u64 {
                let data = pattern(MIB, seed + 1 + i);
                put_bytes(&client, "slow", &format!("k{i}"), &data).await;
                assert_eq!(get_bytes(&client, "slow", &format!("k{i}")).await, data);
            }
            assert!(
                get_bytes(&client, "slow", "big").await == big,
                "big reads back"
            );
        })
        .await;
        drop(stalled);
    }));
}

#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let c = start(|c| c.s3.client_write_timeout_secs = 2);
    let client = c.client();
    let host = host_of(c.endpoint());
    let seed = test_seed();
    block(within(TEST_DEADLINE, "the test", async move {
        client
            .create_bucket()
            .bucket("cut")
            .send()
            .await
            .expect("bucket");
        let big = pattern(16 * MIB, seed);
        put_bytes(&client, "cut", "big", &big).await;
        let target = presigned_get(&client, "cut", "big").await;
        let mut s = stalled_get(&host, &target).await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let got = within(OTHERS_DEADLINE, "reading the rest", read_to_close(&mut s)).await;
        assert!(
            got < big.len(),
            "the stalled response was cut off ({got} of {} body bytes arrived)",
            big.len()
        );
    }));
}

#[test]
fn half_sent_request_lines_are_closed_within_the_header_timeout() {
    const CONNECTIONS: usize = 2000;
    const HEADER_TIMEOUT_SECS: u64 = 3;
    let c = start(|c| c.s3.header_read_timeout_secs = HEADER_TIMEOUT_SECS);
    let client = c.client();
    let host = host_of(c.endpoint());
    block(within(TEST_DEADLINE, "the test", async move {
        client
            .create_bucket()
            .bucket("hdr")
            .send()
            .await
            .expect("bucket");
        let mut half = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let mut s = TcpStream::connect(host.as_str()).await.expect("connect");
            s.write_all(b"GET /hdr/k HT").await.expect("half a line");
            half.push(s);
        }
        within(OTHERS_DEADLINE, "a normal request meanwhile", async {
            put_bytes(&client, "hdr", "k", b"served").await;
            assert_eq!(get_bytes(&client, "hdr", "k").await, b"served");
        })
        .await;
        // Each is closed by the server: read answers end of stream (or a
        // reset), never waits past the timeout plus scheduling slack.
        let closed = futures::future::join_all(half.iter_mut().map(|s| {
            tokio::time::timeout(
                Duration::from_secs(HEADER_TIMEOUT_SECS + 20),
                read_to_close(s),
            )
        }))
        .await;
        let open = closed.iter().filter(|r| r.is_err()).count();
        assert_eq!(
            open, 0,
            "{open} of {CONNECTIONS} half-sent connections stayed open"
        );
    }));
}

#[test]
fn concurrent_large_copies_finish() {
    const COPIES: usize = 16;
    let c = start(|_| {});
    let client = c.client();
    let seed = test_seed();
    block(within(TEST_DEADLINE, "the test", async move {
        client
            .create_bucket()
            .bucket("copies")
            .send()
            .await
            .expect("bucket");
        let src = pattern(4 * MIB, seed);
        put_bytes(&client, "copies", "src", &src).await;
        let upload = client
            .create_multipart_upload()
            .bucket("copies")
            .key("parts")
            .send()
            .await
            .expect("upload");
        let upload = upload.upload_id().expect("upload id").to_string();
        let objects = (0..COPIES).map(|i| {
            let client = client.clone();
            async move {
                client
                    .copy_object()
                    .bucket("copies")
                    .key(format!("copy{i}"))
                    .copy_source("copies/src")
                    .send()
                    .await
                    .expect("CopyObject");
            }
        });
        let parts = (0..COPIES).map(|i| {
            let (client, upload) = (client.clone(), upload.clone());
            async move {
                client
                    .upload_part_copy()
                    .bucket("copies")
                    .key("parts")
                    .upload_id(upload)
                    .part_number(i as i32 + 1)
                    .copy_source("copies/src")
                    .send()
                    .await
                    .expect("UploadPartCopy");
            }
        });
        within(
            OTHERS_DEADLINE * 2,
            "16 CopyObjects and 16 UploadPartCopies at once",
            futures::future::join(
                futures::future::join_all(objects),
                futures::future::join_all(parts),
            ),
        )
        .await;
        for i in [0, COPIES - 1] {
            assert!(get_bytes(&client, "copies", &format!("copy{i}")).await == src);
        }
    }));
}

#[test]
fn an_unsigned_form_upload_is_refused_before_its_file_is_sent() {
    let c = start(|_| {});
    let client = c.client();
    let host = host_of(c.endpoint());
    block(within(TEST_DEADLINE, "the test", async move {
        client
            .create_bucket()
            .bucket("form")
            .send()
            .await
            .expect("bucket");
        let boundary = "cairnformboundary";
        let fields = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nbig\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        // Announces a 32 MiB file, sends the fields and the file's first
        // KiB, then waits: the answer must come without the rest.
        let declared = fields.len() + 32 * MIB;
        let head = format!(
            "POST /form HTTP/1.1\r\nHost: {host}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: {declared}\r\n\r\n{fields}"
        );
        let mut s = TcpStream::connect(host.as_str()).await.expect("connect");
        s.write_all(head.as_bytes()).await.expect("head");
        s.write_all(&[b'x'; 1024]).await.expect("file start");
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(15), async {
            while !String::from_utf8_lossy(&answer).contains("</Error>") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        let text = String::from_utf8_lossy(&answer).to_string();
        assert!(read.is_ok(), "no answer before the file was sent: {text:?}");
        assert!(text.starts_with("HTTP/1.1 403"), "{text}");
        assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
        let listed = client
            .list_objects_v2()
            .bucket("form")
            .send()
            .await
            .expect("list");
        assert_eq!(listed.key_count(), Some(0), "nothing was stored");
    }));
}

#[test]
fn public_health_is_cached_and_bare_and_metrics_are_on_the_admin_address() {
    let c = start(|_| {});
    let public = format!("{}/health", c.endpoint());
    assert_eq!(http_get_as(&public, None), Some((200, "ok\n".to_string())));
    let metrics = http_get_as(&format!("{}/metrics", c.endpoint()), None);
    assert!(
        metrics
            .as_ref()
            .is_none_or(|(s, body)| *s != 200 && !body.contains("# TYPE")),
        "/metrics is not on the S3 port: {metrics:?}"
    );
    let detailed = http_get_as(&format!("{}/health", c.admin_endpoint()), None);
    assert!(
        detailed
            .as_ref()
            .is_some_and(|(s, b)| *s == 200 && b.starts_with("ok: 1 storage node(s)")),
        "{detailed:?}"
    );
    let admin_metrics = http_get_as(&format!("{}/metrics", c.admin_endpoint()), None);
    assert!(
        admin_metrics.as_ref().is_some_and(|(s, _)| *s == 200),
        "metrics on the admin address: {admin_metrics:?}"
    );
    // Meta paused: the public health answers at once from its cache (no meta
    // read per call), first ok, then unavailable, never with an address.
    c.stop("meta-1");
    let mut answers = Vec::new();
    for _ in 0..15 {
        let got = http_get_as(&public, None);
        assert!(
            got.as_ref()
                .is_some_and(|(_, b)| b == "ok\n" || b == "unavailable\n"),
            "a bare answer without waiting on meta: {got:?}"
        );
        answers.push(got.map(|(s, _)| s).unwrap_or_default());
        std::thread::sleep(Duration::from_secs(1));
    }
    c.cont("meta-1");
    assert_eq!(answers.first(), Some(&200), "{answers:?}");
    assert_eq!(
        answers.last(),
        Some(&503),
        "stale after meta stopped answering: {answers:?}"
    );
    wait_until(Duration::from_secs(30), "public health ok again", || {
        http_get_as(&public, None) == Some((200, "ok\n".to_string()))
    });
}
