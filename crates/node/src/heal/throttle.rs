//! A byte-rate limiter shared by the tasks of one node (the scrub, or the
//! mover's moves): each caller reserves the time its bytes take at the
//! current rate and sleeps until its reservation starts. Idle time builds
//! up at most `BURST` of credit. The rate can change while it runs
//! (`cairn admin repair throttle`); 0 means unlimited.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Credit an idle limiter keeps, at most.
pub const BURST: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Throttle {
    rate: AtomicU64,
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl Throttle {
    pub fn new(bytes_per_sec: u64) -> Self {
        Self {
            rate: AtomicU64::new(bytes_per_sec),
            next: tokio::sync::Mutex::new(None),
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate.load(Ordering::Relaxed)
    }

    pub fn set_rate(&self, bytes_per_sec: u64) {
        self.rate.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// How long a caller taking `bytes` now waits; reserves the time.
    async fn reserve(&self, bytes: u64, now: Instant) -> Duration {
        let rate = self.rate();
        if rate == 0 || bytes == 0 {
            return Duration::ZERO;
        }
        let mut next = self.next.lock().await;
        let earliest = now.checked_sub(BURST).unwrap_or(now);
        let start = next.map_or(earliest, |n| n.max(earliest));
        *next = Some(start + Duration::from_secs_f64(bytes as f64 / rate as f64));
        // Waits until the reservation's end is within the burst of now.
        next.map_or(Duration::ZERO, |n| {
            n.saturating_duration_since(now).saturating_sub(BURST)
        })
    }

    /// Waits until `bytes` may be moved at the rate.
    pub async fn take(&self, bytes: u64) {
        let wait = self.reserve(bytes, Instant::now()).await;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_space_bytes_at_the_rate() {
        let t = Throttle::new(1000);
        let now = Instant::now();
        // The first second is the burst; after it each 1000 bytes waits 1 s more.
        assert_eq!(t.reserve(1000, now).await, Duration::ZERO);
        assert_eq!(t.reserve(1000, now).await, Duration::ZERO);
        let w = t.reserve(1000, now).await;
        assert!(
            w >= Duration::from_millis(990) && w <= Duration::from_millis(1010),
            "{w:?}"
        );
        let w = t.reserve(2000, now).await;
        assert!(
            w >= Duration::from_millis(2990) && w <= Duration::from_millis(3010),
            "{w:?}"
        );
    }

    #[tokio::test]
    async fn zero_is_unlimited_and_the_rate_changes_live() {
        let t = Throttle::new(0);
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(t.reserve(1 << 30, now).await, Duration::ZERO);
        }
        t.set_rate(1);
        assert_eq!(t.rate(), 1);
        let _ = t.reserve(10, now).await;
        assert!(t.reserve(10, now).await >= Duration::from_secs(9));
    }
}
