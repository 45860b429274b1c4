//! The store conformance suite on the filesystem store.

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
