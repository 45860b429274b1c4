//! The embedded store: records in this process's memory, in a bounded concurrent cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::ops::compute::{CompResult, Op};
use moka::sync::Cache;

use super::{record_size, Changes, Error, Record, Regenerated, SessionStore};

/// The default capacity: 64 MiB of keys and values.
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

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
    cache: Cache<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    fields: Arc<Record>,
    ttl: Duration,
    /// When the expiry was last reset.
    touched: Instant,
}

impl Entry {
    fn new(fields: Arc<Record>, ttl: Duration) -> Entry {
        Entry { fields, ttl, touched: Instant::now() }
    }

    /// Whether a rolling read should reset the expiry now. Resetting means a write into the
    /// cache, several times the cost of the read itself; within 1/64 of the lifetime (at
    /// most a second) of the last reset the difference cannot matter.
    fn needs_touch(&self, ttl: Duration) -> bool {
        ttl != self.ttl || self.touched.elapsed() >= (ttl / 64).min(Duration::from_secs(1))
    }
}

struct EntryExpiry;

impl moka::Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemoryStore {
    /// A store holding at most `bytes` bytes of keys and values.
    pub fn with_capacity(bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(bytes)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + record_size(&entry.fields)).unwrap_or(u32::MAX)
            })
            .expire_after(EntryExpiry)
            .build();
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

    fn insert_if_absent(&self, key: &str, entry: Entry) -> bool {
        let result = self.cache.entry_by_ref(key).and_compute_with(|existing| match existing {
            Some(_) => Op::Nop,
            None => Op::Put(entry),
        });
        matches!(result, CompResult::Inserted(_))
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(DEFAULT_CAPACITY_BYTES)
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Record>, Error> {
        let entry = match (touch, self.cache.get(key)) {
            (Some(ttl), Some(entry)) if entry.needs_touch(ttl) => {
                // Re-putting inside the compute resets the expiry without racing a delete.
                let touched = self.cache.entry_by_ref(key).and_compute_with(|existing| {
                    existing.map_or(Op::Nop, |e| Op::Put(Entry::new(e.into_value().fields, ttl)))
                });
                match touched {
                    CompResult::ReplacedWith(entry) => Some(entry.into_value()),
                    _ => None,
                }
            }
            (_, entry) => entry,
        };
        Ok(entry.map(|entry| Record::clone(&entry.fields)))
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        Ok(self.insert_if_absent(key, Entry::new(Arc::new(fields.clone()), ttl)))
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let result = self.cache.entry_by_ref(key).and_compute_with(|existing| match existing {
            None => Op::Nop,
            Some(entry) => {
                let mut fields = Record::clone(&entry.value().fields);
                changes.apply_to(&mut fields);
                // As in Redis, a record without fields no longer exists.
                if fields.is_empty() {
                    Op::Remove
                } else {
                    Op::Put(Entry::new(Arc::new(fields), ttl))
                }
            }
        });
        Ok(matches!(result, CompResult::ReplacedWith(_) | CompResult::Removed(_)))
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.cache.invalidate(key);
        Ok(())
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
        let mut fields = Record::clone(&entry.fields);
        changes.apply_to(&mut fields);
        if self.insert_if_absent(new, Entry::new(Arc::new(fields), ttl)) {
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

    #[test]
    fn a_new_lifetime_is_always_applied() {
        let entry = entry(Duration::from_secs(60), Duration::ZERO);
        assert!(entry.needs_touch(Duration::from_secs(120)));
    }
}
