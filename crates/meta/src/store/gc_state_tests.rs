//! Unit tests of the horizon's generation and pause, through whole commands:
//! proposals move the horizon forward only and not while paused; a reset
//! needs a pause, may move it back, and each step bumps the generation; the
//! state travels with snapshots.

use super::*;
use crate::test_support::{open, run};
use cairn_rpc::{MetaCommand, MetaResponse};

fn propose(db: &MetaDb, horizon_ms: u64) -> GcHorizonState {
    let cmd = MetaCommand::ProposeGcHorizon {
        node: 1,
        node_clock_ms: horizon_ms + 5_000,
        grace_ms: 5_000,
        horizon_ms,
    };
    match run(db, &cmd) {
        Ok(MetaResponse::GcState(st)) => st,
        other => panic!("unexpected answer {other:?}"),
    }
}

#[test]
fn proposals_move_forward_and_a_reset_needs_a_pause() {
    let (_dir, db) = open();
    assert_eq!(state(&db).expect("state"), GcHorizonState::default());
    assert_eq!(propose(&db, 100).horizon_ms, 100);
    assert_eq!(propose(&db, 50).horizon_ms, 100, "never backwards");
    // A horizon set far ahead (as a node with a fast clock did, before the
    // leader checked proposals).
    assert_eq!(propose(&db, 9_000_000).horizon_ms, 9_000_000);
    assert_eq!(
        run(&db, &MetaCommand::ResetGcHorizon { horizon_ms: 200 }),
        Err(MetaError::InvalidRequest(
            "garbage collection must be paused (PauseGc) before the horizon is reset".into()
        ))
    );
    let paused = run(&db, &MetaCommand::PauseGc);
    assert_eq!(
        paused,
        Ok(MetaResponse::GcState(GcHorizonState {
            horizon_ms: 9_000_000,
            generation: 1,
            paused: true
        }))
    );
    // While paused, proposals change nothing and hear so.
    assert_eq!(
        propose(&db, 9_500_000),
        GcHorizonState {
            horizon_ms: 9_000_000,
            generation: 1,
            paused: true
        }
    );
    let reset = run(&db, &MetaCommand::ResetGcHorizon { horizon_ms: 200 });
    let after = GcHorizonState {
        horizon_ms: 200,
        generation: 2,
        paused: false,
    };
    assert_eq!(reset, Ok(MetaResponse::GcState(after)));
    assert_eq!(state(&db).expect("state"), after);
    assert_eq!(horizon(&db).expect("horizon"), 200, "PUTs decide by it");
    assert_eq!(propose(&db, 300).horizon_ms, 300);
}

#[tokio::test]
async fn snapshots_carry_generation_and_pause() {
    use crate::raft::state_machine::StateMachine;
    use openraft::storage::RaftStateMachine;
    use openraft::{RaftSnapshotBuilder, SnapshotMeta};
    let (_dir, db) = open();
    propose(&db, 100);
    run(&db, &MetaCommand::PauseGc).expect("pause");
    let mut source = StateMachine::new(db.clone());
    let snap = source
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("build");
    let (_dir2, target) = open();
    let mut sm = StateMachine::new(target.clone());
    let meta: SnapshotMeta<u64, openraft::BasicNode> = snap.meta.clone();
    sm.install_snapshot(&meta, snap.snapshot)
        .await
        .expect("install");
    assert_eq!(
        state(&target).expect("state"),
        GcHorizonState {
            horizon_ms: 100,
            generation: 1,
            paused: true
        }
    );
}
