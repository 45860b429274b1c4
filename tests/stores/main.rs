//! The store conformance suite, run against the memory and Redis stores, and against a
//! store defined here the way a user would define one. The filesystem and SQL stores run it
//! in their own suites (`tests/filesystem`, `tests/sql`), beside their other tests.

#[path = "../support/mod.rs"]
mod support;

mod custom;

#[cfg(feature = "memory")]
mod memory {
    use rocket_typed_session::store::MemoryStore;

    rocket_typed_session::conformance_suite!(async { MemoryStore::default() });
}

#[cfg(feature = "redis")]
mod redis {
    use rocket_typed_session::store::{RedisOptions, RedisStore};

    use crate::support::redis::shared_server;

    rocket_typed_session::conformance_suite!(async {
        RedisStore::open(&shared_server().url(), RedisOptions::default()).unwrap()
    });
}

#[cfg(feature = "redis")]
mod redis_cluster {
    use rocket_typed_session::store::{RedisOptions, RedisStore};

    use crate::support::redis::shared_cluster;

    rocket_typed_session::conformance_suite!(async {
        RedisStore::open_cluster(&shared_cluster().urls(), RedisOptions::default()).unwrap()
    });
}

#[cfg(feature = "redis")]
mod redis_sentinel {
    use rocket_typed_session::store::{RedisOptions, RedisStore};

    use crate::support::redis::{shared_sentinel, SENTINEL_MASTER};

    rocket_typed_session::conformance_suite!(async {
        let urls = shared_sentinel().urls();
        RedisStore::open_sentinel(&urls, SENTINEL_MASTER, RedisOptions::default()).unwrap()
    });
}
