//! The deadline a save carries, in the store server's own clock, past which the server
//! refuses to write it: a save the app gave up on (the server stalled, the network held it,
//! the reply was late) may still reach the server afterwards, and must not then replace a
//! newer write of the same field. Updates and regenerations on Redis, PostgreSQL and MySQL
//! carry one; it ends where the request's time limit does (`limit::time_left`). SQLite's
//! one-statement update and the filesystem store's writes carry their own, in this
//! machine's clocks.
//!
//! The server's clock is learned from the reads, with or without rolling expiry, which
//! return the server's time when asked, at most about once a second (`TIME` in Redis's read
//! scripts, `clock_timestamp()` in PostgreSQL's, `SYSDATE(3)` in MySQL's): the offset from
//! this process's monotonic clock is the largest seen. Each observation is taken after the
//! reply arrived, so it is never above the true offset: deadlines err early, by about a
//! round trip, when the app is about to give up anyway. A server clock set back leaves the
//! largest offset in place, which only makes the fence later, never refuses a write in
//! time; one stepped forward by more than the timeout makes saves answer 503 until the next
//! sample, within about a second. This process's wall clock plays no part. Until a first
//! read has sampled the clock, saves carry no deadline.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use super::limit::time_left;
use super::Error;

/// The offset of the servers' clock (Unix milliseconds) from `base`, once one is known.
pub(crate) struct ServerClock {
    base: Instant,
    offset: AtomicI64,
    /// When, in milliseconds from `base`, a read last asked for a sample.
    asked_ms: AtomicI64,
}

/// How often reads sample the servers' clock: offsets drift slowly.
const SAMPLE_EVERY_MS: i64 = 1000;

/// No observation yet: saves carry no deadline.
const UNKNOWN: i64 = i64::MIN;

impl ServerClock {
    pub(crate) fn new() -> ServerClock {
        ServerClock {
            base: Instant::now(),
            offset: AtomicI64::new(UNKNOWN),
            asked_ms: AtomicI64::new(-SAMPLE_EVERY_MS),
        }
    }

    /// Whether this read should bring back the server's time: the first one, then one
    /// about every [`SAMPLE_EVERY_MS`].
    pub(crate) fn wants_sample(&self) -> bool {
        let now = self.elapsed_ms();
        let asked = self.asked_ms.load(Ordering::Relaxed);
        now - asked >= SAMPLE_EVERY_MS
            && self
                .asked_ms
                .compare_exchange(asked, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Takes in a server's `TIME`, in Unix milliseconds, read by a reply that just arrived.
    pub(crate) fn observe(&self, server_ms: i64) {
        self.offset.fetch_max(server_ms - self.elapsed_ms(), Ordering::Relaxed);
    }

    /// The servers' time, in Unix milliseconds, `within` from now, or sooner where the save
    /// under way has less left of its request's time limit; 0 (no deadline) until a server's
    /// clock has been seen.
    pub(crate) fn deadline(&self, within: Duration) -> i64 {
        match self.offset.load(Ordering::Relaxed) {
            UNKNOWN => 0,
            offset => {
                let within = time_left(within);
                let within = i64::try_from(within.as_millis()).unwrap_or(i64::MAX);
                offset.saturating_add(self.elapsed_ms()).saturating_add(within)
            }
        }
    }

    fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.base.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

/// A save reached the server after its deadline and wrote nothing.
#[derive(Debug, thiserror::Error)]
#[error("the save reached the server after its deadline and wrote nothing")]
struct TooLate;

/// The error of a save to `store` that its server refused as too late: the store is
/// unavailable for now (a 503), not the session gone.
pub(crate) fn too_late(store: &'static str) -> Error {
    Error::Unavailable { store, source: Box::new(TooLate) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_read_samples_the_clock_and_the_next_within_a_second_does_not() {
        let clock = ServerClock::new();
        assert!(clock.wants_sample());
        assert!(!clock.wants_sample());
    }

    #[test]
    fn no_deadline_before_a_server_clock_is_seen() {
        assert_eq!(ServerClock::new().deadline(Duration::from_secs(1)), 0);
    }

    #[test]
    fn the_deadline_runs_in_the_server_clock_from_the_largest_offset_seen() {
        let clock = ServerClock::new();
        clock.observe(1_000_000);
        clock.observe(999_000);
        let deadline = clock.deadline(Duration::from_millis(500));
        // At least the later server time plus the bound, and no more than the time elapsed
        // since the observation beyond that.
        assert!(deadline >= 1_000_500, "{deadline}");
        assert!(deadline <= 1_000_500 + clock.elapsed_ms() + 1, "{deadline}");
    }
}
