//! The layout and per-bucket redundancy through the operator's commands, on
//! `cairn server` (the real `cairn admin` binary against the server's
//! `DATA_DIR/cluster.toml`): the first start applies a layout of its nodes; a
//! restart with more nodes adds them while no data is stored; once data is
//! stored, a layout change that would move partitions is planned (with the
//! bytes it would move) but refused, and every object stays readable;
//! `cairn admin bucket create --redundancy` and `bucket info`.

mod common;
use common::pattern;
use common::procs::{admin_any, s3_client_for};

use aws_sdk_s3::primitives::ByteStream;
use cairn::server::{RunningServer, ServerOptions, start};
use std::net::SocketAddr;
use std::path::Path;

/// Objects written before the refused change (large enough not to be inline).
const OBJECTS: usize = 6;
const OBJECT_SIZE: usize = 300 * 1024;

async fn server(dir: &Path, nodes: usize) -> RunningServer {
    let mut opts = ServerOptions::new(dir, SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.nodes = nodes;
    opts.zones = 3;
    start(opts).await.expect("start server")
}

/// Runs `cairn admin ARGS` against the server; (success, stdout + stderr).
fn admin(server: &RunningServer, args: &[&str]) -> (bool, String) {
    let out = admin_any(args, &server.cluster_file);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn admin_ok(server: &RunningServer, args: &[&str]) -> String {
    let (ok, text) = admin(server, args);
    assert!(ok, "cairn admin {args:?} failed: {text}");
    text
}

fn layout_json(server: &RunningServer) -> serde_json::Value {
    let text = admin_ok(server, &["layout", "show", "--json"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("layout JSON ({e}): {text}"))
}

#[test]
fn layouts_are_applied_planned_and_refused_once_data_is_stored() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        // First start: the server's three nodes make layout epoch 1.
        let s = server(dir.path(), 3).await;
        let layout = layout_json(&s);
        assert_eq!(layout["current"]["epoch"], 1, "{layout}");
        assert_eq!(layout["current"]["nodes"].as_array().map(Vec::len), Some(3));
        let show = admin_ok(&s, &["layout", "show"]);
        assert!(
            show.starts_with("layout epoch 1: 4096 partitions, 3 node(s)"),
            "{show}"
        );
        let (ok, text) = admin(&s, &["layout", "plan"]);
        assert!(!ok && text.contains("no changes are staged"), "{text}");
        s.shutdown().await.expect("shutdown");

        // No data yet: a fourth node joins the layout at the next start.
        let s = server(dir.path(), 4).await;
        let layout = layout_json(&s);
        assert_eq!(layout["current"]["epoch"], 2, "{layout}");
        assert_eq!(layout["current"]["nodes"].as_array().map(Vec::len), Some(4));

        // Buckets with a chosen redundancy, through the admin command.
        admin_ok(&s, &["bucket", "create", "ecb", "--redundancy", "ec=2+1"]);
        let (ok, text) = admin(&s, &["bucket", "create", "wide", "--redundancy", "ec=4+2"]);
        assert!(!ok && text.contains("needs 6 storage nodes"), "{text}");
        let (ok, text) = admin(&s, &["bucket", "create", "odd", "--redundancy", "ec=two"]);
        assert!(
            !ok && text.contains("expected replicas=N or ec=K+M"),
            "{text}"
        );
        let (ok, text) = admin(&s, &["bucket", "create", "ecb"]);
        assert!(!ok && text.contains("already exists"), "{text}");
        let client = s3_client_for(&s.endpoint(), &s.access_key, &s.secret_key);
        for i in 0..OBJECTS {
            client
                .put_object()
                .bucket("ecb")
                .key(format!("o-{i}"))
                .body(ByteStream::from(pattern(OBJECT_SIZE, i as u64)))
                .send()
                .await
                .unwrap_or_else(|e| panic!("put o-{i}: {e:?}"));
        }
        let info = admin_ok(&s, &["bucket", "info", "ecb"]);
        assert!(
            info.contains("redundancy:  ec=2+1 (3 node(s) per chunk, write quorum 3)"),
            "{info}"
        );
        assert!(
            info.contains(&format!("objects:     {OBJECTS}\n")),
            "{info}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&admin_ok(&s, &["bucket", "info", "ecb", "--json"]))
                .expect("bucket JSON");
        assert_eq!(json["bytes"], (OBJECTS * OBJECT_SIZE) as u64);
        assert_eq!(json["redundancy"], "ec=2+1");
        s.shutdown().await.expect("shutdown");

        // With data stored, a fifth node is staged but not applied.
        let s = server(dir.path(), 5).await;
        let layout = layout_json(&s);
        assert_eq!(layout["current"]["epoch"], 2, "{layout}");
        assert!(layout["staging"]["changes"]["5"].is_object(), "{layout}");
        let nodes = admin_ok(&s, &["node", "list"]);
        assert!(nodes.contains("pending+assign"), "{nodes}");
        let plan: serde_json::Value =
            serde_json::from_str(&admin_ok(&s, &["layout", "plan", "--json"])).expect("plan");
        assert_eq!(plan["epoch_after"], 3);
        assert_eq!(plan["reference_width"], 3);
        assert_eq!(plan["refused"], true, "{plan}");
        let to_move = plan["bytes_to_move"].as_u64().expect("bytes");
        assert!(to_move > 0, "{plan}");
        let five = plan["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["id"] == 5))
            .expect("node 5 in the plan");
        assert_eq!(
            five["bytes_in"], to_move,
            "only the new node receives: {plan}"
        );
        assert!(five["partitions_after"].as_u64() > Some(0), "{plan}");
        let text = admin_ok(&s, &["layout", "plan"]);
        assert!(text.contains("apply` will refuse"), "{text}");
        let (ok, text) = admin(&s, &["layout", "apply"]);
        assert!(!ok && text.contains("holds object data"), "{text}");
        assert_eq!(layout_json(&s)["current"]["epoch"], 2);

        // Every object is still where its manifest says, and reads back.
        let client = s3_client_for(&s.endpoint(), &s.access_key, &s.secret_key);
        for i in 0..OBJECTS {
            let got = client
                .get_object()
                .bucket("ecb")
                .key(format!("o-{i}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("get o-{i}: {e:?}"));
            let bytes = got.body.collect().await.expect("body").into_bytes();
            assert!(
                bytes.as_ref() == pattern(OBJECT_SIZE, i as u64).as_slice(),
                "o-{i}"
            );
        }

        // A node without capacity owns no partitions: that change applies.
        admin_ok(&s, &["node", "assign", "5", "--capacity", "0"]);
        let text = admin_ok(&s, &["layout", "apply"]);
        assert!(text.contains("layout epoch 3 applied"), "{text}");
        // Removing a node that holds shards would move them: refused.
        admin_ok(&s, &["node", "remove", "1"]);
        let (ok, text) = admin(&s, &["layout", "apply"]);
        assert!(!ok && text.contains("refused"), "{text}");
        admin_ok(&s, &["layout", "revert"]);
        let show = admin_ok(&s, &["layout", "show"]);
        assert!(show.contains("no staged changes"), "{show}");
        s.shutdown().await.expect("shutdown");
    });
}
