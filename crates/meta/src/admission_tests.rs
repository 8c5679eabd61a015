//! Unit tests of what the proposing voter decides by its clock: stamps,
//! horizon proposals (skew bound, capped at the voter's clock minus the
//! grace), resets no later than its clock, refused commands.

use super::*;
use cairn_rpc::WriteId;

const NOW: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;

fn voter() -> Admission {
    Admission {
        now_ms: NOW,
        max_node_clock_skew_ms: 30_000,
    }
}

fn proposal(node_clock_ms: u64, grace_ms: u64) -> MetaCommand {
    MetaCommand::ProposeGcHorizon {
        node: 3,
        node_clock_ms,
        grace_ms,
        horizon_ms: u64::MAX,
    }
}

fn granted(cmd: Result<MetaCommand, MetaError>) -> u64 {
    match cmd {
        Ok(MetaCommand::ProposeGcHorizon { horizon_ms, .. }) => horizon_ms,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_node_clock_ahead_never_moves_the_horizon_past_the_voter_clock() {
    // Within the bound: the earlier clock minus the grace, whatever the
    // node claimed as horizon.
    assert_eq!(
        granted(voter().admit(proposal(NOW + 20_000, HOUR))),
        NOW - HOUR
    );
    assert_eq!(
        granted(voter().admit(proposal(NOW - 20_000, HOUR))),
        NOW - 20_000 - HOUR
    );
    // An hour ahead: refused as a proposer, saying why.
    let refused = voter().admit(proposal(NOW + HOUR, HOUR));
    assert!(
        matches!(&refused, Err(MetaError::InvalidRequest(m)) if m.contains("3600000 ms off")),
        "{refused:?}"
    );
    assert!(
        voter().admit(proposal(NOW - HOUR, HOUR)).is_err(),
        "behind too"
    );
    // A grace below the least allowed would refuse PUTs in flight.
    assert!(voter().admit(proposal(NOW, 1)).is_err());
}

#[test]
fn writes_are_stamped_with_the_voter_clock_inside_and_out() {
    let id = WriteId::new_random();
    let wrapped = MetaCommand::Idempotent {
        id,
        stamped_ms: 7,
        command: Box::new(proposal(NOW, HOUR)),
    };
    let Ok(MetaCommand::Idempotent {
        id: kept,
        stamped_ms,
        command,
    }) = voter().admit(wrapped)
    else {
        panic!("not admitted");
    };
    assert_eq!((kept, stamped_ms), (id, NOW));
    assert_eq!(granted(Ok(*command)), NOW - HOUR);
}

#[test]
fn resets_batches_and_the_old_horizon_command_are_checked() {
    assert!(
        voter()
            .admit(MetaCommand::ResetGcHorizon {
                horizon_ms: NOW + 1
            })
            .is_err()
    );
    assert_eq!(
        voter().admit(MetaCommand::ResetGcHorizon { horizon_ms: NOW }),
        Ok(MetaCommand::ResetGcHorizon { horizon_ms: NOW })
    );
    assert!(
        voter()
            .admit(MetaCommand::AdvanceGcHorizon { horizon_ms: 1 })
            .is_err()
    );
    assert!(voter().admit(MetaCommand::Batch(vec![])).is_err());
    let nested = MetaCommand::Idempotent {
        id: WriteId::new_random(),
        stamped_ms: 0,
        command: Box::new(MetaCommand::Batch(vec![])),
    };
    assert!(voter().admit(nested).is_err());
    assert_eq!(
        voter().admit(MetaCommand::PauseGc),
        Ok(MetaCommand::PauseGc)
    );
}
