//! A few-second smoke run of `cairn bench` against an in-process cluster:
//! every workload through the library API (zero errors, the report complete,
//! the bucket removed afterwards), a run in an existing bucket that must leave
//! everything else in it alone, and one run plus `compare` through the real
//! `cairn` binary.

use cairn_bench::spec::{KIB, MIB};
use cairn_bench::{Limit, Options, Report, Target, Workload};
use cairn_testkit::{Cluster, cairn_bin, runtime, within};
use std::process::Stdio;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ACCESS_KEY: &str = "CAIRNBENCHSMOKEKEY01";
const SECRET_KEY: &str = "cairn-bench-smoke-secret/0123456789abcdef";
/// Bound of the whole test.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// Bound of one `cairn bench` process.
const BINARY_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound of one request of a bench run.
const OP_TIMEOUT: Duration = Duration::from_secs(30);
const CONCURRENCY: usize = 4;

fn options(target: &Target, workload: Workload, size: &str, limit: Limit) -> Options {
    Options {
        target: target.clone(),
        workload,
        bucket: None,
        keep: false,
        prefix: "smoke/".into(),
        concurrency: CONCURRENCY,
        limit,
        size: size.parse().expect("size"),
        verify: true,
        op_timeout: OP_TIMEOUT,
        max_errors: 1,
        progress: false,
        sign_payload: false,
    }
}

/// The report must be complete and clean: operations done, no error, no note.
fn check_clean(report: &Report, kinds: &[&str]) {
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    assert!(report.notes.is_empty(), "notes: {:?}", report.notes);
    assert!(report.total.ops > 0, "{}", report.summary());
    assert_eq!(report.total.errors, 0);
    assert!(report.duration_secs > 0.0);
    assert!(report.total.ops_per_sec > 0.0);
    assert!(!report.timeline.is_empty());
    assert_eq!(
        report.timeline.iter().map(|s| s.ops).sum::<u64>(),
        report.total.ops
    );
    for kind in kinds {
        let op = report
            .operations
            .get(*kind)
            .unwrap_or_else(|| panic!("no {kind} in {}", report.summary()));
        assert!(op.ops > 0, "{kind}: {}", report.summary());
        let l = op.latency_ms;
        assert!(0.0 < l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99, "{l:?}");
        assert!(l.p99 <= l.p999 && l.p999 <= l.max, "{l:?}");
    }
    let json = serde_json::to_value(report).expect("json");
    for field in [
        "schema",
        "workload",
        "endpoint",
        "bucket",
        "concurrency",
        "size",
        "duration_secs",
        "operations",
        "total",
        "errors",
        "timeline",
    ] {
        assert!(json.get(field).is_some(), "no {field} in {json}");
    }
    for field in ["ops_per_sec", "mib_per_sec", "latency_ms"] {
        assert!(json["total"].get(field).is_some(), "no total.{field}");
    }
    for p in ["p50", "p90", "p99", "p999", "max"] {
        assert!(json["total"]["latency_ms"].get(p).is_some(), "no {p}");
    }
}

async fn bucket_exists(client: &aws_sdk_s3::Client, bucket: &str) -> bool {
    client.head_bucket().bucket(bucket).send().await.is_ok()
}

#[test]
fn bench_runs_every_workload_cleanly_and_cleans_up() {
    let out = tempfile::tempdir().expect("tempdir");
    let server = Cluster::builder().keys(ACCESS_KEY, SECRET_KEY).start();
    let rt = runtime();
    rt.block_on(within(
        TEST_TIMEOUT,
        "the smoke test",
        smoke(server.endpoint(), out.path()),
    ));
    server.shutdown().expect("shutdown");
}

async fn smoke(endpoint: &str, out: &std::path::Path) {
    let target = Target {
        endpoint: endpoint.to_owned(),
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        region: cairn_bench::client::DEFAULT_REGION.into(),
    };
    let client = cairn_bench::client::build(&target, OP_TIMEOUT);

    let runs: Vec<(Options, &[&str])> = vec![
        (
            options(&target, Workload::Put, "64KiB", Limit::Ops(40)),
            &["put"],
        ),
        (
            options(
                &target,
                Workload::Put,
                "1KiB..256KiB:log",
                Limit::Duration(Duration::from_millis(1500)),
            ),
            &["put"],
        ),
        (
            options(
                &target,
                Workload::Get { objects: 8 },
                "100KiB",
                Limit::Ops(40),
            ),
            &["get"],
        ),
        (
            options(
                &target,
                Workload::Mixed {
                    objects: 16,
                    mix: "get=40,put=20,stat=20,delete=20".parse().expect("mix"),
                },
                "1KiB..2MiB",
                Limit::Ops(120),
            ),
            &["get", "put", "stat", "delete"],
        ),
        (
            options(
                &target,
                Workload::List {
                    objects: 30,
                    page_size: 7,
                },
                "0",
                Limit::Ops(20),
            ),
            &["list"],
        ),
        (
            options(
                &target,
                Workload::Multipart { part_size: 5 * MIB },
                "11MiB",
                Limit::Ops(2),
            ),
            &["multipart", "upload-part"],
        ),
    ];
    for (opts, kinds) in runs {
        let workload = opts.workload.clone();
        let report = cairn_bench::run(opts, CancellationToken::new())
            .await
            .unwrap_or_else(|e| panic!("{workload:?}: {e}"));
        check_clean(&report, kinds);
        match workload {
            Workload::List { objects, .. } => {
                // 20 pages of at most 7 among 4 workers: one worker at least
                // made a whole pass of 5 pages, which the run checked saw all
                // 30 objects (a short pass would be a ListCountMismatch error).
                let list = &report.operations["list"];
                assert_eq!(list.ops, 20);
                assert!(
                    (objects..=20 * 7).contains(&list.entries),
                    "{}",
                    report.summary()
                );
                assert!(list.entries_per_sec > 0.0);
            }
            Workload::Multipart { .. } => {
                assert_eq!(report.operations["multipart"].ops, 2);
                assert_eq!(report.operations["upload-part"].ops, 6);
                assert_eq!(report.total.bytes, 22 * MIB);
            }
            Workload::Get { .. } => {
                assert_eq!(report.operations["get"].bytes, 40 * 100 * KIB);
                assert!(report.prepare.as_ref().is_some_and(|p| p.objects == 8));
            }
            _ => {}
        }
        assert!(
            !bucket_exists(&client, &report.bucket).await,
            "bucket {} left behind",
            report.bucket
        );
    }

    // In an existing bucket, a run deletes what it wrote and nothing else.
    let bucket = "bench-existing";
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create");
    let foreign = "smoke/not-from-the-bench";
    client
        .put_object()
        .bucket(bucket)
        .key(foreign)
        .body(b"keep me".to_vec().into())
        .send()
        .await
        .expect("put foreign");
    let mut opts = options(&target, Workload::Put, "4KiB", Limit::Ops(10));
    opts.bucket = Some(bucket.into());
    let report = cairn_bench::run(opts, CancellationToken::new())
        .await
        .expect("run in existing bucket");
    check_clean(&report, &["put"]);
    let listing = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = listing.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec![foreign]);
    assert!(bucket_exists(&client, bucket).await);

    binary_run(&target, out).await;
}

/// `cairn bench put` through the binary with --json and --svg, then `compare`.
async fn binary_run(target: &Target, out: &std::path::Path) {
    let json = out.join("put.json");
    let svg = out.join("put.svg");
    let run = cairn(&[
        "bench",
        "put",
        "--size",
        "32KiB",
        "--ops",
        "30",
        "-c",
        "3",
        "--verify",
        "--json",
        json.to_str().expect("utf-8 path"),
        "--svg",
        svg.to_str().expect("utf-8 path"),
    ])
    .env("S3_ENDPOINT", &target.endpoint)
    .env("AWS_ACCESS_KEY_ID", &target.access_key)
    .env("AWS_SECRET_ACCESS_KEY", &target.secret_key)
    .output();
    let output = tokio::time::timeout(BINARY_TIMEOUT, run)
        .await
        .expect("cairn bench timed out")
        .expect("cairn bench ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cairn bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("errors: none"), "{stdout}");
    assert!(stdout.contains("p99.9 ms"), "{stdout}");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written"))
            .expect("json parses");
    check_clean(&report, &["put"]);
    assert_eq!(report.total.ops, 30);
    assert_eq!(report.total.bytes, 30 * 32 * KIB);
    let plot = std::fs::read_to_string(&svg).expect("svg written");
    assert!(
        plot.contains("<svg") && plot.contains("<polyline"),
        "{plot}"
    );

    let compared = tokio::time::timeout(
        BINARY_TIMEOUT,
        cairn(&[
            "bench",
            "compare",
            json.to_str().expect("utf-8 path"),
            json.to_str().expect("utf-8 path"),
        ])
        .output(),
    )
    .await
    .expect("compare timed out")
    .expect("compare ran");
    let table = String::from_utf8_lossy(&compared.stdout);
    assert!(compared.status.success(), "{table}");
    assert!(table.contains("1.00x"), "{table}");

    // Without an endpoint the binary refuses before doing anything.
    let refused = cairn(&["bench", "put", "--ops", "1"])
        .env_remove("S3_ENDPOINT")
        .env_remove("CAIRN_ENDPOINT")
        .output()
        .await
        .expect("cairn ran");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no S3 endpoint"));
}

/// The `cairn` binary with `args`; killed if the test drops it (timeout, panic).
fn cairn(args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(cairn_bin());
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}
