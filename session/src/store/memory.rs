//! The embedded store: records in this process's memory, in a bounded concurrent cache.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use moka::ops::compute::{CompResult, Op};
use moka::sync::Cache;

use super::defaults::MEMORY_CAPACITY_BYTES;
use super::lock::lock;
use super::{
    record_size, touch_interval, Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore,
};

/// Sessions kept in this process's memory (`session_type = "memory"`, the default).
///
/// Each record expires on its own idle timeout. The cache is bounded by the bytes its keys and
/// values take (`session_memory_capacity`); when full, the least useful records are evicted,
/// which ends those sessions. Records vanish when the process exits, and processes do not
/// share them: use it for development, tests and single-process apps.
///
/// ```
/// use rocket_typed_session::{store::MemoryStore, SessionFairing};
///
/// let fairing = SessionFairing::with_store(MemoryStore::with_capacity(16 * 1024 * 1024));
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<String, Entry, KeyHasher>,
}

/// Keys are digests (of ids, of user names), which no client can shape, and the hasher is
/// seeded per process: a fast hash is as safe as SipHash here, at a fraction of its cost on
/// every lookup.
type KeyHasher = foldhash::fast::RandomState;

/// A cached record. Its fields sit behind a lock so that an update changes them in place:
/// putting an entry back into the cache costs several times more, and is only needed when
/// the expiry must be reset or the size (the cache's weight) changed. The fields are a shared
/// snapshot: a load hands out the same `Arc` without copying, and an update copies them
/// only while a request still holds the snapshot it loaded.
#[derive(Clone)]
struct Entry {
    fields: Arc<Mutex<Arc<Record>>>,
    ttl: Duration,
    /// When the expiry was last reset.
    touched: Instant,
}

impl Entry {
    fn new(fields: Record, ttl: Duration) -> Entry {
        Entry { fields: Arc::new(Mutex::new(Arc::new(fields))), ttl, touched: Instant::now() }
    }

    /// How long until the entry expires; zero for one past its expiry that the cache has not
    /// evicted yet.
    fn expires_in(&self) -> Duration {
        self.expires_in_at(Instant::now())
    }

    /// The expiry runs from the last reset, not from the last insert: an entry put back
    /// only to be weighed again keeps it.
    fn expires_in_at(&self, now: Instant) -> Duration {
        (self.touched + self.ttl).saturating_duration_since(now)
    }

    /// The same fields with their expiry reset to `ttl` from now.
    fn reset(&self, ttl: Duration) -> Entry {
        Entry { fields: self.fields.clone(), ttl, touched: Instant::now() }
    }

    fn fields(&self) -> MutexGuard<'_, Arc<Record>> {
        lock(&self.fields)
    }

    /// Whether a rolling read or an update should reset the expiry now: a write into the
    /// cache, several times the cost of the read or the in-place update itself, skipped
    /// within the [`touch_interval`] of the last reset.
    fn needs_touch(&self, ttl: Duration) -> bool {
        ttl != self.ttl || self.touched.elapsed() >= touch_interval(ttl)
    }
}

struct EntryExpiry;

impl moka::Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(entry.expires_in_at(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.expires_in_at(now))
    }
}

impl MemoryStore {
    /// A store holding at most `bytes` bytes of keys and values.
    pub fn with_capacity(bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(bytes)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + record_size(&entry.fields())).unwrap_or(u32::MAX)
            })
            .expire_after(EntryExpiry)
            .build_with_hasher(KeyHasher::default());
        MemoryStore { cache }
    }

    /// The number of live records, counting only what the cache has settled; for tests and
    /// metrics.
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// Whether the store holds no live record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `replacement` in the place of `entry`, which the cache weighs again, unless
    /// `entry` left the cache meanwhile: a logout racing this must not be undone. Returns the
    /// entry as stored.
    fn put_back(&self, key: &str, entry: &Entry, replacement: Entry) -> Option<Entry> {
        let result = self.cache.entry_by_ref(key).and_compute_with(|existing| match existing {
            Some(current) if Arc::ptr_eq(&current.value().fields, &entry.fields) => {
                Op::Put(replacement)
            }
            _ => Op::Nop,
        });
        match result {
            CompResult::ReplacedWith(entry) => Some(entry.into_value()),
            _ => None,
        }
    }

    fn insert_if_absent(&self, key: &str, entry: Entry) -> bool {
        let result = self.cache.entry_by_ref(key).and_compute_with(|existing| match existing {
            Some(_) => Op::Nop,
            None => Op::Put(entry),
        });
        matches!(result, CompResult::Inserted(_))
    }
}

/// A store of the default capacity, 64 MiB.
impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(MEMORY_CAPACITY_BYTES)
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    fn describe(&self) -> String {
        const MIB: u64 = 1024 * 1024;
        match self.cache.policy().max_capacity() {
            Some(bytes) if bytes % MIB == 0 => {
                format!("memory, in this process, {} MiB", bytes / MIB)
            }
            Some(bytes) => format!("memory, in this process, {bytes} bytes"),
            None => "memory, in this process".to_owned(),
        }
    }

    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let (entry, expiry_reset) = match (touch, self.cache.get(key)) {
            (Some(ttl), Some(entry)) if entry.needs_touch(ttl) => {
                (self.put_back(key, &entry, entry.reset(ttl)), true)
            }
            (_, entry) => (entry, false),
        };
        Ok(entry.map(|entry| Loaded { record: entry.fields().clone(), expiry_reset }))
    }

    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        let peek = |key: &String| {
            let entry = self.cache.get(key)?;
            let expires_in = entry.expires_in();
            let record = entry.fields().clone();
            (!expires_in.is_zero()).then_some(Peeked { record, expires_in: Some(expires_in) })
        };
        Ok(keys.iter().map(peek).collect())
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        Ok(self.insert_if_absent(key, Entry::new(fields.clone(), ttl)))
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let Some(entry) = self.cache.get(key) else {
            return Ok(false);
        };
        let (emptied, resized) = {
            let mut fields = entry.fields();
            let before = record_size(&fields);
            changes.apply_to(Arc::make_mut(&mut fields));
            (fields.is_empty(), record_size(&fields) != before)
        };
        if emptied {
            // As in Redis, a record without fields no longer exists.
            self.cache.invalidate(key);
        } else if entry.needs_touch(ttl) {
            self.put_back(key, &entry, entry.reset(ttl));
        } else if resized {
            // Within the touch interval the expiry stays, as on a read: it moves, and a
            // rolling cookie is re-sent, together at a load that is due.
            self.put_back(key, &entry, entry.clone());
        }
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        // The cache hands back an entry past its expiry that it has not evicted yet.
        Ok(self.cache.remove(key).is_some_and(|entry| !entry.expires_in().is_zero()))
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        if self.cache.contains_key(new) {
            return Ok(Regenerated::TargetTaken);
        }
        let Some(entry) = self.cache.remove(old) else {
            return Ok(Regenerated::SourceGone);
        };
        let mut fields = Record::clone(&entry.fields());
        changes.apply_to(&mut fields);
        if self.insert_if_absent(new, Entry::new(fields, ttl)) {
            return Ok(Regenerated::Moved);
        }
        // The new key was taken between the check and the insert: put the old record back.
        self.insert_if_absent(old, entry);
        Ok(Regenerated::TargetTaken)
    }

    async fn cleanup(&self) -> Result<(), Error> {
        self.cache.run_pending_tasks();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ttl: Duration, touched_ago: Duration) -> Entry {
        Entry { fields: Arc::default(), ttl, touched: Instant::now() - touched_ago }
    }

    #[test]
    fn a_read_right_after_a_reset_leaves_the_expiry_alone() {
        let ttl = Duration::from_secs(3600);
        assert!(!entry(ttl, Duration::ZERO).needs_touch(ttl));
    }

    #[test]
    fn a_read_a_second_after_the_last_reset_resets_the_expiry() {
        let ttl = Duration::from_secs(3600);
        assert!(entry(ttl, Duration::from_millis(1100)).needs_touch(ttl));
    }

    #[test]
    fn short_lifetimes_are_reset_within_a_64th_of_them() {
        let ttl = Duration::from_millis(640);
        assert!(!entry(ttl, Duration::from_millis(5)).needs_touch(ttl));
        assert!(entry(ttl, Duration::from_millis(15)).needs_touch(ttl));
    }

    /// Runs a store future that never waits on anything, as every memory store call is.
    fn now<T>(future: impl std::future::Future<Output = T>) -> T {
        rocket::tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn an_update_in_place_that_grows_a_record_is_weighed_again() {
        let store = MemoryStore::default();
        let ttl = Duration::from_secs(3600);
        let small = Record::from([("a.x".to_owned(), vec![1])]);
        assert!(now(store.create("key", &small, ttl)).unwrap());
        let grown = Changes { set: [("a.x".to_owned(), vec![1; 4096])].into(), remove: vec![] };

        assert!(now(store.update("key", &grown, ttl)).unwrap());

        store.cache.run_pending_tasks();
        assert!(store.cache.weighted_size() >= 4096, "{}", store.cache.weighted_size());
        assert_eq!(now(store.load("key", None)).unwrap().unwrap().record["a.x"].len(), 4096);
    }

    #[test]
    fn an_update_that_resizes_a_record_within_the_touch_interval_keeps_its_expiry() {
        let store = MemoryStore::default();
        let ttl = Duration::from_secs(3600);
        now(store.create("key", &Record::from([("a.x".to_owned(), vec![1])]), ttl)).unwrap();
        let before = store.cache.get("key").unwrap().touched;
        let grown = Changes { set: [("a.x".to_owned(), vec![1; 64])].into(), remove: vec![] };

        assert!(now(store.update("key", &grown, ttl)).unwrap());

        assert_eq!(store.cache.get("key").unwrap().touched, before);
    }

    #[test]
    fn resetting_the_expiry_of_an_entry_a_logout_removed_does_not_bring_it_back() {
        let store = MemoryStore::default();
        let ttl = Duration::from_secs(3600);
        let record = Record::from([("a.x".to_owned(), vec![1])]);
        now(store.create("key", &record, ttl)).unwrap();
        let stale = store.cache.get("key").unwrap();
        now(store.delete("key")).unwrap();

        assert!(store.put_back("key", &stale, stale.reset(ttl)).is_none());
        assert!(now(store.load("key", None)).unwrap().is_none());
    }

    #[test]
    fn resetting_the_expiry_of_a_record_replaced_meanwhile_keeps_the_new_one() {
        let store = MemoryStore::default();
        let ttl = Duration::from_secs(3600);
        now(store.create("key", &Record::from([("a.x".to_owned(), vec![1])]), ttl)).unwrap();
        let stale = store.cache.get("key").unwrap();
        now(store.delete("key")).unwrap();
        now(store.create("key", &Record::from([("a.x".to_owned(), vec![2])]), ttl)).unwrap();

        assert!(store.put_back("key", &stale, stale.reset(ttl)).is_none());
        assert_eq!(now(store.load("key", None)).unwrap().unwrap().record["a.x"], [2]);
    }

    #[test]
    fn a_record_weighs_its_key_and_its_fields_bytes() {
        let store = MemoryStore::default();
        let record = Record::from([("a.x".to_owned(), vec![1; 100])]);
        now(store.create("key", &record, Duration::from_secs(60))).unwrap();
        store.cache.run_pending_tasks();
        assert_eq!(store.cache.weighted_size(), ("key".len() + record_size(&record)) as u64);
    }

    #[test]
    fn a_store_is_empty_until_a_record_is_created() {
        let store = MemoryStore::default();
        assert!(store.is_empty());
        let record = Record::from([("a.x".to_owned(), vec![1])]);
        now(store.create("key", &record, Duration::from_secs(60))).unwrap();
        assert!(!store.is_empty());
    }

    #[test]
    fn the_description_gives_the_capacity_in_mebibytes_or_bytes() {
        assert_eq!(MemoryStore::default().describe(), "memory, in this process, 64 MiB");
        assert_eq!(
            MemoryStore::with_capacity(1000).describe(),
            "memory, in this process, 1000 bytes"
        );
    }

    #[test]
    fn a_new_lifetime_is_always_applied() {
        let entry = entry(Duration::from_secs(60), Duration::ZERO);
        assert!(entry.needs_touch(Duration::from_secs(120)));
    }
}
