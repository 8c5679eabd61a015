//! Per-node connection backoffs, this gateway's own experience of a node:
//! a node whose connection failed is not tried again for a pause that
//! doubles with every further failure up to a cap; any answer from it clears
//! the backoff. Pure bookkeeping; `node_health` consults it.

use cairn_types::NodeId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-node backoff after failed connections.
#[derive(Debug)]
pub struct Backoffs {
    initial: Duration,
    max: Duration,
    table: Mutex<HashMap<NodeId, Backoff>>,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    until: Instant,
    pause: Duration,
}

impl Backoffs {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `node` is still in its backoff at `now`.
    pub fn backing_off(&self, node: NodeId, now: Instant) -> bool {
        self.table
            .lock()
            .map(|t| t.get(&node).is_some_and(|b| now < b.until))
            .unwrap_or(false)
    }

    /// A connection to `node` failed at `now`: start or lengthen its backoff.
    /// Returns the pause chosen.
    pub fn failed(&self, node: NodeId, now: Instant) -> Duration {
        let Ok(mut t) = self.table.lock() else {
            return Duration::ZERO;
        };
        let pause = match t.get(&node) {
            // A failure of a request that started before the backoff began
            // (or while it runs) does not lengthen it again.
            Some(b) if now < b.until => return b.pause,
            Some(b) => (b.pause * 2).min(self.max),
            None => self.initial.min(self.max),
        };
        t.insert(
            node,
            Backoff {
                until: now + pause,
                pause,
            },
        );
        pause
    }

    /// `node` answered: forget its failures.
    pub fn succeeded(&self, node: NodeId) {
        if let Ok(mut t) = self.table.lock() {
            t.remove(&node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_clears_on_success() {
        let ms = Duration::from_millis;
        let b = Backoffs::new(ms(100), ms(350));
        let t0 = Instant::now();
        assert!(!b.backing_off(7, t0));
        assert_eq!(b.failed(7, t0), ms(100));
        assert!(b.backing_off(7, t0 + ms(99)));
        assert!(!b.backing_off(8, t0 + ms(1)), "other nodes are unaffected");
        // A failure while the backoff runs does not lengthen it.
        assert_eq!(b.failed(7, t0 + ms(50)), ms(100));
        assert!(!b.backing_off(7, t0 + ms(100)));
        assert_eq!(b.failed(7, t0 + ms(100)), ms(200));
        assert_eq!(b.failed(7, t0 + ms(300)), ms(350), "capped");
        assert_eq!(b.failed(7, t0 + ms(700)), ms(350));
        b.succeeded(7);
        assert!(!b.backing_off(7, t0 + ms(701)));
        assert_eq!(
            b.failed(7, t0 + ms(800)),
            ms(100),
            "starts over after a success"
        );
    }
}
