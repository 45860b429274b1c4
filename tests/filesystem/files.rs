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

/// Where the crash test's writer works; set only in the child process it runs.
const CRASH_DIR: &str = "ROCKET_TYPED_SESSION_CRASH_TEST_DIR";

/// A value of `len` bytes all equal to `byte`: a torn write would mix two of them.
fn uniform(byte: u8, len: usize) -> Record {
    record(&[("a.x", &vec![byte; len])])
}

/// The size of the crash test's values: several writes' worth of the kernel's buffers.
const CRASH_VALUE: usize = 1 << 20;

/// The child of the crash test: rewrites one session, alternating between two values and
/// starting with the one not stored, until it is killed. Ignored unless the crash test runs
/// it.
#[rocket::async_test]
#[ignore = "run by a_write_killed_midway_leaves_a_whole_session"]
async fn crash_test_writer() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else { return };
    let store = FilesystemStore::open(dir, 500).unwrap();
    let stored = fields_of(&store, "s:1").await.expect("the session to rewrite")["a.x"][0];
    let mut next = if stored == b'a' { b'b' } else { b'a' };
    loop {
        let value = uniform(next, CRASH_VALUE);
        next = if next == b'a' { b'b' } else { b'a' };
        let changes = Changes { set: value, remove: Vec::new() };
        assert!(store.update("s:1", &changes, TTL).await.unwrap());
    }
}

/// The stored byte of the crash test's session.
async fn crash_test_value(store: &FilesystemStore) -> u8 {
    fields_of(store, "s:1").await.expect("the session survives the crash")["a.x"][0]
}

/// Kills a process in the middle of rewriting a session, again and again: every time, the
/// session reads back whole, as the last write or the one before, never torn or lost.
#[rocket::async_test]
async fn a_write_killed_midway_leaves_a_whole_session() {
    let (store, dir) = store();
    store.create("s:1", &uniform(b'a', CRASH_VALUE), TTL).await.unwrap();
    for delay_ms in [0, 30, 60, 90, 120, 150] {
        let before = crash_test_value(&store).await;
        let mut writer = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "files::crash_test_writer", "--test-threads=1"])
            .env(CRASH_DIR, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The kill must land while the writer is writing, however slowly it started on a
        // busy machine: after its first value is in, at a different point each round.
        let started = std::time::Instant::now();
        while crash_test_value(&store).await == before {
            assert!(started.elapsed() < Duration::from_secs(60), "the writer never wrote");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        writer.kill().unwrap();
        writer.wait().unwrap();
        let fields = fields_of(&store, "s:1").await.expect("the session survives the crash");
        let value = &fields["a.x"];
        assert_eq!(value.len(), CRASH_VALUE, "a torn value after {delay_ms} ms");
        assert!(value.iter().all(|byte| *byte == value[0]), "mixed values after {delay_ms} ms");
    }
}

/// Where the sync test's child creates its session.
const SYNC_DIR: &str = "ROCKET_TYPED_SESSION_SYNC_TEST_DIR";

/// The child of the sync test: creates one session. Ignored unless that test runs it.
#[rocket::async_test]
#[ignore = "run by a_created_session_s_directory_is_synced"]
async fn sync_test_creator() {
    let Some(dir) = std::env::var_os(SYNC_DIR) else { return };
    let store = FilesystemStore::open(dir, 500).unwrap();
    store.create("s:1", &record(&[("a.x", b"1")]), TTL).await.unwrap();
}

/// A created session survives a power cut only once its directory entry is on disk, so the
/// store syncs the directory after linking the file in. No test can cut the power; the
/// system calls of a process creating one session (traced with strace) show the sync.
#[test]
fn a_created_session_s_directory_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().canonicalize().unwrap().join("sessions");
    let trace = dir.path().join("trace");
    let status = std::process::Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "files::sync_test_creator", "--test-threads=1"])
        .env(SYNC_DIR, &sessions)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("strace is installed (scripts/test installs it)");
    assert!(status.success());
    assert_eq!(session_files(&sessions).len(), 1, "the child created its session");
    let calls = std::fs::read_to_string(&trace).unwrap();
    let directory = format!("<{}>)", sessions.display());
    let directory_synced =
        calls.lines().any(|call| call.contains("fsync(") && call.contains(&directory));
    assert!(directory_synced, "no fsync of {}: {calls}", sessions.display());
}
