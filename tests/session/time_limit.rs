//! A store's per-request time limit bounds a request's load and save together.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::http::Status;
use rocket_typed_session::store::{Changes, Error, MemoryStore, Record, Regenerated, SessionStore};

use crate::support::app::rocket;
use crate::support::App;

const LIMIT: Duration = Duration::from_millis(500);
const DELAY: Duration = Duration::from_millis(400);

/// A memory store whose every operation first waits `delay`, with a time limit of `LIMIT`.
#[derive(Clone, Default)]
struct SlowStore {
    inner: Arc<MemoryStore>,
    delay: Arc<Mutex<Duration>>,
}

impl SlowStore {
    fn slow_down(&self) {
        *self.delay.lock().unwrap() = DELAY;
    }

    async fn wait(&self) {
        let delay = *self.delay.lock().unwrap();
        rocket::tokio::time::sleep(delay).await;
    }
}

#[rocket_typed_session::async_trait]
impl SessionStore for SlowStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Record>, Error> {
        self.wait().await;
        self.inner.load(key, touch).await
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        self.wait().await;
        self.inner.create(key, fields, ttl).await
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        self.wait().await;
        self.inner.update(key, changes, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.wait().await;
        self.inner.delete(key).await
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        self.wait().await;
        self.inner.regenerate(old, new, changes, ttl).await
    }

    fn request_time_limit(&self) -> Option<Duration> {
        Some(LIMIT)
    }
}

async fn app_with_session() -> (App, SlowStore, String) {
    let store = SlowStore::default();
    let app = App::launch(rocket(store.clone(), &[])).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    store.slow_down();
    (app, store, cookie)
}

#[rocket::async_test]
async fn a_slow_load_and_a_slow_save_together_give_503_at_the_time_limit() {
    let (app, _store, cookie) = app_with_session().await;
    let started = Instant::now();
    let reply = app.get("/map/set/key/changed", Some(&cookie)).await;
    let took = started.elapsed();
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    // Load and save would take 800 ms; the limit cuts the request off at 500 ms.
    assert!(took < LIMIT + Duration::from_millis(200), "took {took:?}");
}

#[rocket::async_test]
async fn a_read_only_request_is_not_failed_by_a_slow_load() {
    let (app, _store, cookie) = app_with_session().await;
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.body, "value");
}
