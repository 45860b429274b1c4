//! The store conformance suite, run against every built-in store.

#[path = "../support/mod.rs"]
mod support;

mod memory {
    use rocket_typed_session::store::MemoryStore;

    crate::conformance_suite!(async { MemoryStore::default() });
}
