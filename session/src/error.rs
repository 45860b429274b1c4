//! [`Error`]: why a session guard failed or a session could not be saved.

use rocket::http::Status;

use crate::{codec, store};

/// Why a session could not be loaded or saved. None of the messages contain a session id.
///
/// A failing [`Session`](struct@crate::Session) guard answers with [`Error::status`]: 503 while the
/// store is unavailable, 500 otherwise. Take `Result<Session<T>, &Error>` to handle it yourself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A route used a session guard but [`SessionFairing`](crate::SessionFairing) is not
    /// attached. Launch normally refuses such an app (the guards are Sentinels).
    #[error("SessionFairing is not attached: add `.attach(SessionFairing::new())` to the Rocket")]
    NotAttached,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A session value could not be encoded in the configured format.
    #[error("a session value cannot be encoded: {0}")]
    Encode(#[from] codec::Error),
    /// Loading and saving the session together took longer than the store's per-request
    /// time limit ([`SessionStore::request_time_limit`](crate::store::SessionStore::request_time_limit),
    /// `session_redis_timeout` on Redis). Answered with 503.
    #[error("the session's store work took longer than its limit of {0:?}")]
    OutOfTime(std::time::Duration),
    /// Every freshly drawn id was already taken in the store, which only a broken store or
    /// random source can cause.
    #[error("no unused session id was found after {0} attempts")]
    NoFreeId(usize),
}

impl Error {
    /// The status a request gets for this error: 503 when retrying later may succeed.
    pub fn status(&self) -> Status {
        match self {
            Error::Store(error) if error.is_unavailable() => Status::ServiceUnavailable,
            Error::OutOfTime(_) => Status::ServiceUnavailable,
            _ => Status::InternalServerError,
        }
    }
}
