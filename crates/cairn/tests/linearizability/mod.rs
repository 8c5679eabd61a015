//! A linearizability checker for a single register (Wing & Gong's search,
//! with memoisation of (remaining operations, register value) as in Lowe's
//! refinement). A history is linearizable when some total order of its
//! operations (1) respects real time — an operation that returned before
//! another was invoked comes first — and (2) is a legal register history —
//! every read returns the latest write before it (or the initial value).
//! Operations whose outcome is unknown (the client saw an error) may take
//! effect or not, at any point after their invocation.

use std::collections::HashSet;

/// What an operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Write(u64),
    /// The value read; None = the register (object) did not exist.
    Read(Option<u64>),
}

/// One operation of a history, with its real-time interval in microseconds.
#[derive(Debug, Clone)]
pub struct Event {
    pub op: Op,
    pub invoked: u64,
    /// None when the client never learned the outcome.
    pub returned: Option<u64>,
}

/// Most operations one history may hold (the set of remaining operations is a 256-bit mask).
pub const MAX_EVENTS: usize = 256;

/// Whether `history` is linearizable for a register starting as `initial`.
pub fn check(history: &[Event], initial: Option<u64>) -> bool {
    assert!(
        history.len() <= MAX_EVENTS,
        "history too long for the checker"
    );
    // Failed reads tell nothing; drop them. Unknown writes stay, as optional.
    let events: Vec<&Event> = history
        .iter()
        .filter(|e| !(e.returned.is_none() && matches!(e.op, Op::Read(_))))
        .collect();
    let all: Bits = (0..events.len()).fold(Bits::default(), |b, i| b.with(i));
    let mut seen: HashSet<(Bits, Option<u64>)> = HashSet::new();
    search(&events, all, initial, &mut seen)
}

/// A set of up to 256 operation indices.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug)]
struct Bits([u128; 2]);

impl Bits {
    fn with(mut self, i: usize) -> Self {
        self.0[i / 128] |= 1 << (i % 128);
        self
    }
    fn without(mut self, i: usize) -> Self {
        self.0[i / 128] &= !(1 << (i % 128));
        self
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 128] & (1 << (i % 128)) != 0
    }
    fn is_empty(&self) -> bool {
        self.0 == [0, 0]
    }
}

fn search(
    events: &[&Event],
    remaining: Bits,
    value: Option<u64>,
    seen: &mut HashSet<(Bits, Option<u64>)>,
) -> bool {
    if remaining.is_empty() {
        return true;
    }
    // Only operations whose outcome is unknown left: they may all never have happened.
    if (0..events.len())
        .filter(|&i| remaining.has(i))
        .all(|i| events[i].returned.is_none())
    {
        return true;
    }
    if !seen.insert((remaining, value)) {
        return false;
    }
    // An operation can go next only if no remaining operation returned before it was invoked.
    let earliest_return = (0..events.len())
        .filter(|&i| remaining.has(i))
        .filter_map(|i| events[i].returned)
        .min()
        .unwrap_or(u64::MAX);
    for i in (0..events.len()).filter(|&i| remaining.has(i)) {
        let e = events[i];
        if e.invoked > earliest_return {
            continue;
        }
        let next = match &e.op {
            Op::Write(v) => Some(*v),
            Op::Read(v) if *v == value => value,
            Op::Read(_) => continue,
        };
        if search(events, remaining.without(i), next, seen) {
            return true;
        }
        // An unknown write may also simply never take effect.
        if e.returned.is_none() && search(events, remaining.without(i), value, seen) {
            return true;
        }
    }
    false
}

pub fn ev(op: Op, invoked: u64, returned: Option<u64>) -> Event {
    Event {
        op,
        invoked,
        returned,
    }
}

/// The checker's own tests: it must accept legal histories and reject broken ones.
pub fn self_test() {
    use Op::*;
    // Sequential: write 1, read 1, write 2, read 2.
    let ok = [
        ev(Write(1), 0, Some(1)),
        ev(Read(Some(1)), 2, Some(3)),
        ev(Write(2), 4, Some(5)),
        ev(Read(Some(2)), 6, Some(7)),
    ];
    assert!(check(&ok, None));
    // Concurrent write and read: the read may see either value.
    let concurrent = [
        ev(Write(1), 0, Some(1)),
        ev(Write(2), 2, Some(10)),
        ev(Read(Some(1)), 3, Some(4)),
    ];
    assert!(check(&concurrent, None));
    // Broken: a stale read after a newer write completed.
    let stale = [
        ev(Write(1), 0, Some(1)),
        ev(Write(2), 2, Some(3)),
        ev(Read(Some(1)), 4, Some(5)),
    ];
    assert!(!check(&stale, None));
    // Broken: a read sees a value written only after the read returned.
    let future = [ev(Read(Some(7)), 0, Some(1)), ev(Write(7), 2, Some(3))];
    assert!(!check(&future, None));
    // Broken: reads disagree on order (1 then 2 then 1 again, no write of 1 in between).
    let flip = [
        ev(Write(1), 0, Some(1)),
        ev(Write(2), 0, Some(10)),
        ev(Read(Some(2)), 2, Some(3)),
        ev(Read(Some(1)), 4, Some(5)),
    ];
    assert!(!check(&flip, None));
    // A write with unknown outcome may have happened...
    let maybe = [
        ev(Write(1), 0, Some(1)),
        ev(Write(2), 2, None),
        ev(Read(Some(2)), 5, Some(6)),
    ];
    assert!(check(&maybe, None));
    // ...or not.
    let maybe_not = [
        ev(Write(1), 0, Some(1)),
        ev(Write(2), 2, None),
        ev(Read(Some(1)), 5, Some(6)),
    ];
    assert!(check(&maybe_not, None));
    // Reading the initial (missing) value before any write.
    assert!(check(
        &[ev(Read(None), 0, Some(1)), ev(Write(3), 2, Some(3))],
        None
    ));
    assert!(!check(
        &[ev(Write(3), 0, Some(1)), ev(Read(None), 2, Some(3))],
        None
    ));
}
