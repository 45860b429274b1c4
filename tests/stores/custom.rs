//! A store written outside the crate, as a user would write one, held to the exported
//! conformance suite: the suite needs nothing but the public trait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket_typed_session::async_trait;
use rocket_typed_session::store::{
    touch_interval, Changes, Error, Loaded, Record, Regenerated, SessionStore,
};

/// Records in a map, each with its lifetime and the instant its expiry was last reset.
#[derive(Default)]
struct MapStore(Mutex<HashMap<String, Entry>>);

struct Entry {
    record: Record,
    ttl: Duration,
    reset: Instant,
}

impl Entry {
    fn new(record: Record, ttl: Duration) -> Entry {
        Entry { record, ttl, reset: Instant::now() }
    }

    fn expired(&self) -> bool {
        self.reset.elapsed() >= self.ttl
    }

    fn reset_to(&mut self, ttl: Duration) {
        self.ttl = ttl;
        self.reset = Instant::now();
    }
}

impl MapStore {
    /// The live entries: expired ones are dropped before any operation looks.
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        let mut map = self.0.lock().unwrap();
        map.retain(|_, entry| !entry.expired());
        map
    }
}

#[async_trait]
impl SessionStore for MapStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let mut map = self.live();
        let Some(entry) = map.get_mut(key) else { return Ok(None) };
        let due =
            touch.filter(|ttl| *ttl != entry.ttl || entry.reset.elapsed() >= touch_interval(*ttl));
        if let Some(ttl) = due {
            entry.reset_to(ttl);
        }
        Ok(Some(Loaded { record: entry.record.clone(), expiry_reset: due.is_some() }))
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let mut map = self.live();
        if map.contains_key(key) {
            return Ok(false);
        }
        map.insert(key.to_owned(), Entry::new(fields.clone(), ttl));
        Ok(true)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let mut map = self.live();
        let Some(entry) = map.get_mut(key) else { return Ok(false) };
        changes.apply_to(&mut entry.record);
        entry.reset_to(ttl);
        if entry.record.is_empty() {
            map.remove(key);
        }
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.live().remove(key);
        Ok(())
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        let mut map = self.live();
        if map.contains_key(new) {
            return Ok(Regenerated::TargetTaken);
        }
        let Some(mut entry) = map.remove(old) else { return Ok(Regenerated::SourceGone) };
        changes.apply_to(&mut entry.record);
        entry.reset_to(ttl);
        if !entry.record.is_empty() {
            map.insert(new.to_owned(), entry);
        }
        Ok(Regenerated::Moved)
    }
}

rocket_typed_session::conformance_suite!(async { MapStore::default() });
