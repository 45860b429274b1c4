//! How a Redis failure becomes a [`store::Error`](crate::store::Error): what may pass with
//! time is unavailable (a 503), a reply of the wrong shape a decode error, the rest a backend
//! failure.

use deadpool_redis::redis::{ErrorKind, ParsingError, RedisError, ServerErrorKind};

use super::round_trip::Wait;
use crate::store::fence::too_late;
use crate::store::Error;

pub(super) const STORE: &str = "redis";

/// A write reached fewer replicas than `session_redis_wait_replicas` asks for in time.
#[derive(Debug, thiserror::Error)]
#[error(
    "the write reached {acknowledged} of {} replicas within {:?}",
    wait.replicas,
    wait.within
)]
pub(super) struct NotReplicated {
    pub(super) acknowledged: u32,
    pub(super) wait: Wait,
}

/// A save script's reply, or an error when it came past its deadline (-1).
pub(super) fn in_time(reply: i64) -> Result<i64, Error> {
    if reply == -1 {
        return Err(too_late(STORE));
    }
    Ok(reply)
}

/// A failure with what to set so that it stops.
#[derive(Debug, thiserror::Error)]
#[error("{error}; {hint}")]
struct Hinted {
    error: RedisError,
    hint: &'static str,
}

pub(super) fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Unavailable { store: STORE, source: Box::new(source) }
}

pub(super) fn pool_error(error: deadpool_redis::PoolError) -> Error {
    match error {
        deadpool_redis::PoolError::Backend(error) => classify(error),
        other => unavailable(other),
    }
}

/// A master demoted by a failover: it refuses writes.
pub(super) fn is_read_only(error: &RedisError) -> bool {
    error.code() == Some("READONLY") || error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

pub(super) fn is_broken_connection(error: &RedisError) -> bool {
    error.is_connection_dropped() || error.is_io_error() || error.is_unrecoverable_error()
}

/// A reply of another shape than the command sends back.
pub(super) fn unexpected_reply(error: ParsingError) -> Error {
    Error::Decode { store: STORE, message: error.to_string() }
}

/// Sorts a Redis error into the store's error kinds.
pub(super) fn classify(error: RedisError) -> Error {
    if let Some(hint) = super::tls::hint(&error) {
        unavailable(Hinted { error, hint })
    } else if is_transient(&error) {
        unavailable(error)
    } else if matches!(error.kind(), ErrorKind::Parse | ErrorKind::UnexpectedReturnType) {
        Error::Decode { store: STORE, message: error.to_string() }
    } else {
        Error::Backend { store: STORE, source: Box::new(error) }
    }
}

fn is_transient(error: &RedisError) -> bool {
    is_lost_connection(error)
        || is_transient_reply(error.kind(), error.code())
        || is_transient_pipeline(error)
}

fn is_lost_connection(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
}

/// A pipeline's error names no code of its own; it failed for a reason that passes with time
/// when each of its commands that failed did. The save pipeline's WAIT, ended by a failover,
/// comes back this way.
fn is_transient_pipeline(error: &RedisError) -> bool {
    error.clone().into_server_errors().is_some_and(|failures| {
        !failures.is_empty()
            && failures.iter().all(|(_, failure)| {
                let kind = failure.kind().map_or(ErrorKind::Extension, ErrorKind::Server);
                is_transient_reply(kind, Some(failure.code()))
            })
    })
}

fn is_transient_reply(kind: ErrorKind, code: Option<&str>) -> bool {
    // UNBLOCKED ends a WAIT whose master a failover made a replica: whether the write
    // survives is for the next request to find out.
    let transient_code = matches!(
        code,
        Some(
            "OOM"
                | "LOADING"
                | "READONLY"
                | "UNBLOCKED"
                | "MASTERDOWN"
                | "BUSY"
                | "NOAUTH"
                | "WRONGPASS"
                | "MISCONF"
        )
    );
    transient_code
        || matches!(
            kind,
            ErrorKind::AuthenticationFailed
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                )
        )
}

#[cfg(test)]
mod tests {
    use deadpool_redis::redis::Value;

    use super::*;

    /// The error a server sends as `reply`, as the client hands it over.
    fn server_error(reply: &str) -> RedisError {
        let value = deadpool_redis::redis::parse_redis_value(reply.as_bytes()).unwrap();
        value.extract_error().expect_err("an error reply")
    }

    #[test]
    fn a_wait_ended_by_a_failover_is_unavailable() {
        let error = server_error(
            "-UNBLOCKED force unblock from blocking operation, instance state changed \
             (master -> replica?)\r\n",
        );
        assert!(classify(error).is_unavailable());
    }

    /// A connection that answers every pipeline with `replies`, one reply per command.
    struct Answering(Vec<&'static str>);

    impl deadpool_redis::redis::ConnectionLike for Answering {
        fn req_packed_command(&mut self, _: &[u8]) -> deadpool_redis::redis::RedisResult<Value> {
            unreachable!("the tests send pipelines")
        }

        fn req_packed_commands(
            &mut self,
            _: &[u8],
            _: usize,
            _: usize,
        ) -> deadpool_redis::redis::RedisResult<Vec<Value>> {
            Ok(self.0.iter().map(|reply| reply_value(reply)).collect())
        }

        fn get_db(&self) -> i64 {
            0
        }

        fn check_connection(&mut self) -> bool {
            true
        }

        fn is_open(&self) -> bool {
            true
        }
    }

    fn reply_value(reply: &str) -> Value {
        deadpool_redis::redis::parse_redis_value(reply.as_bytes()).unwrap()
    }

    /// The error a two-command pipeline comes back with when the server answers `replies`.
    fn pipeline_error(replies: [&'static str; 2]) -> RedisError {
        let mut pipeline = deadpool_redis::redis::pipe();
        pipeline.cmd("EVALSHA").cmd("WAIT");
        pipeline.query::<Vec<Value>>(&mut Answering(replies.into())).expect_err("a failed command")
    }

    const UNBLOCKED: &str =
        "-UNBLOCKED force unblock from blocking operation, instance state changed\r\n";

    #[test]
    fn a_save_pipeline_whose_wait_a_failover_ended_is_unavailable() {
        let error = pipeline_error([":1\r\n", UNBLOCKED]);
        assert!(classify(error).is_unavailable());
    }

    #[test]
    fn a_pipeline_refused_while_its_slot_migrates_is_unavailable() {
        let error =
            pipeline_error([":1\r\n", "-TRYAGAIN Multiple keys request during rehashing\r\n"]);
        assert!(classify(error).is_unavailable());
    }

    #[test]
    fn a_pipeline_with_a_refused_command_is_a_backend_failure() {
        let error = pipeline_error(["-ERR Error running script\r\n", UNBLOCKED]);
        assert!(matches!(classify(error), Error::Backend { .. }));
    }

    #[test]
    fn a_refused_command_is_a_backend_failure() {
        let error = server_error("-ERR unknown command 'NOPE'\r\n");
        assert!(matches!(classify(error), Error::Backend { .. }));
    }
}
