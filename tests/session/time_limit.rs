//! A store's per-request time limit bounds a request's load and save together. The tests
//! run on a paused tokio clock: the store's delays and the limit are virtual time, so the
//! bound is exact whatever else the machine is doing.

use std::time::Duration;

use rocket::tokio::time::Instant;

use rocket::http::Status;

use crate::support::app::rocket;
use crate::support::{recording_store, App, Reply};

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

/// A request to `path` with the session's cookie, once the store is slow, and how long it
/// took in virtual time.
fn timed_on_paused_clock(path: &str) -> (Reply, Duration) {
    let runtime = rocket::tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a test runtime");
    runtime.block_on(async {
        let (app, cookie) = app_with_session().await;
        let started = Instant::now();
        let reply = app.get(path, Some(&cookie)).await;
        (reply, started.elapsed())
    })
}

#[test]
fn a_slow_load_and_a_slow_save_together_give_503_at_the_time_limit() {
    let (reply, took) = timed_on_paused_clock("/map/set/key/changed");
    // The load's 400 ms, then the save cut off at the 100 ms the limit leaves it.
    assert_eq!(took, LIMIT);
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert_eq!(reply.header("Retry-After"), Some("1"));
}

#[test]
fn a_read_only_request_is_not_failed_by_a_slow_load() {
    let (reply, took) = timed_on_paused_clock("/map/get/key");
    assert_eq!(took, DELAY, "one load; a read saves nothing");
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.body, "value");
}
