//! What a soak run counted, shared by every simulated user.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Tally {
    inner: Mutex<Counts>,
}

#[derive(Default, Clone)]
pub struct Counts {
    pub requests: u64,
    pub ok: u64,
    pub unavailable: u64,
    /// Anything but 200 or 503, and transport errors, with a few examples.
    pub unexpected: u64,
    pub examples: Vec<String>,
    /// An acknowledged tab value or login that a later read or the final check did not find.
    pub lost_writes: u64,
    /// An acknowledged tab value found replaced by an older one of the same tab whose write
    /// was answered 503: that write reached a master that stalled and ran it late, after the
    /// newer one. Reported, not asserted (RELIABILITY.md, "What is not guaranteed").
    pub overtaken: u64,
    /// A session ended by a logout or login that read back with data afterwards.
    pub resurrected: u64,
    /// Values no request wrote, or a session that never read back, with a few examples.
    pub inconsistent: u64,
    /// Logins and logouts answered 503 (whether they happened is unknown, so the user starts
    /// over without checking that session), and the other tab's writes that raced a login or
    /// logout (applied before it, or refused after it).
    pub uncertain: u64,
    /// Acknowledged writes, logins and logouts.
    pub acknowledged: u64,
    pub max_latency: Duration,
    /// Latencies of the 200s: how many fell in each 100 µs step (the last one is "1 s or
    /// more"), so that a long run does not grow the checker's memory.
    pub ok_latencies: Vec<u64>,
    /// The slowest request's path and status.
    pub slowest: String,
    /// When each 503 arrived.
    pub unavailable_at: Vec<Instant>,
}

/// Latency steps of 100 µs up to one second.
const STEPS: usize = 10_000;

impl Counts {
    /// The `p` quantile (0 to 1) of the 200s' latencies, in milliseconds, to 0.1 ms.
    pub fn ok_latency_ms(&self, p: f64) -> f64 {
        let rank = (self.ok as f64 * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        let step = self.ok_latencies.iter().position(|n| {
            seen += n;
            seen >= rank
        });
        step.map_or(0.0, |step| (step + 1) as f64 / 10.0)
    }
}

impl Tally {
    pub fn request(&self, status: Option<u16>, sent: Instant, detail: impl Fn() -> String) {
        let now = Instant::now();
        let mut counts = self.lock();
        counts.requests += 1;
        if now - sent > counts.max_latency {
            counts.max_latency = now - sent;
            counts.slowest = detail().lines().next().unwrap_or_default().to_owned();
        }
        match status {
            Some(200) => {
                counts.ok += 1;
                let step = ((now - sent).as_micros() / 100).min(STEPS as u128 - 1) as usize;
                counts.ok_latencies.resize(STEPS, 0);
                counts.ok_latencies[step] += 1;
            }
            Some(503) => {
                counts.unavailable += 1;
                counts.unavailable_at.push(now);
            }
            _ => {
                counts.unexpected += 1;
                if counts.examples.len() < 5 {
                    counts.examples.push(detail());
                }
            }
        }
    }

    /// Counts an acknowledged write overwritten by an older one that ran late.
    pub fn overtaken(&self, detail: String) {
        let mut counts = self.lock();
        counts.overtaken += 1;
        if counts.examples.len() < 10 {
            counts.examples.push(format!("overtaken: {detail}"));
        }
    }

    /// Counts `writes` acknowledged writes as lost, keeping `detail` as an example.
    pub fn lost(&self, writes: u64, detail: String) {
        if writes == 0 {
            return;
        }
        let mut counts = self.lock();
        counts.lost_writes += writes;
        if counts.examples.len() < 10 {
            counts.examples.push(format!("lost: {detail}"));
        }
    }

    pub fn inconsistent(&self, detail: String) {
        let mut counts = self.lock();
        counts.inconsistent += 1;
        if counts.examples.len() < 10 {
            counts.examples.push(detail);
        }
    }

    pub fn resurrected(&self) {
        self.lock().resurrected += 1;
    }

    pub fn uncertain(&self) {
        self.lock().uncertain += 1;
    }

    pub fn acknowledged(&self) {
        self.lock().acknowledged += 1;
    }

    pub fn snapshot(&self) -> Counts {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
