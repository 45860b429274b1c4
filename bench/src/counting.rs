//! A store wrapper that counts round trips and the bytes each save sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rocket_typed_session::async_trait;
use rocket_typed_session::store::{
    record_size, Changes, Error, Loaded, Record, Regenerated, SessionStore,
};

#[derive(Default)]
pub struct Counters {
    pub calls: AtomicU64,
    pub bytes_written: AtomicU64,
}

impl Counters {
    pub fn take(&self) -> (u64, u64) {
        (self.calls.swap(0, Ordering::Relaxed), self.bytes_written.swap(0, Ordering::Relaxed))
    }

    fn count(&self, bytes: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.bytes_written.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

pub struct Counting {
    pub inner: Arc<dyn SessionStore>,
    pub counters: Arc<Counters>,
}

fn change_bytes(changes: &Changes) -> usize {
    record_size(&changes.set) + changes.remove.iter().map(String::len).sum::<usize>()
}

#[async_trait]
impl SessionStore for Counting {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        self.counters.count(0);
        self.inner.load(key, touch).await
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        self.counters.count(record_size(fields));
        self.inner.create(key, fields, ttl).await
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        self.counters.count(change_bytes(changes));
        self.inner.update(key, changes, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.counters.count(0);
        self.inner.delete(key).await
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        self.counters.count(change_bytes(changes));
        self.inner.regenerate(old, new, changes, ttl).await
    }

    async fn cleanup(&self) -> Result<(), Error> {
        self.inner.cleanup().await
    }

    fn request_time_limit(&self) -> Option<Duration> {
        self.inner.request_time_limit()
    }
}
