//! The layout and per-bucket redundancy through the operator's commands, on
//! `cairn server` (the real `cairn admin` binary against the server's
//! `DATA_DIR/cluster.toml`): the first start applies a layout of its nodes; a
//! restart with more nodes adds them while no data is stored; once data is
//! stored, a layout change that would move partitions is planned (with the
//! bytes it would move) but refused, and every object stays readable;
//! `cairn admin bucket create --redundancy` and `bucket info`.

use cairn_testkit::*;

use std::path::Path;

/// Objects written before the refused change (large enough not to be inline).
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

#[test]
fn layouts_are_applied_planned_and_refused_once_data_is_stored() {
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

    // With data stored, a fifth node is staged but not applied.
    let s = server(dir.path(), 5);
    let layout = layout_json(&s);
    assert_eq!(layout["current"]["epoch"], 2, "{layout}");
    assert!(layout["staging"]["changes"]["5"].is_object(), "{layout}");
    let nodes = s.admin_ok(&["node", "list"]);
    assert!(nodes.contains("pending+assign"), "{nodes}");
    let plan = s.admin_json(&["layout", "plan", "--json"]);
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
    let text = s.admin_ok(&["layout", "plan"]);
    assert!(text.contains("apply` will refuse"), "{text}");
    let (ok, text) = s.admin_text(&["layout", "apply"]);
    assert!(!ok && text.contains("holds object data"), "{text}");
    assert_eq!(layout_json(&s)["current"]["epoch"], 2);

    // Every object is still where its manifest says, and reads back.
    let client = s.client();
    for i in 0..OBJECTS {
        let bytes = rt.block_on(get_bytes(&client, "ecb", &format!("o-{i}")));
        assert!(bytes == pattern(OBJECT_SIZE, i as u64), "o-{i}");
    }

    // A node without capacity owns no partitions: that change applies.
    s.admin_ok(&["node", "assign", "5", "--capacity", "0"]);
    let text = s.admin_ok(&["layout", "apply"]);
    assert!(text.contains("layout epoch 3 applied"), "{text}");
    // Removing a node that holds shards would move them: refused.
    s.admin_ok(&["node", "remove", "1"]);
    let (ok, text) = s.admin_text(&["layout", "apply"]);
    assert!(!ok && text.contains("refused"), "{text}");
    s.admin_ok(&["layout", "revert"]);
    let show = s.admin_ok(&["layout", "show"]);
    assert!(show.contains("no staged changes"), "{show}");
    s.shutdown().expect("shutdown");
}
