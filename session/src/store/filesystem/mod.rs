//! Sessions as files in one directory: crash-safe writes, expiry on read and by sweep, a bound
//! on the number of files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::defaults::NETWORK_TIMEOUT;
use super::digest::prefixed_digest_hex;
use super::limit::{time_left, timed_out};
use super::lock::lock;
use super::{touch_interval, Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore};
use format::{decode, encode, Stored};

mod format;

const STORE: &str = "filesystem";
const LOCK_SHARDS: usize = 64;
const TEMP_PREFIX: &str = ".tmp-";
/// The most sweeps one trigger runs while creates keep the directory over its threshold; the
/// next create past it starts another.
const SWEEP_ROUNDS: usize = 4;
/// A temporary file older than this was left by a crash mid-write.
const STALE_TEMP: Duration = Duration::from_secs(600);

/// Sessions as files in one directory (`session_type = "filesystem"`), for development and
/// small single-server deployments.
///
/// - Each session is one file, mode 0600, named by the BLAKE3 digest of its storage key in hex: no
///   cookie can choose a path, and no file name contains an id.
/// - A write goes to a temporary file in the same directory, is synced, then renamed over the
///   old file: a crash mid-write leaves the old session intact. Writes to one session are
///   serialized within the process; create-if-absent uses a hard link, which fails if the
///   file appeared meanwhile even from another process.
/// - The idle expiry runs from the file's modification time, which a rolling read refreshes
///   without rewriting the file, at most once per [`touch_interval`](super::touch_interval)
///   (a changed lifetime is written into the file). An expired file is deleted when read, and by
///   [`cleanup`](SessionStore::cleanup), which the fairing runs in the background every
///   `session_cleanup_n_requests` requests.
/// - Past `threshold` files, expired files go first, then the least recently used: **live
///   sessions can be evicted**, which keeps the disk bounded as CacheLib's `FileSystemCache`
///   does. Raise `session_filesystem_threshold` if that ends sessions too early.
/// - A truncated or garbage file is treated as absent and removed; I/O failures (disk full,
///   read-only directory) are [`Error::Unavailable`], a 503, and so is a disk that does not
///   answer within the time limit ([`with_timeout`](Self::with_timeout)). An update or a
///   login's move to a new file that the disk lets through after the request gave up on it
///   writes nothing.
///
/// ```no_run
/// use rocket_typed_session::store::FilesystemStore;
/// use rocket_typed_session::SessionFairing;
///
/// let store = FilesystemStore::open("/var/lib/myapp/sessions", 10_000).expect("a writable directory");
/// let fairing = SessionFairing::with_store(store);
/// ```
#[derive(Clone)]
pub struct FilesystemStore {
    dir: Arc<Dir>,
    timeout: Duration,
}

/// The directory and what the process knows of it.
struct Dir {
    root: PathBuf,
    threshold: usize,
    locks: Vec<Mutex<()>>,
    files: AtomicUsize,
    sweeping: AtomicBool,
}

impl FilesystemStore {
    /// Uses `dir`, creating it (mode 0700) if missing, keeping at most `threshold` files.
    ///
    /// # Errors
    /// The directory cannot be created, or a file cannot be written in it.
    pub fn open(dir: impl Into<PathBuf>, threshold: usize) -> io::Result<Self> {
        let dir = dir.into();
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        let probe = write_temp(&dir, b"probe", None)?;
        fs::remove_file(probe)?;
        let files = session_files(&dir)?.count();
        let locks = (0..LOCK_SHARDS).map(|_| Mutex::new(())).collect();
        let shared = Dir {
            root: dir,
            threshold: threshold.max(1),
            locks,
            files: AtomicUsize::new(files),
            sweeping: AtomicBool::new(false),
        };
        Ok(FilesystemStore { dir: Arc::new(shared), timeout: NETWORK_TIMEOUT })
    }

    /// Bounds one request's work on the directory, load and save together, by `timeout`
    /// (`session_store_timeout`; 1 second unless set): past it the request gets a 503
    /// rather than waiting on a disk that stalls, such as a hung network mount.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rocket_typed_session::store::FilesystemStore;
    ///
    /// let store = FilesystemStore::open("/var/lib/myapp/sessions", 10_000)
    ///     .expect("a writable directory")
    ///     .with_timeout(Duration::from_secs(3));
    /// ```
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        FilesystemStore { timeout, ..self }
    }

    /// Runs `op` on a blocking thread (file I/O must not stall the async executor), giving
    /// up on it after the time limit. A thread cannot be stopped: `op` goes on, and its
    /// writes check [`Deadline`] before they write.
    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Dir) -> io::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, self.unbounded(op)).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(STORE, self.timeout)),
        }
    }

    /// Runs `op` on a blocking thread, however long it takes: the background sweep.
    async fn unbounded<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Dir) -> io::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let dir = self.dir.clone();
        match tokio::task::spawn_blocking(move || op(&dir)).await {
            Ok(result) => result.map_err(unavailable),
            Err(join) => Err(Error::Backend { store: STORE, source: Box::new(join) }),
        }
    }

    /// When a write started now must be done: where its request's time limit ends.
    fn deadline(&self) -> Deadline {
        Deadline(Instant::now() + time_left(self.timeout))
    }

    /// Starts a sweep in the background unless one is running.
    fn sweep_in_background(&self) {
        if self.dir.sweeping.swap(true, Ordering::SeqCst) {
            return;
        }
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || loop {
            let swept = dir.sweep_until_within();
            dir.sweeping.store(false, Ordering::SeqCst);
            if let Err(error) = swept {
                log::warn!("sessions: the filesystem sweep failed: {error}");
                break;
            }
            // A create that landed while the flag was still up skipped starting a sweep, and
            // its count may have been overwritten by the sweep's: the directory itself, read
            // after the flag is down, shows it (a later create starts its own sweep).
            let over = session_files(&dir.root).is_ok_and(|files| files.count() > dir.threshold);
            if !over || dir.sweeping.swap(true, Ordering::SeqCst) {
                break;
            }
        });
    }
}

#[async_trait::async_trait]
impl SessionStore for FilesystemStore {
    fn describe(&self) -> String {
        format!("files in {}, at most {}", self.dir.root.display(), self.dir.threshold)
    }

    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let key = key.to_owned();
        self.blocking(move |dir| {
            let path = dir.path(&key);
            let _guard = dir.lock(&path);
            let Some((file, mut stored)) = dir.read(&path)? else { return Ok(None) };
            let expiry_reset = match touch {
                // The lifetime lives in the file: a new one means writing it anew.
                Some(ttl) if ttl != stored.ttl => {
                    stored.ttl = ttl;
                    dir.replace(&path, &stored, None)?;
                    true
                }
                Some(ttl) if touch_due(&file, ttl)? => {
                    file.set_modified(SystemTime::now())?;
                    true
                }
                _ => false,
            };
            Ok(Some(Loaded { record: Arc::new(stored.record), expiry_reset }))
        })
        .await
    }

    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        let keys = keys.to_vec();
        self.blocking(move |dir| {
            let mut found = Vec::with_capacity(keys.len());
            for key in &keys {
                let path = dir.path(key);
                let _guard = dir.lock(&path);
                found.push(match dir.read(&path)? {
                    Some((file, stored)) => {
                        let expiry = file.metadata()?.modified()?.checked_add(stored.ttl);
                        let expires_in =
                            expiry.and_then(|at| at.duration_since(SystemTime::now()).ok());
                        Some(Peeked { record: Arc::new(stored.record), expires_in })
                    }
                    None => None,
                });
            }
            Ok(found)
        })
        .await
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let (key, fields) = (key.to_owned(), fields.clone());
        let created = self
            .blocking(move |dir| {
                let path = dir.path(&key);
                let _guard = dir.lock(&path);
                dir.create(&path, &Stored { ttl, record: fields })
            })
            .await?;
        if created && self.dir.files.load(Ordering::SeqCst) > self.dir.threshold {
            self.sweep_in_background();
        }
        Ok(created)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let (key, changes, deadline) = (key.to_owned(), changes.clone(), self.deadline());
        self.blocking(move |dir| {
            let path = dir.path(&key);
            let _guard = dir.lock(&path);
            let Some((file, mut stored)) = dir.read(&path)? else { return Ok(false) };
            deadline.check()?;
            // Within the touch interval the expiry stays, as on a read: it moves, and a
            // rolling cookie is re-sent, together at a load that is due.
            let last_reset = file.metadata()?.modified()?;
            let kept_expiry =
                (ttl == stored.ttl && !reset_due(last_reset, ttl)).then_some(last_reset);
            changes.apply_to(&mut stored.record);
            stored.ttl = ttl;
            dir.replace(&path, &stored, kept_expiry)?;
            Ok(true)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let key = key.to_owned();
        self.blocking(move |dir| {
            let path = dir.path(&key);
            let _guard = dir.lock(&path);
            // Reading first tells a live session from an expired file (which it removes).
            let live = dir.read(&path)?.is_some();
            dir.remove(&path)?;
            Ok(live)
        })
        .await
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        let (old, new, changes) = (old.to_owned(), new.to_owned(), changes.clone());
        let deadline = self.deadline();
        self.blocking(move |dir| {
            let (old, new) = (dir.path(&old), dir.path(&new));
            let _guards = dir.lock_two(&old, &new);
            if dir.read(&new)?.is_some() {
                return Ok(Regenerated::TargetTaken);
            }
            let Some((_, mut stored)) = dir.read(&old)? else {
                return Ok(Regenerated::SourceGone);
            };
            deadline.check()?;
            changes.apply_to(&mut stored.record);
            stored.ttl = ttl;
            if !stored.record.is_empty() && !dir.create(&new, &stored)? {
                return Ok(Regenerated::TargetTaken);
            }
            dir.remove(&old)?;
            Ok(Regenerated::Moved)
        })
        .await
    }

    async fn cleanup(&self) -> Result<(), Error> {
        self.unbounded(|dir| dir.sweep()).await
    }

    fn request_time_limit(&self) -> Option<Duration> {
        Some(self.timeout)
    }
}

/// Where a write's request stops waiting for it. The write checks it once it holds the
/// file's lock and has read the file, so that one the request gave up on (answered 503)
/// cannot land after a newer write that took the lock first, or at all.
#[derive(Clone, Copy)]
struct Deadline(Instant);

impl Deadline {
    fn check(self) -> io::Result<()> {
        if Instant::now() > self.0 {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the disk let the write through after its request gave up on it",
            ));
        }
        Ok(())
    }
}

impl Dir {
    /// The file of `key`: its digest, so neither the key nor any id shapes the path.
    fn path(&self, key: &str) -> PathBuf {
        self.root.join(prefixed_digest_hex("", key))
    }

    fn shard(&self, path: &Path) -> usize {
        let name = path.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default();
        name.iter().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(*b)))
            % self.locks.len()
    }

    fn lock(&self, path: &Path) -> MutexGuard<'_, ()> {
        lock(&self.locks[self.shard(path)])
    }

    /// Both files' locks, taken in shard order so that two regenerations cannot deadlock.
    fn lock_two(&self, a: &Path, b: &Path) -> (MutexGuard<'_, ()>, Option<MutexGuard<'_, ()>>) {
        let (first, second) = (self.shard(a).min(self.shard(b)), self.shard(a).max(self.shard(b)));
        let first_guard = lock(&self.locks[first]);
        (first_guard, (first != second).then(|| lock(&self.locks[second])))
    }

    /// The live session in `path`, with its open file. An expired, truncated or garbage file
    /// is removed and reads as absent.
    fn read(&self, path: &Path) -> io::Result<Option<(File, Stored)>> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let modified = file.metadata()?.modified()?;
        match decode(&bytes) {
            Some(stored) if !expired(modified, stored.ttl) => Ok(Some((file, stored))),
            Some(_) => {
                self.remove(path)?;
                Ok(None)
            }
            None => {
                log::warn!("sessions: removing an unreadable session file");
                self.remove(path)?;
                Ok(None)
            }
        }
    }

    /// Writes `stored` to `path` only if no file is there: a hard link never replaces.
    fn create(&self, path: &Path, stored: &Stored) -> io::Result<bool> {
        if self.read(path)?.is_some() {
            return Ok(false);
        }
        let temp = write_temp(&self.root, &encode(stored), None)?;
        let linked = fs::hard_link(&temp, path);
        fs::remove_file(&temp)?;
        match linked {
            Ok(()) => {
                self.files.fetch_add(1, Ordering::SeqCst);
                sync_dir(&self.root)?;
                Ok(true)
            }
            Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Replaces the file at `path` atomically, its expiry running from `modified` (from now
    /// without it); a record without fields removes it.
    fn replace(
        &self,
        path: &Path,
        stored: &Stored,
        modified: Option<SystemTime>,
    ) -> io::Result<()> {
        if stored.record.is_empty() {
            return self.remove(path);
        }
        let temp = write_temp(&self.root, &encode(stored), modified)?;
        if let Err(error) = fs::rename(&temp, path) {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        sync_dir(&self.root)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Ok(()) => {
                let _ = self
                    .files
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                Ok(())
            }
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Removes expired files and stale temporary files, then the least recently used files
    /// beyond the threshold.
    /// Sweeps until the directory is within its threshold. Files created while a sweep runs
    /// are not in what it listed, and their creates skipped starting a sweep of their own
    /// (one was running), so the directory is counted again after each sweep.
    fn sweep_until_within(&self) -> io::Result<()> {
        for _ in 0..SWEEP_ROUNDS {
            self.sweep()?;
            let files = session_files(&self.root)?.count();
            self.files.store(files, Ordering::Relaxed);
            if files <= self.threshold {
                break;
            }
        }
        Ok(())
    }

    fn sweep(&self) -> io::Result<()> {
        remove_stale_temps(&self.root)?;
        let mut live = Vec::new();
        for path in session_files(&self.root)? {
            let _guard = self.lock(&path);
            let Ok(modified) = fs::metadata(&path).and_then(|m| m.modified()) else { continue };
            if self.read(&path)?.is_some() {
                live.push((modified, path));
            }
        }
        live.sort();
        let excess = live.len().saturating_sub(self.threshold);
        for (_, path) in &live[..excess] {
            let _guard = self.lock(path);
            self.remove(path)?;
        }
        self.files.store(live.len() - excess, Ordering::Relaxed);
        Ok(())
    }
}

/// Whether the file's expiry (its modification time) was last reset longer ago than the
/// [`touch_interval`].
fn touch_due(file: &File, ttl: Duration) -> io::Result<bool> {
    Ok(reset_due(file.metadata()?.modified()?, ttl))
}

/// Whether an expiry last reset at `last_reset` is due to be reset again.
fn reset_due(last_reset: SystemTime, ttl: Duration) -> bool {
    last_reset.elapsed().unwrap_or_default() >= touch_interval(ttl)
}

fn expired(modified: SystemTime, ttl: Duration) -> bool {
    modified.checked_add(ttl).is_none_or(|expiry| expiry <= SystemTime::now())
}

/// The session files of `dir`: names of 64 hex digits.
fn session_files(dir: &Path) -> io::Result<impl Iterator<Item = PathBuf>> {
    Ok(fs::read_dir(dir)?.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
    }))
}

fn remove_stale_temps(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)?.filter_map(Result::ok) {
        let is_temp = entry.file_name().to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX));
        let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if is_temp && age.is_some_and(|age| age > STALE_TEMP) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Writes `bytes` to a new private temporary file in `dir`, synced to disk.
fn write_temp(dir: &Path, bytes: &[u8], modified: Option<SystemTime>) -> io::Result<PathBuf> {
    let path = dir.join(format!("{TEMP_PREFIX}{:016x}", random_u64()));
    let written = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).and_then(
        |mut file| {
            file.write_all(bytes)?;
            if let Some(modified) = modified {
                file.set_modified(modified)?;
            }
            file.sync_all()
        },
    );
    if let Err(error) = written {
        let _ = fs::remove_file(&path);
        return Err(error);
    }
    Ok(path)
}

/// A random number for a temporary file's name: unique enough that `create_new` rarely
/// refuses one, which is then an error and not a clash.
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    u64::from_le_bytes(bytes)
}

/// Makes a rename or link durable: it lives in the directory's own data.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn unavailable(error: io::Error) -> Error {
    Error::Unavailable { store: STORE, source: Box::new(error) }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    const LONG: Duration = Duration::from_secs(600);

    async fn create(store: &FilesystemStore, name: &str, ttl: Duration) {
        let record = [("a.x".to_owned(), b"1".to_vec())].into();
        assert!(store.create(name, &record, ttl).await.unwrap());
    }

    fn files_in(store: &FilesystemStore) -> usize {
        session_files(&store.dir.root).unwrap().count()
    }

    /// Two sessions, left to expire (their files stay until something sweeps them), then
    /// `live` more.
    async fn create_two_expired_then(store: &FilesystemStore, live: &[&str]) {
        create(store, "expired-1", Duration::from_millis(50)).await;
        create(store, "expired-2", Duration::from_millis(50)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        for name in live {
            create(store, name, LONG).await;
        }
    }

    /// Waits until the directory holds `count` files and no sweep runs.
    async fn settle_at(store: &FilesystemStore, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while files_in(store) != count || store.dir.sweeping.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "{} files, not {count}", files_in(store));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Whether a sweep runs at any moment of the next 300 ms, looked at every millisecond.
    async fn sweeps_within_300_ms(store: &FilesystemStore) -> bool {
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            if store.dir.sweeping.load(Ordering::SeqCst) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        false
    }

    #[rocket::async_test]
    async fn a_sweep_that_leaves_the_threshold_exactly_stops_there() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemStore::open(dir.path(), 3).unwrap();
        for name in ["a", "b", "c", "d"] {
            create(&store, name, LONG).await;
        }
        settle_at(&store, 3).await;
        assert!(!sweeps_within_300_ms(&store).await, "a sweep ran on with nothing to do");
    }

    #[rocket::async_test]
    async fn a_sweep_that_leaves_fewer_files_than_the_threshold_stops_there() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemStore::open(dir.path(), 3).unwrap();
        create_two_expired_then(&store, &["c", "d"]).await;
        settle_at(&store, 2).await;
        assert!(!sweeps_within_300_ms(&store).await, "a sweep ran on with nothing to do");
    }

    #[rocket::async_test]
    async fn reaching_the_threshold_starts_no_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemStore::open(dir.path(), 3).unwrap();
        create_two_expired_then(&store, &["c"]).await;
        assert!(!sweeps_within_300_ms(&store).await, "a sweep started at the threshold");
        assert_eq!(files_in(&store), 3, "the expired files wait for a sweep past the threshold");
    }

    #[rocket::async_test]
    async fn a_session_file_that_cannot_be_opened_is_an_error_not_an_absent_session() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemStore::open(dir.path(), 10).unwrap();
        create(&store, "a", LONG).await;
        // A link to itself: opening it fails (too many levels of links) even for root, as an
        // unreadable file or a failing disk would.
        let path = store.dir.path("a");
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&path, &path).unwrap();
        let loaded = store.load("a", None).await;
        assert!(matches!(loaded, Err(Error::Unavailable { .. })), "{loaded:?}");
    }

    /// A regeneration between two such files takes both locks: taking one mutex twice
    /// would hang it forever.
    #[test]
    fn locking_two_files_of_one_shard_takes_its_lock_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemStore::open(dir.path(), 10).unwrap();
        let shared = store.dir.clone();
        let old = shared.path("old");
        let paths = (0..).map(|i| shared.path(&format!("new{i}")));
        let new = paths.into_iter().find(|path| shared.shard(path) == shared.shard(&old)).unwrap();
        let (sent, taken) = std::sync::mpsc::channel();
        // On a thread of its own, so that a hang fails this test instead of stalling it.
        std::thread::spawn(move || {
            let _guards = shared.lock_two(&old, &new);
            let _ = sent.send(());
        });
        assert!(taken.recv_timeout(Duration::from_secs(5)).is_ok(), "the second lock waited");
    }

    #[rocket::async_test]
    async fn a_cleanup_that_evicts_counts_the_files_it_left() {
        let dir = tempfile::tempdir().unwrap();
        let roomy = FilesystemStore::open(dir.path(), 100).unwrap();
        for name in ["a", "b", "c"] {
            create(&roomy, name, LONG).await;
        }
        let store = FilesystemStore::open(dir.path(), 2).unwrap();
        store.cleanup().await.unwrap();
        assert_eq!(files_in(&store), 2);
        assert_eq!(store.dir.files.load(Ordering::SeqCst), 2, "the count a create compares");
    }

    #[test]
    fn the_description_names_the_directory_and_the_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemStore::open(dir.path(), 250).unwrap();
        let described = store.describe();
        assert!(described.contains(&dir.path().display().to_string()), "{described}");
        assert!(described.contains("250"), "{described}");
    }
}
