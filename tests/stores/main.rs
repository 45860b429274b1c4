//! The store conformance suite, run against every built-in store.

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "memory")]
mod memory {
    use rocket_typed_session::store::MemoryStore;

    crate::conformance_suite!(async { MemoryStore::default() });
}

#[cfg(feature = "redis")]
mod redis {
    use rocket_typed_session::store::{RedisOptions, RedisStore};

    use crate::support::redis::shared_server;

    crate::conformance_suite!(async {
        RedisStore::open(&shared_server().url(), RedisOptions::default()).unwrap()
    });
}

#[cfg(feature = "redis")]
mod redis_cluster {
    use rocket_typed_session::store::{RedisOptions, RedisStore};

    use crate::support::redis::shared_cluster;

    crate::conformance_suite!(async {
        RedisStore::open_cluster(&shared_cluster().urls(), RedisOptions::default()).unwrap()
    });
}
