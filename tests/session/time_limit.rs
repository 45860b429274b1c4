//! A store's per-request time limit bounds a request's load and save together.

use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::support::app::rocket;
use crate::support::{recording_store, App};

const LIMIT: Duration = Duration::from_millis(500);
/// Each call's delay: a load and a save together take 800 ms, past the limit.
const DELAY: Duration = Duration::from_millis(400);

async fn app_with_session() -> (App, String) {
    let store = recording_store();
    store.limit_time(LIMIT);
    let app = App::launch(rocket(store.clone(), &[])).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    store.slow_down(DELAY);
    (app, cookie)
}

#[rocket::async_test]
async fn a_slow_load_and_a_slow_save_together_give_503_at_the_time_limit() {
    let (app, cookie) = app_with_session().await;
    let started = Instant::now();
    let reply = app.get("/map/set/key/changed", Some(&cookie)).await;
    let took = started.elapsed();
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    assert!(took < LIMIT + Duration::from_millis(200), "took {took:?}");
}

#[rocket::async_test]
async fn a_read_only_request_is_not_failed_by_a_slow_load() {
    let (app, cookie) = app_with_session().await;
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.body, "value");
}
