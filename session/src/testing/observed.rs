//! [`ObservedStore`]: any store, with an [`Observer`] that sees every call before it runs and
//! may fail it in its place. For tests that count the store traffic of a route, or that
//! switch a store off to watch the app answer 503.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::store::{Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore};

/// A store call, as an [`Observer`] sees it before it reaches the store.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum StoreCall<'a> {
    /// [`SessionStore::load`].
    Load {
        /// The storage key.
        key: &'a str,
        /// The lifetime a rolling load resets, if any.
        touch: Option<Duration>,
    },
    /// [`SessionStore::create`].
    Create {
        /// The storage key.
        key: &'a str,
        /// The record to store.
        fields: &'a Record,
    },
    /// [`SessionStore::update`].
    Update {
        /// The storage key.
        key: &'a str,
        /// The fields set and removed.
        changes: &'a Changes,
    },
    /// [`SessionStore::delete`].
    Delete {
        /// The storage key.
        key: &'a str,
    },
    /// [`SessionStore::regenerate`].
    Regenerate {
        /// The storage key moved from.
        old: &'a str,
        /// The storage key moved to.
        new: &'a str,
        /// The fields set and removed on the way.
        changes: &'a Changes,
    },
    /// [`SessionStore::peek`].
    Peek {
        /// The storage keys read.
        keys: &'a [String],
    },
}

/// What an [`ObservedStore`] tells of each call.
#[crate::async_trait]
pub trait Observer: Send + Sync + 'static {
    /// Sees `call` before it reaches the store. An error is returned in the call's place,
    /// and the store is not called.
    ///
    /// # Errors
    /// Whatever the observer wants the call to fail with.
    async fn before(&self, call: StoreCall<'_>) -> Result<(), Error>;

    /// The time limit the observed store reports, given the wrapped store's. The default
    /// keeps the wrapped store's.
    fn request_time_limit(&self, inner: Option<Duration>) -> Option<Duration> {
        inner
    }
}

#[crate::async_trait]
impl<O: Observer> Observer for Arc<O> {
    async fn before(&self, call: StoreCall<'_>) -> Result<(), Error> {
        (**self).before(call).await
    }

    fn request_time_limit(&self, inner: Option<Duration>) -> Option<Duration> {
        (**self).request_time_limit(inner)
    }
}

/// A store whose every call an [`Observer`] sees first. It derefs to the observer, so a test
/// reads what the observer gathered straight from the store it attached.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use rocket::local::asynchronous::Client;
/// use rocket::{get, routes};
/// use rocket_typed_session::store::{Error, MemoryStore};
/// use rocket_typed_session::testing::{ObservedStore, Observer, StoreCall};
/// use rocket_typed_session::{async_trait, Session, SessionFairing};
///
/// /// Counts round trips.
/// #[derive(Default)]
/// struct Calls(AtomicUsize);
///
/// #[async_trait]
/// impl Observer for Calls {
///     async fn before(&self, _: StoreCall<'_>) -> Result<(), Error> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// #[derive(Session, Default)]
/// struct Counter {
///     hits: u64,
/// }
///
/// #[get("/count")]
/// fn count(mut counter: Session<Counter>) -> String {
///     counter.hits += 1;
///     counter.hits.to_string()
/// }
///
/// # rocket::async_test(async {
/// let store = ObservedStore::new(MemoryStore::default(), Arc::new(Calls::default()));
/// let fairing = SessionFairing::with_store(store.clone());
/// let client = Client::untracked(rocket::build().attach(fairing).mount("/", routes![count]))
///     .await
///     .unwrap();
/// client.get("/count").dispatch().await;
/// // A first visit without a cookie loads nothing: its one round trip creates the session.
/// assert_eq!(store.0.load(Ordering::Relaxed), 1);
/// # })
/// ```
pub struct ObservedStore<O> {
    inner: Arc<dyn SessionStore>,
    observer: O,
}

impl<O: Observer> ObservedStore<O> {
    /// `inner`, with `observer` seeing every call first.
    pub fn new(inner: impl SessionStore, observer: O) -> Self {
        ObservedStore { inner: Arc::new(inner), observer }
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }
}

impl<O: Clone> Clone for ObservedStore<O> {
    fn clone(&self) -> Self {
        ObservedStore { inner: self.inner.clone(), observer: self.observer.clone() }
    }
}

impl<O> Deref for ObservedStore<O> {
    type Target = O;

    fn deref(&self) -> &O {
        &self.observer
    }
}

#[crate::async_trait]
impl<O: Observer> SessionStore for ObservedStore<O> {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        self.observer.before(StoreCall::Load { key, touch }).await?;
        self.inner.load(key, touch).await
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        self.observer.before(StoreCall::Create { key, fields }).await?;
        self.inner.create(key, fields, ttl).await
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        self.observer.before(StoreCall::Update { key, changes }).await?;
        self.inner.update(key, changes, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.observer.before(StoreCall::Delete { key }).await?;
        self.inner.delete(key).await
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        self.observer.before(StoreCall::Regenerate { old, new, changes }).await?;
        self.inner.regenerate(old, new, changes, ttl).await
    }

    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        self.observer.before(StoreCall::Peek { keys }).await?;
        self.inner.peek(keys).await
    }

    async fn cleanup(&self) -> Result<(), Error> {
        self.inner.cleanup().await
    }

    fn request_time_limit(&self) -> Option<Duration> {
        self.observer.request_time_limit(self.inner.request_time_limit())
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn ping(&self) -> Option<Result<(), Error>> {
        self.inner.ping().await
    }
}
