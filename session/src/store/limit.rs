//! What the stores with a time limit share (every built-in store but the memory store): the
//! error of an operation past it, and what is left of it for the save under way.

use std::time::Duration;

use rocket::tokio::time::Instant;

use super::Error;
use crate::save::SAVE_BY;

/// `store` gave no answer within `limit`.
pub(crate) fn timed_out(store: &'static str, limit: Duration) -> Error {
    #[derive(Debug, thiserror::Error)]
    #[error("no answer within {0:?}")]
    struct TimedOut(Duration);
    Error::Unavailable { store, source: Box::new(TimedOut(limit)) }
}

/// `bound`, or less when the save under way has less left of its request's time limit: a
/// store's fence (see `store/fence.rs`) must not let a write land after the request gave up
/// on it, however long the load took.
pub(crate) fn time_left(bound: Duration) -> Duration {
    SAVE_BY.try_with(|by| by.saturating_duration_since(Instant::now()).min(bound)).unwrap_or(bound)
}
