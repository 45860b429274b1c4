//! A clock tests move by hand, and a store whose expiry follows it: timeouts are tested by
//! moving time, never by sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rocket_typed_session::clock::Clock;
use rocket_typed_session::store::{
    touch_interval, Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore,
};

#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock(Arc::new(Mutex::new(SystemTime::now())))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// An in-memory store whose records expire by a [`Clock`], usually a [`ManualClock`]. It is
/// written against the public trait alone, as a user's store would be, and passes the
/// exported conformance suite on the system clock (tests/stores/custom.rs).
#[derive(Clone)]
pub struct ClockedStore {
    clock: Arc<dyn Clock>,
    records: Arc<Mutex<HashMap<String, (Record, SystemTime)>>>,
}

impl ClockedStore {
    pub fn new(clock: &ManualClock) -> ClockedStore {
        ClockedStore::on(clock.clone())
    }

    /// A store whose records expire by `clock`.
    pub fn on(clock: impl Clock) -> ClockedStore {
        ClockedStore { clock: Arc::new(clock), records: Default::default() }
    }

    /// When the live record under `key` expires.
    pub fn expiry_of(&self, key: &str) -> Option<SystemTime> {
        self.with_live(key, |entry| entry.map(|(_, expiry)| *expiry))
    }

    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.records.lock().unwrap().values().filter(|(_, expiry)| *expiry > now).count()
    }

    /// The live record under `key`, for the caller to change.
    fn with_live<T>(&self, key: &str, f: impl FnOnce(Option<&mut (Record, SystemTime)>) -> T) -> T {
        let now = self.clock.now();
        let mut records = self.records.lock().unwrap();
        records.retain(|_, (_, expiry)| *expiry > now);
        f(records.get_mut(key))
    }
}

/// Whether an expiry at `expiry` is to be reset to `ttl` at `now`: not when it was reset to
/// that `ttl` within the touch interval.
fn reset_due(expiry: SystemTime, now: SystemTime, ttl: Duration) -> bool {
    let left = expiry.duration_since(now).unwrap_or_default();
    left > ttl || left < ttl - touch_interval(ttl)
}

#[rocket_typed_session::async_trait]
impl SessionStore for ClockedStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let now = self.clock.now();
        Ok(self.with_live(key, |entry| {
            entry.map(|(record, expiry)| {
                let reset = touch.filter(|ttl| reset_due(*expiry, now, *ttl));
                if let Some(ttl) = reset {
                    *expiry = now + ttl;
                }
                Loaded { record: Arc::new(record.clone()), expiry_reset: reset.is_some() }
            })
        }))
    }

    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        let now = self.clock.now();
        let peek = |key: &String| {
            self.with_live(key, |entry| {
                entry.map(|(record, expiry)| Peeked {
                    record: Arc::new(record.clone()),
                    expires_in: expiry.duration_since(now).ok(),
                })
            })
        };
        Ok(keys.iter().map(peek).collect())
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        if self.with_live(key, |entry| entry.is_some()) {
            return Ok(false);
        }
        self.records
            .lock()
            .unwrap()
            .insert(key.to_owned(), (fields.clone(), self.clock.now() + ttl));
        Ok(true)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let now = self.clock.now();
        let emptied = self.with_live(key, |entry| {
            entry.map(|(record, expiry)| {
                changes.apply_to(record);
                if reset_due(*expiry, now, ttl) {
                    *expiry = now + ttl;
                }
                record.is_empty()
            })
        });
        if emptied == Some(true) {
            // A record without fields no longer exists.
            self.records.lock().unwrap().remove(key);
        }
        Ok(emptied.is_some())
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        Ok(self.with_live(key, |entry| entry.is_some()) && {
            self.records.lock().unwrap().remove(key);
            true
        })
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        if self.with_live(new, |entry| entry.is_some()) {
            return Ok(Regenerated::TargetTaken);
        }
        let Some(mut record) = self.with_live(old, |entry| entry.map(|(record, _)| record.clone()))
        else {
            return Ok(Regenerated::SourceGone);
        };
        changes.apply_to(&mut record);
        let mut records = self.records.lock().unwrap();
        records.remove(old);
        if !record.is_empty() {
            records.insert(new.to_owned(), (record, self.clock.now() + ttl));
        }
        Ok(Regenerated::Moved)
    }
}
