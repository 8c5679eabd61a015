//! The layout and per-bucket redundancy through the operator's commands, on
//! `cairn server` (the real `cairn admin` binary against the server's
//! `DATA_DIR/cluster.toml`): the first start applies a layout of its nodes; a
//! restart with more nodes adds them, with data stored or not (their share
//! moves to them); a layout leaving fewer nodes than a bucket's width is
//! planned as refused and refused; a removed node hands over what it holds
//! and ends `removed`; every object stays readable throughout; `cairn admin
//! bucket create --redundancy` and `bucket info`.

use cairn_testkit::*;

use std::path::Path;

/// Objects written before the changes (large enough not to be inline).
const OBJECTS: usize = 6;
const OBJECT_SIZE: usize = 300 * 1024;

/// An in-process cluster of `nodes` nodes in three zones on `dir`.
fn server(dir: &Path, nodes: usize) -> Cluster {
    Cluster::builder()
        .nodes(nodes)
        .zones(3)
        .data_dir(dir)
        .start()
}

fn layout_json(s: &Cluster) -> serde_json::Value {
    s.admin_json(&["layout", "show", "--json"])
}

/// Waits until `cairn admin rebalance status` says done; its JSON.
fn wait_rebalanced(s: &Cluster) -> serde_json::Value {
    let mut status = serde_json::Value::Null;
    wait_until(std::time::Duration::from_secs(120), "rebalanced", || {
        status = s.admin_json(&["rebalance", "status", "--json"]);
        status["done"] == true
    });
    status
}

/// Every object reads back.
fn read_back(s: &Cluster, rt: &tokio::runtime::Runtime) {
    let client = s.client();
    for i in 0..OBJECTS {
        let bytes = rt.block_on(get_bytes(&client, "ecb", &format!("o-{i}")));
        assert!(bytes == pattern(OBJECT_SIZE, i as u64), "o-{i}");
    }
}

#[test]
fn layouts_change_with_data_stored_and_refuse_too_few_nodes() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    // First start: the server's three nodes make layout epoch 1.
    let s = server(dir.path(), 3);
    let layout = layout_json(&s);
    assert_eq!(layout["current"]["epoch"], 1, "{layout}");
    assert_eq!(layout["current"]["nodes"].as_array().map(Vec::len), Some(3));
    let show = s.admin_ok(&["layout", "show"]);
    assert!(
        show.starts_with("layout epoch 1: 4096 partitions, 3 node(s)"),
        "{show}"
    );
    let (ok, text) = s.admin_text(&["layout", "plan"]);
    assert!(!ok && text.contains("no changes are staged"), "{text}");
    s.shutdown().expect("shutdown");

    // No data yet: a fourth node joins the layout at the next start.
    let s = server(dir.path(), 4);
    let layout = layout_json(&s);
    assert_eq!(layout["current"]["epoch"], 2, "{layout}");
    assert_eq!(layout["current"]["nodes"].as_array().map(Vec::len), Some(4));

    // Buckets with a chosen redundancy, through the admin command.
    s.admin_ok(&["bucket", "create", "ecb", "--redundancy", "ec=2+1"]);
    let (ok, text) = s.admin_text(&["bucket", "create", "wide", "--redundancy", "ec=4+2"]);
    assert!(!ok && text.contains("needs 6 storage nodes"), "{text}");
    let (ok, text) = s.admin_text(&["bucket", "create", "odd", "--redundancy", "ec=two"]);
    assert!(
        !ok && text.contains("expected replicas=N or ec=K+M"),
        "{text}"
    );
    let (ok, text) = s.admin_text(&["bucket", "create", "ecb"]);
    assert!(!ok && text.contains("already exists"), "{text}");
    let client = s.client();
    for i in 0..OBJECTS {
        let body = pattern(OBJECT_SIZE, i as u64);
        rt.block_on(put_bytes(&client, "ecb", &format!("o-{i}"), &body));
    }
    let info = s.admin_ok(&["bucket", "info", "ecb"]);
    assert!(
        info.contains("redundancy:  ec=2+1 (3 node(s) per chunk, write quorum 3)"),
        "{info}"
    );
    assert!(
        info.contains(&format!("objects:     {OBJECTS}\n")),
        "{info}"
    );
    let json = s.admin_json(&["bucket", "info", "ecb", "--json"]);
    assert_eq!(json["bytes"], (OBJECTS * OBJECT_SIZE) as u64);
    assert_eq!(json["redundancy"], "ec=2+1");
    s.shutdown().expect("shutdown");

    // With data stored, the server puts a fifth node in the layout at its
    // next start too; its share of the data moves to it.
    let s = server(dir.path(), 5);
    let layout = layout_json(&s);
    assert_eq!(layout["current"]["epoch"], 3, "{layout}");
    assert_eq!(layout["current"]["nodes"].as_array().map(Vec::len), Some(5));
    wait_rebalanced(&s);
    read_back(&s, &rt);

    // Leaving fewer nodes than the bucket's width is refused, planned first.
    for id in ["1", "2", "3"] {
        s.admin_ok(&["node", "remove", id]);
    }
    let plan = s.admin_json(&["layout", "plan", "--json"]);
    assert_eq!(plan["refused"], true, "{plan}");
    let text = s.admin_ok(&["layout", "plan"]);
    assert!(text.contains("apply` will refuse"), "{text}");
    let (ok, text) = s.admin_text(&["layout", "apply"]);
    assert!(!ok && text.contains("stores chunks on 3 nodes"), "{text}");
    assert_eq!(layout_json(&s)["current"]["epoch"], 3, "nothing changed");
    s.admin_ok(&["layout", "revert"]);

    // One node removed: it hands over all it holds, and only it.
    s.admin_ok(&["node", "remove", "1"]);
    let plan = s.admin_json(&["layout", "plan", "--json"]);
    assert_eq!(plan["refused"], false, "{plan}");
    let to_move = plan["bytes_to_move"].as_u64().expect("bytes");
    let one = plan["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == 1))
        .expect("node 1 in the plan");
    assert!(to_move > 0, "{plan}");
    assert_eq!(one["bytes_out"], to_move, "{plan}");
    assert_eq!(one["bytes_out"], one["bytes_held"], "{plan}");
    let text = s.admin_ok(&["layout", "apply"]);
    assert!(text.contains("layout epoch 4 applied"), "{text}");
    let status = wait_rebalanced(&s);
    assert_eq!(status["moved_bytes"], to_move, "{status}");
    wait_until(
        std::time::Duration::from_secs(60),
        "node 1 is removed",
        || {
            let nodes = s.admin_ok(&["node", "list"]);
            nodes
                .lines()
                .any(|l| l.starts_with("1 ") && l.trim_end().ends_with(" removed"))
        },
    );
    read_back(&s, &rt);
    let show = s.admin_ok(&["layout", "show"]);
    assert!(show.contains("no staged changes"), "{show}");
    s.shutdown().expect("shutdown");
}
