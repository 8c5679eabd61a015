//! What the public `/health` answers from: the outcome of the gateway's last
//! check of meta (does its leader answer the node list?), kept so that a
//! flood of `/health` requests costs at most one meta call per
//! `HEALTH_REFRESH_AFTER`, never one each, and never waits on a meta that
//! does not answer. Pure bookkeeping; `health` runs the checks.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A check is started at most this often, and only one at a time.
pub const HEALTH_REFRESH_AFTER: Duration = Duration::from_secs(1);
/// The gateway is reported unavailable once its last successful check is
/// older than this (meta unreachable, or its checks hanging).
pub const HEALTH_STALE_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct HealthCache {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_ok: Option<Instant>,
    last_started: Option<Instant>,
    running: bool,
}

impl HealthCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a check should start at `now`; if so it is marked running
    /// (the caller must call `finish`).
    pub fn begin(&self, now: Instant) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        let due = s
            .last_started
            .is_none_or(|t| now.saturating_duration_since(t) >= HEALTH_REFRESH_AFTER);
        if s.running || !due {
            return false;
        }
        s.running = true;
        s.last_started = Some(now);
        true
    }

    /// A check ended at `now`; `ok` when meta answered.
    pub fn finish(&self, now: Instant, ok: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.running = false;
            if ok {
                s.last_ok = Some(now);
            }
        }
    }

    /// Whether a check succeeded within `HEALTH_STALE_AFTER` of `now`.
    pub fn healthy(&self, now: Instant) -> bool {
        self.state.lock().is_ok_and(|s| {
            s.last_ok
                .is_some_and(|t| now.saturating_duration_since(t) < HEALTH_STALE_AFTER)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_check_at_a_time_at_most_once_a_period_and_answers_go_stale() {
        let c = HealthCache::new();
        let t0 = Instant::now();
        assert!(!c.healthy(t0), "unknown before the first check");
        assert!(c.begin(t0));
        assert!(
            !c.begin(t0 + HEALTH_REFRESH_AFTER * 2),
            "one check at a time"
        );
        c.finish(t0, true);
        assert!(c.healthy(t0));
        assert!(!c.begin(t0), "not again within the refresh period");
        let t1 = t0 + HEALTH_REFRESH_AFTER;
        assert!(c.begin(t1));
        c.finish(t1, false);
        assert!(
            c.healthy(t1),
            "a failed check leaves the last success standing"
        );
        assert!(!c.healthy(t0 + HEALTH_STALE_AFTER), "until it is too old");
    }
}
