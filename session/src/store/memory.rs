//! The embedded store: records in this process's memory, in a sharded map bounded in bytes.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hashbrown::HashTable;

use super::defaults::MEMORY_CAPACITY_BYTES;
use super::lock::{read, write};
use super::{
    record_size, touch_interval, Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore,
};

/// Sessions kept in this process's memory (`session_type = "memory"`, the default).
///
/// Each record expires on its own idle timeout. The store is bounded by the bytes its keys and
/// values take (`session_memory_capacity`); when full, the records that have been idle
/// longest (whose expiry comes soonest) are evicted, which ends those sessions. Records vanish
/// when the process exits, and processes do not share them: use it for development, tests and
/// single-process apps.
///
/// ```
/// use rocket_typed_session::{store::MemoryStore, SessionFairing};
///
/// let fairing = SessionFairing::with_store(MemoryStore::with_capacity(16 * 1024 * 1024));
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shards>,
}

/// Keys are digests (of ids, of user names), which no client can shape, and the hasher is
/// seeded per process: a fast hash is as safe as SipHash here, at a fraction of its cost on
/// every lookup.
type KeyHasher = foldhash::fast::RandomState;

/// The smallest share of the capacity a shard gets: a shard must hold the largest record a
/// save allows (`session_max_size`, 64 KiB by default) many times over.
const MIN_SHARD_BYTES: u64 = 1024 * 1024;
/// Enough shards that requests on many threads rarely wait for one another.
const MAX_SHARDS: u64 = 64;

/// The records, spread over shards by key, each shard with its own lock and its own share of
/// the capacity: a read takes one shard's lock for reading, one hash and one lookup.
struct Shards {
    shards: Box<[RwLock<Shard>]>,
    hasher: KeyHasher,
    capacity: u64,
}

#[derive(Default)]
struct Shard {
    entries: HashTable<Entry>,
    /// Every entry by when it expires, soonest first: the sweep and eviction both take from
    /// the front. The value is the entry's hash, to find it in `entries`.
    by_expiry: BTreeMap<Slot, u64>,
    /// Bytes of keys and fields held.
    bytes: u64,
    /// Numbers the slots, so that two entries expiring at the same instant have distinct ones.
    next_slot: u64,
}

/// An entry's place in the expiry order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    expires: Instant,
    serial: u64,
}

struct Entry {
    key: Box<str>,
    /// A shared snapshot: a load hands out the same `Arc` without copying, and an update
    /// copies the fields only while a request still holds the snapshot it loaded.
    fields: Arc<Record>,
    ttl: Duration,
    /// When the expiry was last reset.
    touched: Instant,
    slot: Slot,
    size: u64,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        now < self.slot.expires
    }

    /// Whether a rolling read or an update should reset the expiry now: a write under the
    /// shard's exclusive lock, skipped within the [`touch_interval`] of the last reset.
    fn needs_touch(&self, ttl: Duration, now: Instant) -> bool {
        ttl != self.ttl || now.saturating_duration_since(self.touched) >= touch_interval(ttl)
    }
}

fn weight(key: &str, fields: &Record) -> u64 {
    (key.len() + record_size(fields)) as u64
}

impl Shard {
    fn find(&self, hash: u64, key: &str) -> Option<&Entry> {
        self.entries.find(hash, |entry| *entry.key == *key)
    }

    fn find_mut(&mut self, hash: u64, key: &str) -> Option<&mut Entry> {
        self.entries.find_mut(hash, |entry| *entry.key == *key)
    }

    fn slot(&mut self, touched: Instant, ttl: Duration) -> Slot {
        self.next_slot += 1;
        // An expiry past what `Instant` can hold is as good as never.
        let expires = touched.checked_add(ttl).unwrap_or(touched + Duration::from_secs(1 << 32));
        Slot { expires, serial: self.next_slot }
    }

    fn new_entry(&mut self, key: &str, fields: Record, ttl: Duration) -> Entry {
        let now = Instant::now();
        let slot = self.slot(now, ttl);
        let size = weight(key, &fields);
        Entry { key: key.into(), fields: Arc::new(fields), ttl, touched: now, slot, size }
    }

    /// Adds `entry`, whose key the shard does not hold.
    fn insert(&mut self, hasher: &KeyHasher, hash: u64, entry: Entry) {
        self.by_expiry.insert(entry.slot, hash);
        self.bytes += entry.size;
        self.entries.insert_unique(hash, entry, |entry| hasher.hash_one(&*entry.key));
    }

    /// Removes the entry under `key`; returns it if there was one, live or not.
    fn remove(&mut self, hash: u64, key: &str) -> Option<Entry> {
        let found = self.entries.find_entry(hash, |entry| *entry.key == *key).ok()?;
        let (entry, _) = found.remove();
        self.by_expiry.remove(&entry.slot);
        self.bytes -= entry.size;
        Some(entry)
    }

    /// Resets the expiry of the entry under `key` to `ttl` from `now`.
    fn touch(&mut self, hash: u64, key: &str, ttl: Duration, now: Instant) {
        let slot = self.slot(now, ttl);
        let Some(entry) = self.find_mut(hash, key) else { return };
        let old = std::mem::replace(&mut entry.slot, slot);
        (entry.ttl, entry.touched) = (ttl, now);
        self.by_expiry.remove(&old);
        self.by_expiry.insert(slot, hash);
    }

    /// Removes entries from the front of the expiry order while `done` says to go on.
    fn drain_front(&mut self, mut more: impl FnMut(&Shard, Slot) -> bool) {
        while let Some((&slot, &hash)) = self.by_expiry.first_key_value() {
            if !more(self, slot) {
                return;
            }
            self.by_expiry.pop_first();
            if let Ok(found) = self.entries.find_entry(hash, |entry| entry.slot == slot) {
                self.bytes -= found.remove().0.size;
            }
        }
    }

    /// Evicts the entries idle longest until the shard is within `capacity`.
    fn evict_to(&mut self, capacity: u64) {
        self.drain_front(|shard, _| shard.bytes > capacity);
    }

    fn sweep(&mut self, now: Instant) {
        self.drain_front(|_, slot| slot.expires <= now);
    }
}

impl MemoryStore {
    /// A store holding at most `bytes` bytes of keys and values.
    pub fn with_capacity(bytes: u64) -> Self {
        let count = (bytes / MIN_SHARD_BYTES).clamp(1, MAX_SHARDS);
        let shards = (0..count).map(|_| RwLock::default()).collect();
        MemoryStore {
            shared: Arc::new(Shards { shards, hasher: KeyHasher::default(), capacity: bytes }),
        }
    }

    /// The number of live records; for tests and metrics.
    pub fn len(&self) -> u64 {
        let now = Instant::now();
        let live = |shard: &RwLock<Shard>| {
            read(shard).entries.iter().filter(|entry| entry.is_live(now)).count() as u64
        };
        self.shared.shards.iter().map(live).sum()
    }

    /// Whether the store holds no live record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard that holds `key`, and the key's hash.
    fn shard(&self, key: &str) -> (&RwLock<Shard>, u64) {
        let hash = self.shared.hasher.hash_one(key);
        let shards = &self.shared.shards;
        // The table inside a shard uses the hash's low and top bits; the shard, bits between.
        (&shards[(hash >> 32) as usize % shards.len()], hash)
    }

    /// Each shard's share of the capacity.
    fn shard_capacity(&self) -> u64 {
        self.shared.capacity / self.shared.shards.len() as u64
    }

    /// Stores the entry `make` builds under `key` unless a live record is there; returns
    /// whether it did.
    fn insert_if_absent(&self, key: &str, make: impl FnOnce(&mut Shard) -> Entry) -> bool {
        let (shard, hash) = self.shard(key);
        let mut shard = write(shard);
        match shard.find(hash, key) {
            Some(entry) if entry.is_live(Instant::now()) => return false,
            // Past its expiry, not swept yet.
            Some(_) => drop(shard.remove(hash, key)),
            None => {}
        }
        let entry = make(&mut shard);
        shard.insert(&self.shared.hasher, hash, entry);
        shard.evict_to(self.shard_capacity());
        true
    }

    /// Removes the record under `key`, returning it if it was live.
    fn take(&self, key: &str) -> Option<Entry> {
        let (shard, hash) = self.shard(key);
        let entry = write(shard).remove(hash, key)?;
        entry.is_live(Instant::now()).then_some(entry)
    }

    /// A load, answered at once, as every call of this store is.
    fn load_at_once(&self, key: &str, touch: Option<Duration>) -> Option<Loaded> {
        let (shard, hash) = self.shard(key);
        let now = Instant::now();
        {
            let shard = read(shard);
            let entry = shard.find(hash, key).filter(|entry| entry.is_live(now))?;
            if !touch.is_some_and(|ttl| entry.needs_touch(ttl, now)) {
                return Some(Loaded { record: entry.fields.clone(), expiry_reset: false });
            }
        }
        // Due for a reset: look again under the exclusive lock, as the record may have gone.
        let ttl = touch.unwrap_or_default();
        let mut shard = write(shard);
        let entry = shard.find(hash, key).filter(|entry| entry.is_live(now))?;
        let (record, due) = (entry.fields.clone(), entry.needs_touch(ttl, now));
        if due {
            shard.touch(hash, key, ttl, now);
        }
        Some(Loaded { record, expiry_reset: due })
    }

    fn contains(&self, key: &str) -> bool {
        let (shard, hash) = self.shard(key);
        read(shard).find(hash, key).is_some_and(|entry| entry.is_live(Instant::now()))
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
        match self.shared.capacity {
            bytes if bytes % MIB == 0 => format!("memory, in this process, {} MiB", bytes / MIB),
            bytes => format!("memory, in this process, {bytes} bytes"),
        }
    }

    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        Ok(self.load_at_once(key, touch))
    }

    fn load_now(
        &self,
        key: &str,
        touch: Option<Duration>,
    ) -> Option<Result<Option<Loaded>, Error>> {
        Some(Ok(self.load_at_once(key, touch)))
    }

    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        let now = Instant::now();
        let peek = |key: &String| {
            let (shard, hash) = self.shard(key);
            let shard = read(shard);
            let entry = shard.find(hash, key).filter(|entry| entry.is_live(now))?;
            let expires_in = entry.slot.expires.saturating_duration_since(now);
            Some(Peeked { record: entry.fields.clone(), expires_in: Some(expires_in) })
        };
        Ok(keys.iter().map(peek).collect())
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        Ok(self.insert_if_absent(key, |shard| shard.new_entry(key, fields.clone(), ttl)))
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let (shard, hash) = self.shard(key);
        let now = Instant::now();
        let mut shard = write(shard);
        let Some(entry) = shard.find_mut(hash, key).filter(|entry| entry.is_live(now)) else {
            return Ok(false);
        };
        let due = entry.needs_touch(ttl, now);
        let fields = Arc::make_mut(&mut entry.fields);
        changes.apply_to(fields);
        let (emptied, before, size) = (fields.is_empty(), entry.size, weight(key, fields));
        entry.size = size;
        shard.bytes = shard.bytes + size - before;
        if emptied {
            // As in Redis, a record without fields no longer exists.
            shard.remove(hash, key);
        } else if due {
            // Within the touch interval the expiry stays, as on a read: it moves, and a
            // rolling cookie is re-sent, together at a load that is due.
            shard.touch(hash, key, ttl, now);
        }
        if size > before {
            shard.evict_to(self.shard_capacity());
        }
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        Ok(self.take(key).is_some())
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        if self.contains(new) {
            return Ok(Regenerated::TargetTaken);
        }
        let Some(entry) = self.take(old) else {
            return Ok(Regenerated::SourceGone);
        };
        let mut moved = Record::clone(&entry.fields);
        changes.apply_to(&mut moved);
        if self.insert_if_absent(new, |shard| shard.new_entry(new, moved, ttl)) {
            return Ok(Regenerated::Moved);
        }
        // The new key was taken between the check and the insert: the old record goes back
        // as it was.
        self.insert_if_absent(old, |_| entry);
        Ok(Regenerated::TargetTaken)
    }

    async fn cleanup(&self) -> Result<(), Error> {
        let now = Instant::now();
        for shard in self.shared.shards.iter() {
            write(shard).sweep(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn entry(ttl: Duration, touched_ago: Duration) -> Entry {
        let touched = Instant::now() - touched_ago;
        let slot = Slot { expires: touched + ttl, serial: 0 };
        Entry { key: "key".into(), fields: Arc::default(), ttl, touched, slot, size: 0 }
    }

    fn record(bytes: usize) -> Record {
        Record::from([("a.x".to_owned(), vec![1; bytes])])
    }

    /// Runs a store future that never waits on anything, as every memory store call is.
    fn now<T>(future: impl std::future::Future<Output = T>) -> T {
        rocket::tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    fn bytes(store: &MemoryStore) -> u64 {
        store.shared.shards.iter().map(|shard| read(shard).bytes).sum()
    }

    fn slot_of(store: &MemoryStore, key: &str) -> Slot {
        let (shard, hash) = store.shard(key);
        read(shard).find(hash, key).unwrap().slot
    }

    #[test]
    fn a_read_right_after_a_reset_leaves_the_expiry_alone() {
        assert!(!entry(HOUR, Duration::ZERO).needs_touch(HOUR, Instant::now()));
    }

    #[test]
    fn a_read_a_second_after_the_last_reset_resets_the_expiry() {
        assert!(entry(HOUR, Duration::from_millis(1100)).needs_touch(HOUR, Instant::now()));
    }

    #[test]
    fn short_lifetimes_are_reset_within_a_64th_of_them() {
        let ttl = Duration::from_millis(640);
        assert!(!entry(ttl, Duration::from_millis(5)).needs_touch(ttl, Instant::now()));
        assert!(entry(ttl, Duration::from_millis(15)).needs_touch(ttl, Instant::now()));
    }

    #[test]
    fn a_new_lifetime_is_always_applied() {
        let entry = entry(Duration::from_secs(60), Duration::ZERO);
        assert!(entry.needs_touch(Duration::from_secs(120), Instant::now()));
    }

    #[test]
    fn a_record_weighs_its_key_and_its_fields_bytes() {
        let store = MemoryStore::default();
        now(store.create("key", &record(100), HOUR)).unwrap();
        assert_eq!(bytes(&store), ("key".len() + record_size(&record(100))) as u64);
    }

    #[test]
    fn an_update_in_place_that_grows_a_record_is_weighed_again() {
        let store = MemoryStore::default();
        assert!(now(store.create("key", &record(1), HOUR)).unwrap());
        let grown = Changes { set: record(4096), remove: vec![] };

        assert!(now(store.update("key", &grown, HOUR)).unwrap());

        assert_eq!(bytes(&store), ("key".len() + record_size(&record(4096))) as u64);
        assert_eq!(now(store.load("key", None)).unwrap().unwrap().record["a.x"].len(), 4096);
    }

    #[test]
    fn an_update_that_resizes_a_record_within_the_touch_interval_keeps_its_expiry() {
        let store = MemoryStore::default();
        now(store.create("key", &record(1), HOUR)).unwrap();
        let before = slot_of(&store, "key");
        let grown = Changes { set: record(64), remove: vec![] };

        assert!(now(store.update("key", &grown, HOUR)).unwrap());

        assert!(slot_of(&store, "key") == before);
    }

    #[test]
    fn a_touching_load_past_the_touch_interval_moves_the_expiry_later() {
        let store = MemoryStore::default();
        let ttl = Duration::from_millis(640);
        now(store.create("key", &record(1), ttl)).unwrap();
        let before = slot_of(&store, "key");
        std::thread::sleep(Duration::from_millis(20));

        assert!(now(store.load("key", Some(ttl))).unwrap().unwrap().expiry_reset);

        assert!(slot_of(&store, "key").expires > before.expires);
    }

    #[test]
    fn an_update_that_empties_a_record_frees_its_bytes() {
        let store = MemoryStore::default();
        now(store.create("key", &record(100), HOUR)).unwrap();
        let emptied = Changes { set: Record::new(), remove: vec!["a.x".to_owned()] };

        assert!(now(store.update("key", &emptied, HOUR)).unwrap());

        assert_eq!(bytes(&store), 0);
        assert!(now(store.load("key", None)).unwrap().is_none());
    }

    #[test]
    fn a_full_store_evicts_the_records_idle_longest_first() {
        let store = MemoryStore::with_capacity(3_000);
        for key in ["k1", "k2", "k3"] {
            now(store.create(key, &record(900), HOUR)).unwrap();
        }
        // Reset k1's expiry past the others': k2 is now the one idle longest.
        std::thread::sleep(Duration::from_millis(5));
        now(store.update("k1", &Changes::default(), HOUR + Duration::from_secs(1))).unwrap();

        now(store.create("k4", &record(900), HOUR)).unwrap();

        let kept: Vec<bool> = ["k1", "k2", "k3", "k4"].map(|key| store.contains(key)).into();
        assert_eq!(kept, [true, false, true, true]);
        assert!(bytes(&store) <= 3_000, "{}", bytes(&store));
    }

    #[test]
    fn records_reset_at_the_same_instant_both_keep_their_place_in_the_expiry_order() {
        // One shard, so that both records share its expiry order.
        let store = MemoryStore::with_capacity(1 << 20);
        for key in ["k1", "k2"] {
            now(store.create(key, &record(1), HOUR)).unwrap();
        }
        let at = Instant::now();
        for key in ["k1", "k2"] {
            let (shard, hash) = store.shard(key);
            write(shard).touch(hash, key, HOUR, at);
        }
        let ordered: usize = store.shared.shards.iter().map(|s| read(s).by_expiry.len()).sum();
        assert_eq!(ordered, 2, "one record fell out of the expiry order");
        assert!(slot_of(&store, "k1") != slot_of(&store, "k2"));
    }

    #[test]
    fn a_lifetime_past_what_the_clock_can_hold_keeps_the_record() {
        let store = MemoryStore::default();
        assert!(now(store.create("key", &record(1), Duration::MAX)).unwrap());
        assert!(now(store.load("key", None)).unwrap().is_some());
    }

    #[test]
    fn a_store_filled_exactly_to_its_capacity_evicts_nothing() {
        // Two records of 3 + 497 bytes each: 1,000 bytes, the whole capacity.
        let store = MemoryStore::with_capacity(1000);
        for key in ["k_1", "k_2"] {
            now(store.create(key, &record(494), HOUR)).unwrap();
        }
        assert_eq!(bytes(&store), 1000);
        assert!(store.contains("k_1") && store.contains("k_2"));
    }

    #[test]
    fn a_store_of_several_shards_stays_within_its_capacity() {
        let capacity = 2 << 20;
        let store = MemoryStore::with_capacity(capacity);
        assert_eq!(store.shared.shards.len(), 2);
        for n in 0..3000 {
            now(store.create(&format!("key{n}"), &record(1024), HOUR)).unwrap();
        }
        assert!(bytes(&store) <= capacity, "{} bytes held", bytes(&store));
    }

    #[test]
    fn a_key_whose_record_expired_unswept_can_be_created_again() {
        let store = MemoryStore::default();
        now(store.create("key", &record(1), Duration::from_millis(1))).unwrap();
        std::thread::sleep(Duration::from_millis(5));

        assert!(now(store.create("key", &record(2), HOUR)).unwrap());

        assert_eq!(now(store.load("key", None)).unwrap().unwrap().record["a.x"], [1, 1]);
    }

    #[test]
    fn an_update_that_grows_a_full_store_evicts_to_stay_within_its_capacity() {
        let store = MemoryStore::with_capacity(1000);
        for key in ["k_1", "k_2"] {
            now(store.create(key, &record(494), HOUR)).unwrap();
        }
        let grown = Changes { set: record(594), remove: vec![] };

        assert!(now(store.update("k_2", &grown, HOUR)).unwrap());

        assert!(bytes(&store) <= 1000, "{} bytes held", bytes(&store));
        assert!(!store.contains("k_1") && store.contains("k_2"));
    }

    #[test]
    fn a_load_is_answered_at_once() {
        let store = MemoryStore::default();
        now(store.create("key", &record(1), HOUR)).unwrap();
        let answer = store.load_now("key", None).expect("the memory store never waits");
        assert_eq!(answer.unwrap().unwrap().record["a.x"], [1]);
    }

    #[test]
    fn records_are_spread_over_every_shard() {
        let store = MemoryStore::default();
        // 2,000 keys over 64 shards: the chance that one stays empty is about 10^-12.
        for n in 0..2000 {
            now(store.create(&format!("key{n}"), &record(1), HOUR)).unwrap();
        }
        let empty = store.shared.shards.iter().filter(|s| read(s).entries.is_empty()).count();
        assert_eq!(empty, 0, "{empty} of 64 shards hold nothing");
    }

    #[test]
    fn a_sweep_removes_expired_records_and_their_bytes() {
        let store = MemoryStore::default();
        now(store.create("short", &record(10), Duration::from_millis(1))).unwrap();
        now(store.create("long", &record(10), HOUR)).unwrap();
        std::thread::sleep(Duration::from_millis(5));

        now(store.cleanup()).unwrap();

        assert_eq!(bytes(&store), ("long".len() + record_size(&record(10))) as u64);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn an_expired_record_not_swept_yet_is_gone_and_its_key_free() {
        let store = MemoryStore::default();
        now(store.create("key", &record(10), Duration::from_millis(1))).unwrap();
        std::thread::sleep(Duration::from_millis(5));

        assert!(now(store.load("key", Some(HOUR))).unwrap().is_none());
        assert!(!now(store.update("key", &Changes::default(), HOUR)).unwrap());
        assert!(!now(store.delete("key")).unwrap());
        assert!(now(store.create("key", &record(10), HOUR)).unwrap());
    }

    #[test]
    fn a_store_is_spread_over_shards_of_at_least_a_mebibyte() {
        assert_eq!(MemoryStore::with_capacity(1000).shared.shards.len(), 1);
        assert_eq!(MemoryStore::with_capacity(3 << 20).shared.shards.len(), 3);
        assert_eq!(MemoryStore::default().shared.shards.len(), 64);
        assert_eq!(MemoryStore::with_capacity(1 << 40).shared.shards.len(), 64);
    }

    #[test]
    fn a_store_is_empty_until_a_record_is_created() {
        let store = MemoryStore::default();
        assert!(store.is_empty());
        now(store.create("key", &record(1), Duration::from_secs(60))).unwrap();
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
}
