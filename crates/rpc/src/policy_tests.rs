use super::*;
use crate::meta_api::NodeRecord;
use crate::write_id::WriteId;

fn register() -> MetaCommand {
    MetaCommand::RegisterNode(NodeRecord {
        id: 1,
        addr: "127.0.0.1:1".into(),
        zone: "z".into(),
        capacity: 1,
        registered: 0,
    })
}

fn delete_object() -> MetaCommand {
    MetaCommand::DeleteObject {
        bucket: "b".into(),
        key: "k".into(),
        if_match: None,
    }
}

#[test]
fn nodes_cannot_touch_objects_and_gateways_cannot_run_the_cluster() {
    use PeerRole::*;
    let obj = delete_object();
    assert!(may_write(Gateway, &obj));
    assert!(
        !may_write(Node, &obj),
        "a node must not write object metadata"
    );
    assert!(may_write(Node, &register()));
    assert!(!may_write(Gateway, &register()));
    for cmd in [
        MetaCommand::PauseGc,
        MetaCommand::ResetGcHorizon { horizon_ms: 0 },
        MetaCommand::AdvanceGcHorizon { horizon_ms: 0 },
    ] {
        assert!(
            !may_write(Gateway, &cmd) && !may_write(Node, &cmd),
            "{cmd:?}"
        );
        assert!(may_write(Admin, &cmd) && may_write(Meta, &cmd));
    }
    // A wrapper is judged by what it wraps.
    let wrapped = |c: MetaCommand| MetaCommand::Idempotent {
        id: WriteId::new_random(),
        stamped_ms: 0,
        command: Box::new(c),
    };
    assert!(!may_write(Node, &wrapped(delete_object())));
    assert!(may_write(Gateway, &wrapped(delete_object())));
    assert!(!may_write(
        Gateway,
        &MetaCommand::Batch(vec![delete_object(), register()])
    ));
    assert_eq!(command_name(&wrapped(register())), "RegisterNode");
    assert_eq!(command_name(&MetaCommand::PauseGc), "PauseGc");
}

#[test]
fn only_signature_checkers_and_admins_read_secrets() {
    let q = MetaQuery::ListAccessKeys;
    assert!(!may_read(PeerRole::Node, &q));
    assert!(may_read(PeerRole::Gateway, &q));
    assert!(may_read(PeerRole::Admin, &q));
    assert!(may_read(PeerRole::Node, &MetaQuery::ListBuckets));
}
