//! The time sessions are judged by, replaceable in tests.

use std::time::SystemTime;

/// A source of the current time, for the absolute session timeout.
///
/// The default is the system clock; tests of timeouts inject their own with
/// [`SessionFairing::with_clock`](crate::SessionFairing::with_clock) instead of sleeping.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, SystemTime};
/// use rocket_typed_session::clock::Clock;
///
/// /// A clock a test moves by hand.
/// struct ManualClock(Mutex<SystemTime>);
///
/// impl Clock for ManualClock {
///     fn now(&self) -> SystemTime {
///         *self.0.lock().unwrap()
///     }
/// }
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
