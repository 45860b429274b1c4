//! Where session records live: the [`SessionStore`] trait and its backends.
//!
//! A store knows keys, records and expiry, nothing else: no requests, cookies or configuration.
//! The key it is given is already a digest of the session id (see
//! [`SessionId::storage_key`](crate::SessionId::storage_key)), so a store never sees a raw id.
//!
//! # Writing a store
//! Implement [`SessionStore`] with [`async_trait`](crate::async_trait); the crate
//! documentation's "Extending" section has a complete example. The semantics each method
//! documents are what the fairing relies on; one conformance suite checks them for every
//! built-in store.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod defaults;
pub(crate) mod digest;
pub(crate) mod lock;

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
#[cfg(any(feature = "redis", feature = "postgres", feature = "mysql"))]
mod fence;
#[cfg(feature = "filesystem")]
mod filesystem;
#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
mod framing;
#[cfg(any(
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlite",
    feature = "filesystem"
))]
mod limit;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
mod sql;

#[cfg(feature = "redis")]
pub(crate) use self::redis::is_tls_url;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisOptions, RedisStore, RedisTls, SentinelMaster};
#[cfg(feature = "filesystem")]
#[cfg_attr(docsrs, doc(cfg(feature = "filesystem")))]
pub use filesystem::FilesystemStore;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use memory::MemoryStore;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use sql::mysql::MysqlStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sql::postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sql::sqlite::SqliteStore;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))))]
pub use sql::SqlOptions;

/// A session's stored values: `namespace.field` → tagged bytes (see [`crate::codec`]).
/// Keys starting with `__` are reserved for the library.
pub type Record = BTreeMap<String, Vec<u8>>;

/// The fields one save changes: values to set and keys to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Fields whose value is new or differs from what was loaded.
    pub set: Record,
    /// Fields that were loaded and no longer exist.
    pub remove: Vec<String>,
}

impl Changes {
    /// The changes that turn `loaded` into `now`: fields new or different in `now`, and
    /// fields of `loaded` that `now` lacks. This is how a save finds what to write.
    ///
    /// ```
    /// use rocket_typed_session::store::{Changes, Record};
    ///
    /// let loaded = Record::from([("cart.items".into(), vec![1]), ("cart.coupon".into(), vec![2])]);
    /// let now = Record::from([("cart.items".into(), vec![3])]);
    /// let changes = Changes::between(&loaded, &now);
    /// assert_eq!(changes.set, now);
    /// assert_eq!(changes.remove, ["cart.coupon"]);
    /// ```
    pub fn between(loaded: &Record, now: &Record) -> Changes {
        // Both records are sorted: one walk over both, rather than a lookup per field.
        let mut changes = Changes::default();
        let mut before = loaded.iter().peekable();
        for (key, value) in now {
            while let Some((gone, _)) = before.next_if(|(old, _)| *old < key) {
                changes.remove.push(gone.clone());
            }
            match before.next_if(|(old, _)| *old == key) {
                Some((_, old)) if old == value => {}
                _ => {
                    changes.set.insert(key.clone(), value.clone());
                }
            }
        }
        changes.remove.extend(before.map(|(gone, _)| gone.clone()));
        changes
    }

    /// Whether this save changes nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Applies the changes to a record in place; for stores that keep whole records. A
    /// value replaced reuses the buffer of the one it replaces.
    pub fn apply_to(&self, record: &mut Record) {
        for key in &self.remove {
            record.remove(key);
        }
        for (key, value) in &self.set {
            match record.get_mut(key) {
                Some(old) => old.clone_from(value),
                None => drop(record.insert(key.clone(), value.clone())),
            }
        }
    }

    /// Whether the changes set or remove `key`.
    pub(crate) fn names(&self, key: &str) -> bool {
        self.set.contains_key(key) || self.remove.iter().any(|removed| removed == key)
    }

    /// How many bytes more [`record_size`] gives `loaded` once the changes are applied to
    /// it; `None` when it does not grow.
    pub(crate) fn growth(&self, loaded: &Record) -> Option<usize> {
        let held = |key: &String| loaded.get(key).map_or(0, |value| key.len() + value.len());
        let gone: usize = self.remove.iter().chain(self.set.keys()).map(held).sum();
        let added: usize = self.set.iter().map(|(key, value)| key.len() + value.len()).sum();
        added.checked_sub(gone).filter(|&growth| growth > 0)
    }
}

/// The number of bytes a record occupies: its keys and values, as counted against
/// `session_max_size` and a memory store's capacity.
pub fn record_size(record: &Record) -> usize {
    record.iter().map(|(key, value)| key.len() + value.len()).sum()
}

/// A record as [`SessionStore::load`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The stored fields, shared rather than copied: a store that keeps records in memory
    /// hands out its own snapshot, so a request that only reads copies nothing. A store that
    /// reads bytes from elsewhere wraps what it decoded (`Arc::new(record)`).
    pub record: Arc<Record>,
    /// Whether this load reset the record's expiry. A rolling session's cookie is re-sent
    /// only then, so that its `Max-Age` restarts together with the record's expiry.
    pub expiry_reset: bool,
}

/// A record as [`SessionStore::peek`] found it: for listings, read without touching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    /// The stored fields, shared as in [`Loaded`].
    pub record: Arc<Record>,
    /// How long until the record expires, when the store can tell. Its idle expiry restarts
    /// at each reset, so this is also when the session was last active: the device list's
    /// "last seen" comes from it, at no cost to ordinary requests.
    pub expires_in: Option<Duration>,
}

/// How soon after one expiry reset a touching load may skip the next: a 64th of the
/// lifetime, and never more than a second. Resetting is a write (in Redis one that replicas
/// and the append-only file see) and re-sends the cookie, on requests that otherwise only
/// read; within this interval skipping it changes when the session ends by less than a
/// second. The built-in stores skip within it; a store may also reset on every load.
///
/// ```
/// use std::time::Duration;
/// use rocket_typed_session::store::touch_interval;
///
/// assert_eq!(touch_interval(Duration::from_secs(31 * 24 * 3600)), Duration::from_secs(1));
/// assert_eq!(touch_interval(Duration::from_secs(32)), Duration::from_millis(500));
/// ```
pub fn touch_interval(ttl: Duration) -> Duration {
    (ttl / 64).min(Duration::from_secs(1))
}

/// What [`SessionStore::regenerate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regenerated {
    /// The record now lives under the new key only.
    Moved,
    /// The old key no longer existed (logged out or expired meanwhile); nothing was written.
    SourceGone,
    /// The new key was already taken; nothing was changed.
    TargetTaken,
}

/// A store failed.
///
/// `Unavailable` becomes a 503 with `Retry-After`; every other variant a 500. Messages never
/// contain a session id or a storage key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend cannot be reached or refuses service for now (connection refused,
    /// timeout, loading, read-only, out of memory). Retrying later may succeed.
    #[error("the session store `{store}` is unavailable: {source}")]
    Unavailable {
        /// The backend's name, e.g. `redis`.
        store: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The record would exceed a size limit; the stored record was left as it was.
    #[error("the session record would be {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The record's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The backend returned data in a shape it never writes.
    #[error("the session store `{store}` returned data it cannot read: {message}")]
    Decode {
        /// The backend's name.
        store: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Any other backend failure.
    #[error("the session store `{store}` failed: {source}")]
    Backend {
        /// The backend's name.
        store: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether retrying later may succeed; such errors are answered with 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

/// A place to keep session records, keyed by storage key, each with an idle expiry.
///
/// Every method is one round trip at most, and each write is atomic for its key: the fairing
/// relies on `create` never overwriting and `update` never resurrecting.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Loads the record under `key`, or `None` if it does not exist or has expired. When
    /// `touch` is set, the record's expiry is reset to that duration in the same round
    /// trip, unless the last reset to it was less than [`touch_interval`] ago;
    /// [`Loaded::expiry_reset`] says which. A store that resets on every touch, or keeps no
    /// expiry at all, reports `true` whenever `touch` is set.
    ///
    /// # Errors
    /// Backend failures; a missing key is not an error.
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error>;

    /// The answer [`load`](Self::load) would give, given at once by a store that never waits
    /// (one in this process's memory): the request then spares the boxed future a `load`
    /// costs. `None`, the default, sends the request through `load`.
    fn load_now(
        &self,
        _key: &str,
        _touch: Option<Duration>,
    ) -> Option<Result<Option<Loaded>, Error>> {
        None
    }

    /// Stores `fields` under `key` with expiry `ttl` if and only if `key` does not exist.
    /// Returns whether it was created. `fields` is never empty: a record without fields does
    /// not exist.
    ///
    /// # Errors
    /// Backend failures; an existing key is `Ok(false)`.
    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error>;

    /// Applies `changes` to the record under `key` and resets its expiry to `ttl`, if and
    /// only if it exists: a session deleted meanwhile is never brought back. Returns whether
    /// it existed. A record left without fields no longer exists. Like a touching load, it
    /// leaves an expiry that was reset to `ttl` less than [`touch_interval`] ago: a rolling
    /// session's cookie is re-sent when a load reports a reset, so an update that moved the
    /// expiry every time would keep a client that saves more often than that from ever
    /// getting a fresh cookie, and the cookie would end before the session.
    ///
    /// # Errors
    /// Backend failures; a missing key is `Ok(false)`.
    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error>;

    /// Deletes the record under `key`; returns whether a live record was there (deleting a
    /// missing or expired key succeeds with `false`), so that a revocation can say how many
    /// sessions it ended.
    ///
    /// # Errors
    /// Backend failures.
    async fn delete(&self, key: &str) -> Result<bool, Error>;

    /// Moves the record from `old` to `new`, applying `changes` and expiry `ttl`, so that
    /// afterwards only `new` exists. Nothing changes when `old` is gone or `new` is taken.
    ///
    /// # Errors
    /// Backend failures.
    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error>;

    /// Reads the records under `keys` without resetting their expiry, each with how long it
    /// has left: one entry per key, in order, `None` where the key is missing or expired. It
    /// serves listings (a user's sessions), so it should take as few round trips as the
    /// backend allows, not one per key. The default loads each key in turn and reports no
    /// expiry.
    ///
    /// # Errors
    /// Backend failures; missing keys are not errors.
    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let loaded = self.load(key, None).await?;
            found.push(loaded.map(|loaded| Peeked { record: loaded.record, expires_in: None }));
        }
        Ok(found)
    }

    /// Removes expired records, for backends without native expiry. The default does nothing.
    ///
    /// # Errors
    /// Backend failures.
    async fn cleanup(&self) -> Result<(), Error> {
        Ok(())
    }

    /// The most the store work of one request, its load and its save together, may take:
    /// the fairing gives the save only what the load left, and fails it as unavailable (a
    /// 503) past that. `None`, the default, leaves each operation to bound itself.
    fn request_time_limit(&self) -> Option<Duration> {
        None
    }

    /// What the store is and where its data lives, for the line the fairing logs at launch
    /// (`Redis at redis://cache:6379/0`); never a password.
    fn describe(&self) -> String {
        "a store built by the application".to_owned()
    }

    /// Whether a store on another machine answers, asked once at launch for that line and
    /// bounded like any operation. `None`, the default, for a store with nothing to reach
    /// (in process, or a local directory).
    async fn ping(&self) -> Option<Result<(), Error>> {
        None
    }
}

/// A store's boxed future, as `async_trait` makes it.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A shared store is a store: the same `Arc` can serve the fairing and, say, an admin task.
///
/// Each call hands back the future of the store inside, rather than boxing it again in an
/// `async` block of its own: a store shared this way costs a request no more than one owned
/// outright.
impl<S: SessionStore + ?Sized> SessionStore for Arc<S> {
    fn load<'a, 'k, 'f>(
        &'a self,
        key: &'k str,
        touch: Option<Duration>,
    ) -> Boxed<'f, Result<Option<Loaded>, Error>>
    where
        'a: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).load(key, touch)
    }

    fn load_now(
        &self,
        key: &str,
        touch: Option<Duration>,
    ) -> Option<Result<Option<Loaded>, Error>> {
        (**self).load_now(key, touch)
    }

    fn create<'a, 'k, 'r, 'f>(
        &'a self,
        key: &'k str,
        fields: &'r Record,
        ttl: Duration,
    ) -> Boxed<'f, Result<bool, Error>>
    where
        'a: 'f,
        'k: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).create(key, fields, ttl)
    }

    fn update<'a, 'k, 'c, 'f>(
        &'a self,
        key: &'k str,
        changes: &'c Changes,
        ttl: Duration,
    ) -> Boxed<'f, Result<bool, Error>>
    where
        'a: 'f,
        'k: 'f,
        'c: 'f,
        Self: 'f,
    {
        (**self).update(key, changes, ttl)
    }

    fn delete<'a, 'k, 'f>(&'a self, key: &'k str) -> Boxed<'f, Result<bool, Error>>
    where
        'a: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).delete(key)
    }

    fn regenerate<'a, 'o, 'n, 'c, 'f>(
        &'a self,
        old: &'o str,
        new: &'n str,
        changes: &'c Changes,
        ttl: Duration,
    ) -> Boxed<'f, Result<Regenerated, Error>>
    where
        'a: 'f,
        'o: 'f,
        'n: 'f,
        'c: 'f,
        Self: 'f,
    {
        (**self).regenerate(old, new, changes, ttl)
    }

    fn peek<'a, 'k, 'f>(
        &'a self,
        keys: &'k [String],
    ) -> Boxed<'f, Result<Vec<Option<Peeked>>, Error>>
    where
        'a: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).peek(keys)
    }

    fn cleanup<'a, 'f>(&'a self) -> Boxed<'f, Result<(), Error>>
    where
        'a: 'f,
        Self: 'f,
    {
        (**self).cleanup()
    }

    fn request_time_limit(&self) -> Option<Duration> {
        (**self).request_time_limit()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }

    fn ping<'a, 'f>(&'a self) -> Boxed<'f, Option<Result<(), Error>>>
    where
        'a: 'f,
        Self: 'f,
    {
        (**self).ping()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(entries: &[(&str, u8)]) -> Record {
        entries.iter().map(|(k, v)| (k.to_string(), vec![*v])).collect()
    }

    #[test]
    fn diff_keeps_only_changed_new_and_vanished_fields() {
        let loaded = record(&[("a.same", 1), ("a.changed", 2), ("a.gone", 3)]);
        let now = record(&[("a.same", 1), ("a.changed", 9), ("a.new", 4)]);
        let changes = Changes::between(&loaded, &now);
        assert_eq!(changes.set, record(&[("a.changed", 9), ("a.new", 4)]));
        assert_eq!(changes.remove, vec!["a.gone".to_string()]);
    }

    #[test]
    fn the_growth_of_changes_counts_replaced_values_once() {
        let loaded = record(&[("a.x", 1), ("a.y", 2)]);
        let changes = Changes { set: record(&[("a.x", 3), ("a.zzz", 4)]), remove: vec![] };
        let mut after = loaded.clone();
        changes.apply_to(&mut after);
        assert_eq!(changes.growth(&loaded), Some(record_size(&after) - record_size(&loaded)));
    }

    #[test]
    fn changes_that_shrink_or_keep_the_size_have_no_growth() {
        let loaded = record(&[("a.x", 1), ("a.y", 2)]);
        let replaced = Changes { set: record(&[("a.x", 3)]), remove: vec!["a.y".into()] };
        assert_eq!(replaced.growth(&loaded), None);
        assert_eq!(Changes { set: record(&[("a.x", 3)]), remove: vec![] }.growth(&loaded), None);
    }

    #[test]
    fn changes_name_the_keys_they_set_and_remove() {
        let changes = Changes { set: record(&[("a.x", 1)]), remove: vec!["a.y".into()] };
        assert!(changes.names("a.x") && changes.names("a.y"));
        assert!(!changes.names("a.z"));
    }

    #[test]
    fn diff_of_equal_records_is_empty() {
        let loaded = record(&[("a.x", 1)]);
        assert!(Changes::between(&loaded, &loaded.clone()).is_empty());
    }
}
