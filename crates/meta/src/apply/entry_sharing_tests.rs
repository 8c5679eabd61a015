//! Unit tests of the sharing rule: which commands one log entry may carry.

use super::*;
use crate::test_support::{create_bucket_command, put_command};

#[test]
fn shared_entries_are_checked_again_when_applied() {
    assert!(can_share_entry(&[put_command("a"), put_command("b")]));
    assert!(!can_share_entry(&[put_command("a"), put_command("a")]));
    assert!(!can_share_entry(&[
        put_command("a"),
        create_bucket_command()
    ]));
    assert!(!can_share_entry(&[MetaCommand::Batch(vec![put_command(
        "a"
    )])]));
    assert!(!can_share_entry(&[
        put_command("a"),
        MetaCommand::AdvanceGcHorizon { horizon_ms: 1 }
    ]));
}
