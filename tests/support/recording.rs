//! A store wrapper that records every call and can be told to fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket_typed_session::store::{
    Changes, Error, Loaded, MemoryStore, Record, Regenerated, SessionStore,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Load { key: String, touch: Option<Duration> },
    Create { key: String, fields: Record },
    Update { key: String, changes: Changes },
    Delete { key: String },
    Regenerate { old: String, new: String, changes: Changes },
}

/// A memory store whose calls are recorded and which can be told to fail or to be slow;
/// clones share the record and the switches.
#[derive(Clone, Default)]
pub struct RecordingStore {
    pub inner: MemoryStore,
    calls: Arc<Mutex<Vec<Call>>>,
    fail_loads: Arc<AtomicBool>,
    fail_writes: Arc<AtomicBool>,
    /// How long every call waits before it runs.
    delay: Arc<Mutex<Duration>>,
    time_limit: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
#[error("the test switched the store off")]
struct SwitchedOff;

fn unavailable() -> Error {
    Error::Unavailable { store: "recording", source: Box::new(SwitchedOff) }
}

impl RecordingStore {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    pub fn fail_loads(&self, fail: bool) {
        self.fail_loads.store(fail, Ordering::SeqCst);
    }

    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// Makes every call wait `delay` first.
    pub fn slow_down(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// A store that reports `limit` as its per-request time limit.
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    pub async fn record(&self, key: &str) -> Option<Record> {
        self.inner.load(key, None).await.unwrap().map(|loaded| loaded.record)
    }

    /// Records the call, then waits the configured delay.
    async fn log(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            rocket::tokio::time::sleep(delay).await;
        }
    }

    fn check_writes(&self) -> Result<(), Error> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(unavailable());
        }
        Ok(())
    }
}

#[rocket_typed_session::async_trait]
impl SessionStore for RecordingStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        self.log(Call::Load { key: key.into(), touch }).await;
        if self.fail_loads.load(Ordering::SeqCst) {
            return Err(unavailable());
        }
        self.inner.load(key, touch).await
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        self.log(Call::Create { key: key.into(), fields: fields.clone() }).await;
        self.check_writes()?;
        self.inner.create(key, fields, ttl).await
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        self.log(Call::Update { key: key.into(), changes: changes.clone() }).await;
        self.check_writes()?;
        self.inner.update(key, changes, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.log(Call::Delete { key: key.into() }).await;
        self.check_writes()?;
        self.inner.delete(key).await
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        self.log(Call::Regenerate { old: old.into(), new: new.into(), changes: changes.clone() })
            .await;
        self.check_writes()?;
        self.inner.regenerate(old, new, changes, ttl).await
    }

    fn request_time_limit(&self) -> Option<Duration> {
        self.time_limit
    }
}
