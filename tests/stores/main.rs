//! The store conformance suite, run against every built-in store, and against a store
//! defined here the way a user would define one.

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

#[cfg(feature = "filesystem")]
mod filesystem {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use rocket_typed_session::store::FilesystemStore;

    /// One directory for the whole suite: each case uses keys of its own.
    fn store() -> FilesystemStore {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        let dir = DIR.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap().keep();
            crate::support::exit::remove_at_exit(&dir);
            dir
        });
        FilesystemStore::open(dir, 100_000).unwrap()
    }

    rocket_typed_session::conformance_suite!(async { store() });
}
