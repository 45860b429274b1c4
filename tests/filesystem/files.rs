use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rocket_typed_session::store::{Changes, FilesystemStore, Record, SessionStore};

use crate::session_files;
use crate::support::conformance::{fields_of, record};

const TTL: Duration = Duration::from_secs(60);

fn store() -> (FilesystemStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (FilesystemStore::open(dir.path(), 500).unwrap(), dir)
}

#[rocket::async_test]
async fn session_files_are_private_and_the_directory_too() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("sessions");
    let store = FilesystemStore::open(&dir, 500).unwrap();
    store.create("s:1", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    let file = &session_files(&dir)[0];
    assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
}

#[rocket::async_test]
async fn a_truncated_file_reads_as_absent_and_is_removed() {
    let (store, dir) = store();
    store.create("s:1", &record(&[("a.x", b"12345678")]), TTL).await.unwrap();
    let file = session_files(dir.path()).remove(0);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 5]).unwrap();
    assert_eq!(fields_of(&store, "s:1").await, None);
    assert!(!file.exists());
}

#[rocket::async_test]
async fn a_garbage_file_reads_as_absent_and_spares_other_sessions() {
    let (store, dir) = store();
    store.create("s:1", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    store.create("s:2", &record(&[("a.x", b"2")]), TTL).await.unwrap();
    let files = session_files(dir.path());
    let original: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    std::fs::write(&files[0], b"\x00garbage\xff").unwrap();
    let loads = [fields_of(&store, "s:1").await, fields_of(&store, "s:2").await];
    assert_eq!(loads.iter().filter(|l| l.is_none()).count(), 1, "exactly the garbage one is gone");
    assert_eq!(session_files(dir.path()), vec![files[1].clone()]);
    assert_eq!(std::fs::read(&files[1]).unwrap(), original[1]);
}

#[rocket::async_test]
async fn concurrent_writers_to_one_session_keep_every_field() {
    let (store, _dir) = store();
    store.create("s:1", &record(&[("a.start", b"0")]), TTL).await.unwrap();
    let writers = (0..16).map(|i| {
        let store = store.clone();
        rocket::tokio::spawn(async move {
            let set: Record = [(format!("a.f{i}"), vec![i as u8])].into();
            store.update("s:1", &Changes { set, remove: vec![] }, TTL).await.unwrap()
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        assert!(writer.await.unwrap());
    }
    let loaded = fields_of(&store, "s:1").await.unwrap();
    assert_eq!(loaded.len(), 17, "{:?}", loaded.keys());
}

#[rocket::async_test]
async fn no_file_name_contains_the_key() {
    let (store, dir) = store();
    store.create("session:abcdef", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    let name = session_files(dir.path())[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(!name.contains("abcdef") && !name.contains("session"), "{name}");
}

#[rocket::async_test]
async fn an_interrupted_write_leaves_the_old_session_intact() {
    let (store, dir) = store();
    store.create("s:1", &record(&[("a.x", b"old")]), TTL).await.unwrap();
    // A crash after writing the temporary file and before the rename leaves this behind.
    std::fs::write(dir.path().join(".tmp-crashed"), b"half a record").unwrap();
    assert_eq!(fields_of(&store, "s:1").await, Some(record(&[("a.x", b"old")])));
    assert!(store.update("s:1", &Changes::default(), TTL).await.unwrap());
}
