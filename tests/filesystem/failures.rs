use std::path::Path;
use std::time::Duration;

use rocket_typed_session::store::{Changes, Error, FilesystemStore, SessionStore};

use crate::support::conformance::{fields_of, record};
use crate::support::tmpfs::Mount;

const TTL: Duration = Duration::from_secs(60);

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[rocket::async_test]
async fn a_read_only_directory_fails_writes_as_unavailable_and_still_reads() {
    let Some(mount) = Mount::tmpfs("1m") else { return };
    let store = FilesystemStore::open(mount.path(), 500).unwrap();
    store.create("s:1", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    mount.remount("ro");
    let update = Changes { set: record(&[("a.x", b"2")]), remove: vec![] };
    let error = store.update("s:1", &update, TTL).await.unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
    assert!(matches!(
        store.create("s:2", &record(&[("a.x", b"1")]), TTL).await,
        Err(Error::Unavailable { .. })
    ));
    assert_eq!(fields_of(&store, "s:1").await, Some(record(&[("a.x", b"1")])));
    mount.remount("rw");
}

#[rocket::async_test]
async fn a_full_disk_fails_writes_as_unavailable_and_keeps_the_old_record() {
    let Some(mount) = Mount::tmpfs("64k") else { return };
    let store = FilesystemStore::open(mount.path(), 500).unwrap();
    store.create("s:1", &record(&[("a.x", b"small")]), TTL).await.unwrap();
    let huge = vec![7u8; 200 * 1024];
    let update = Changes { set: [("a.x".to_owned(), huge)].into(), remove: vec![] };
    let error = store.update("s:1", &update, TTL).await.unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
    assert_eq!(fields_of(&store, "s:1").await, Some(record(&[("a.x", b"small")])));
    assert_eq!(files_in(&mount.path()), 1, "the failed temporary file was removed");
}

#[test]
fn a_directory_that_cannot_be_created_is_an_error() {
    let parent = tempfile::NamedTempFile::new().unwrap();
    assert!(FilesystemStore::open(parent.path().join("sessions"), 500).is_err());
}
