//! Unit tests of the isolation switch.

use super::*;

#[test]
fn switch_only_moves_when_enabled() {
    let off = Isolation::new(false);
    assert!(!off.set(FaultSetting { isolated: true }));
    assert!(!off.is_isolated());
    let on = Isolation::new(true);
    let shared = on.clone();
    assert!(on.set(FaultSetting { isolated: true }));
    assert!(shared.is_isolated(), "clones share the switch");
    assert!(on.set(FaultSetting { isolated: false }));
    assert!(!shared.is_isolated());
}
