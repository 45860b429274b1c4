use std::time::{Duration, SystemTime};

use rocket_typed_session::store::{FilesystemStore, SessionStore};

use crate::session_files;
use crate::support::conformance::{fields_of, record};

const TTL: Duration = Duration::from_secs(60);

/// Sets a session file's last use `ago` in the past.
fn age(path: &std::path::Path, ago: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - ago).unwrap();
}

#[rocket::async_test]
async fn cleanup_removes_expired_files_and_keeps_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemStore::open(dir.path(), 500).unwrap();
    store.create("s:live", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    store.create("s:dead", &record(&[("a.x", b"2")]), Duration::from_millis(1)).await.unwrap();
    rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    store.cleanup().await.unwrap();
    assert_eq!(session_files(dir.path()).len(), 1);
    assert!(fields_of(&store, "s:live").await.is_some());
}

/// Only names of 64 hex digits are sessions and only names of the store's prefix its
/// temporary files: a file of another name, however old, is not the store's to remove.
#[rocket::async_test]
async fn cleanup_leaves_files_that_are_not_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemStore::open(dir.path(), 500).unwrap();
    let others = ["cafe", &"z".repeat(64)].map(|name| dir.path().join(name));
    for other in &others {
        std::fs::write(other, b"not a session").unwrap();
        age(other, Duration::from_secs(3600));
    }
    store.cleanup().await.unwrap();
    assert!(others.iter().all(|other| other.exists()));
}

#[rocket::async_test]
async fn cleanup_removes_stale_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemStore::open(dir.path(), 500).unwrap();
    let stale = dir.path().join(".tmp-left-by-a-crash");
    std::fs::write(&stale, b"x").unwrap();
    age(&stale, Duration::from_secs(3600));
    store.cleanup().await.unwrap();
    assert!(!stale.exists());
}

#[rocket::async_test]
async fn over_the_threshold_expired_files_go_first_then_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    // Filled without a bound, so no sweep starts before the files are aged.
    let unbounded = FilesystemStore::open(dir.path(), 500).unwrap();
    for key in ["s:old", "s:recent", "s:newest"] {
        unbounded.create(key, &record(&[("a.x", b"1")]), TTL).await.unwrap();
    }
    unbounded
        .create("s:expired", &record(&[("a.x", b"1")]), Duration::from_millis(1))
        .await
        .unwrap();
    let store = FilesystemStore::open(dir.path(), 2).unwrap();
    let by_key = |key: &str| {
        let name = blake3::hash(key.as_bytes()).to_hex().to_string();
        dir.path().join(name)
    };
    age(&by_key("s:old"), Duration::from_secs(30));
    age(&by_key("s:recent"), Duration::from_secs(20));
    age(&by_key("s:newest"), Duration::from_secs(10));
    store.cleanup().await.unwrap();
    assert_eq!(fields_of(&store, "s:expired").await, None);
    assert_eq!(fields_of(&store, "s:old").await, None, "the least recently used goes");
    assert!(fields_of(&store, "s:recent").await.is_some());
    assert!(fields_of(&store, "s:newest").await.is_some());
}

#[rocket::async_test]
async fn a_create_past_the_threshold_triggers_a_background_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemStore::open(dir.path(), 3).unwrap();
    for i in 0..6 {
        store.create(&format!("s:{i}"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while session_files(dir.path()).len() > 3 {
        assert!(std::time::Instant::now() < deadline, "no sweep brought the files down to 3");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
