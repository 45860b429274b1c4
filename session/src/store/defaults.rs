//! The defaults the built-in stores and the `session_*` keys share, each written once.

use std::time::Duration;

/// Bytes of keys and values the memory store holds: 64 MiB (`session_memory_capacity`).
pub(crate) const MEMORY_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// The most one request's store work may take on a networked store (`session_redis_timeout`).
pub(crate) const NETWORK_TIMEOUT: Duration = Duration::from_secs(1);

/// Multiplexed Redis connections requests are spread over (`session_redis_pool_size`).
pub(crate) const REDIS_CONNECTIONS: usize = 4;
