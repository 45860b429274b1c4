//! Store failures logged once per burst: an outage must show in the log without flooding it
//! with one line per request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::store::lock::lock;

/// How long after one logged failure further failures are only counted.
const WINDOW: Duration = Duration::from_secs(10);

/// Logs `message` unless a failure answered with the same `status` was logged less than
/// [`WINDOW`] ago; then it is counted and the count reported with the next line. Outages (503)
/// and faults (500) burst apart, so a fault is never hidden behind an outage's lines. Messages
/// never contain a session id.
pub(crate) fn log_failure(status: Status, message: std::fmt::Arguments<'_>) {
    static OUTAGES: Mutex<Burst> = Mutex::new(Burst { last: None, suppressed: 0 });
    static FAULTS: Mutex<Burst> = Mutex::new(Burst { last: None, suppressed: 0 });
    let burst = if status == Status::ServiceUnavailable { &OUTAGES } else { &FAULTS };
    let decision = lock(burst).record(Instant::now());
    match decision {
        Some(0) => log::error!("sessions: {message}"),
        Some(suppressed) => {
            log::error!("sessions: {message} ({suppressed} similar failures not logged)")
        }
        None => {}
    }
}

struct Burst {
    last: Option<Instant>,
    suppressed: u64,
}

impl Burst {
    /// `Some(n)` when this failure is to be logged, `n` being how many were silenced since the
    /// last logged one; `None` to stay silent.
    fn record(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < WINDOW => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_of_a_burst_is_logged_and_the_rest_counted() {
        let start = Instant::now();
        let mut burst = Burst { last: None, suppressed: 0 };
        assert_eq!(burst.record(start), Some(0));
        assert_eq!(burst.record(start + Duration::from_secs(1)), None);
        assert_eq!(burst.record(start + Duration::from_secs(9)), None);
        assert_eq!(burst.record(start + WINDOW), Some(2));
        assert_eq!(burst.record(start + WINDOW + Duration::from_secs(1)), None);
    }
}
