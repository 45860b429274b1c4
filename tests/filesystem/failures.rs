use std::path::Path;
use std::time::{Duration, Instant};

use rocket_typed_session::store::{Changes, Error, FilesystemStore, SessionStore};

use crate::support::conformance::{fields_of, record};
use crate::support::tmpfs::Mount;
use crate::StalledFile;

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

/// A logout the directory refuses must not look done: the session would live on.
#[rocket::async_test]
async fn a_delete_in_a_read_only_directory_is_unavailable_and_the_session_stays() {
    let Some(mount) = Mount::tmpfs("1m") else { return };
    let store = FilesystemStore::open(mount.path(), 500).unwrap();
    store.create("s:1", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    mount.remount("ro");
    let deleted = store.delete("s:1").await;
    assert!(matches!(deleted, Err(Error::Unavailable { .. })), "{deleted:?}");
    assert_eq!(fields_of(&store, "s:1").await, Some(record(&[("a.x", b"1")])));
    mount.remount("rw");
}

/// Two processes on one directory (two stores, each with its own locks): of two creates of
/// one key racing, one wins and the other is told the key is taken, never an error.
#[test]
fn racing_creates_from_two_stores_on_one_directory_make_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let racers: Vec<FilesystemStore> =
        (0..2).map(|_| FilesystemStore::open(dir.path(), 100_000).unwrap()).collect();
    let outcomes = std::thread::scope(|scope| {
        let each = racers.iter().map(|store| {
            scope.spawn(move || {
                let runtime = rocket::tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .unwrap();
                let fields = record(&[("a.x", b"1")]);
                runtime.block_on(async {
                    let mut outcomes = Vec::new();
                    for i in 0..100 {
                        let created = store.create(&format!("race:{i}"), &fields, TTL).await;
                        outcomes.push(created.map_err(|error| error.to_string()));
                    }
                    outcomes
                })
            })
        });
        each.collect::<Vec<_>>().into_iter().map(|racer| racer.join().unwrap()).collect::<Vec<_>>()
    });
    for (key, pair) in outcomes[0].iter().zip(&outcomes[1]).enumerate() {
        assert!(matches!(pair, (Ok(true), Ok(false)) | (Ok(false), Ok(true))), "{key}: {pair:?}");
    }
}

/// A create whose hard link fails for want of room (tmpfs counts each link against its
/// inodes, so with one inode left the temporary file takes it and the link finds none) is
/// a failure, a 503, and not "the id is taken".
#[rocket::async_test]
async fn a_create_whose_link_fails_is_unavailable_not_taken() {
    let Some(mount) = Mount::tmpfs("1m,nr_inodes=32") else { return };
    let store = FilesystemStore::open(mount.path(), 500).unwrap();
    let fillers: Vec<_> = (0..)
        .map(|i| mount.path().join(format!("filler-{i}")))
        .take_while(|path| std::fs::File::create(path).is_ok())
        .collect();
    std::fs::remove_file(fillers.last().unwrap()).unwrap();
    let created = store.create("s:1", &record(&[("a.x", b"1")]), TTL).await;
    assert!(matches!(created, Err(Error::Unavailable { .. })), "{created:?}");
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

const LIMIT: Duration = Duration::from_millis(300);

/// A store with the time limit `limit` and one session, `s:1`, whose file then stalls
/// until `answer_after`.
async fn stalled_store(
    dir: &Path,
    limit: Duration,
    answer_after: Duration,
) -> (FilesystemStore, StalledFile) {
    let store = FilesystemStore::open(dir, 500).unwrap().with_timeout(limit);
    store.create("s:1", &record(&[("a.x", b"1")]), TTL).await.unwrap();
    (store, StalledFile::in_dir(dir, answer_after))
}

fn set_to_2() -> Changes {
    Changes { set: record(&[("a.x", b"2")]), remove: vec![] }
}

#[rocket::async_test]
async fn a_disk_that_stalls_is_unavailable_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _stalled) = stalled_store(dir.path(), LIMIT, LIMIT * 10).await;
    let started = Instant::now();
    let loaded = store.load("s:1", Some(TTL)).await;
    let took = started.elapsed();
    assert!(matches!(loaded, Err(Error::Unavailable { .. })), "{loaded:?}");
    assert!(took < LIMIT * 5, "took {took:?}");
}

#[rocket::async_test]
async fn an_update_the_disk_lets_through_after_the_limit_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, stalled) = stalled_store(dir.path(), LIMIT, LIMIT * 2).await;
    let updated = store.update("s:1", &set_to_2(), TTL).await;
    assert!(matches!(updated, Err(Error::Unavailable { .. })), "{updated:?}");
    rocket::tokio::time::sleep(LIMIT * 3).await;
    assert!(stalled.has_answered(), "the disk never let the update through");
    assert!(stalled.is_in_place(), "the update given up on was written");
}

#[rocket::async_test]
async fn an_update_the_disk_lets_through_within_the_limit_writes() {
    let dir = tempfile::tempdir().unwrap();
    // A limit far past the answer, so that a slow machine cannot make the write late.
    let (store, stalled) = stalled_store(dir.path(), LIMIT * 20, LIMIT / 3).await;
    assert!(store.update("s:1", &set_to_2(), TTL).await.unwrap());
    assert!(!stalled.is_in_place());
    assert_eq!(fields_of(&store, "s:1").await, Some(record(&[("a.x", b"2")])));
}

#[rocket::async_test]
async fn a_move_to_a_new_id_the_disk_lets_through_after_the_limit_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, stalled) = stalled_store(dir.path(), LIMIT, LIMIT * 2).await;
    let moved = store.regenerate("s:1", "s:2", &Changes::default(), TTL).await;
    assert!(matches!(moved, Err(Error::Unavailable { .. })), "{moved:?}");
    rocket::tokio::time::sleep(LIMIT * 3).await;
    assert!(stalled.has_answered(), "the disk never let the move through");
    assert!(stalled.is_in_place(), "the old file was removed");
    assert_eq!(fields_of(&store, "s:2").await, None, "the move given up on was made");
}
