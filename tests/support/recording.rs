//! A memory store whose calls are recorded and which can be told to fail or to be slow: the
//! library's `ObservedStore` with a recording observer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket_typed_session::store::{Changes, Error, MemoryStore, Record, SessionStore};
use rocket_typed_session::testing::{ObservedStore, Observer, StoreCall};

#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Load { key: String, touch: Option<Duration> },
    Create { key: String, fields: Record },
    Update { key: String, changes: Changes },
    Delete { key: String },
    Regenerate { old: String, new: String, changes: Changes },
    Peek { keys: Vec<String> },
}

/// The recording store; clones share the record and the switches.
pub type RecordingStore = ObservedStore<Recorder>;

/// A recording store over a fresh memory store.
pub fn recording_store() -> RecordingStore {
    let recorder = Recorder::default();
    ObservedStore::new(recorder.inner.clone(), recorder)
}

/// What the store was asked, and the switches that make it fail or wait.
#[derive(Clone, Default)]
pub struct Recorder {
    /// The store underneath, for reading what was stored without recording it.
    pub inner: MemoryStore,
    calls: Arc<Mutex<Vec<Call>>>,
    fail_loads: Arc<AtomicBool>,
    fail_writes: Arc<AtomicBool>,
    /// How long every call waits before it runs.
    delay: Arc<Mutex<Duration>>,
    time_limit: Arc<Mutex<Option<Duration>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the test switched the store off")]
struct SwitchedOff;

fn unavailable() -> Error {
    Error::Unavailable { store: "recording", source: Box::new(SwitchedOff) }
}

impl Recorder {
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

    /// Makes the store report `limit` as its per-request time limit.
    pub fn limit_time(&self, limit: Duration) {
        *self.time_limit.lock().unwrap() = Some(limit);
    }

    pub async fn record(&self, key: &str) -> Option<Record> {
        self.inner.load(key, None).await.unwrap().map(|loaded| Record::clone(&loaded.record))
    }
}

#[rocket_typed_session::async_trait]
impl Observer for Recorder {
    async fn before(&self, call: StoreCall<'_>) -> Result<(), Error> {
        let (call, fails) = match call {
            StoreCall::Load { key, touch } => {
                (Call::Load { key: key.into(), touch }, &self.fail_loads)
            }
            StoreCall::Create { key, fields } => {
                (Call::Create { key: key.into(), fields: fields.clone() }, &self.fail_writes)
            }
            StoreCall::Update { key, changes } => {
                (Call::Update { key: key.into(), changes: changes.clone() }, &self.fail_writes)
            }
            StoreCall::Delete { key } => (Call::Delete { key: key.into() }, &self.fail_writes),
            StoreCall::Regenerate { old, new, changes } => {
                let call =
                    Call::Regenerate { old: old.into(), new: new.into(), changes: changes.clone() };
                (call, &self.fail_writes)
            }
            StoreCall::Peek { keys } => (Call::Peek { keys: keys.to_vec() }, &self.fail_loads),
            other => unreachable!("a store call the recorder does not know: {other:?}"),
        };
        self.calls.lock().unwrap().push(call);
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            rocket::tokio::time::sleep(delay).await;
        }
        match fails.load(Ordering::SeqCst) {
            true => Err(unavailable()),
            false => Ok(()),
        }
    }

    fn request_time_limit(&self, _: Option<Duration>) -> Option<Duration> {
        *self.time_limit.lock().unwrap()
    }
}
