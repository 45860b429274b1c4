use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::app_on;
use crate::support::proxy::CountingProxy;
use crate::support::redis::{free_port, RedisServer};
use crate::support::{saved_late_after_a_slow_load, App};

const TIMEOUT: &str = "500ms";
/// How long past the configured timeout a 503 may take on this shared, noisy machine: a
/// bound that tells a hang from an answer, not a speed goal.
const MARGIN: Duration = Duration::from_millis(1500);

#[rocket::async_test]
async fn with_redis_stopped_session_routes_answer_503_in_time_and_others_200() {
    let mut server = RedisServer::start();
    let app = app_on(&server.url(), &[("session_redis_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.stop();

    for (path, cookie) in [("/map/get/key", Some(cookie.as_str())), ("/map/set/key/v", None)] {
        let started = Instant::now();
        let reply = app.get(path, cookie).await;
        let took = started.elapsed();
        assert_eq!(reply.status, Status::ServiceUnavailable, "{path}");
        assert_eq!(reply.header("Retry-After"), Some("1"), "{path}");
        assert!(reply.set_cookies.is_empty(), "{path}: {:?}", reply.set_cookies);
        assert!(took < Duration::from_millis(500) + MARGIN, "{path} took {took:?}");
    }
    assert_eq!(app.get("/plain", None).await.status, Status::Ok);
}

#[rocket::async_test]
async fn with_redis_paused_a_request_gives_up_at_the_timeout() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[("session_redis_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.pause();
    let started = Instant::now();
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    let took = started.elapsed();
    server.resume();
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(took < Duration::from_millis(500) + MARGIN, "took {took:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

#[rocket::async_test]
async fn after_a_restart_sessions_work_again_without_restarting_the_app() {
    let mut server = RedisServer::start();
    let app = app_on(&server.url(), &[("session_redis_timeout", TIMEOUT)]).await;
    let old = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.stop();
    assert_eq!(app.get("/map/get/key", Some(&old)).await.status, Status::ServiceUnavailable);
    server.restart();

    // The restarted server is empty: the old id is unknown and is not adopted.
    let reply = app.get("/map/set/key/again", Some(&old)).await;
    assert_eq!(reply.status, Status::Ok);
    let new = reply.session_cookie().expect("a new id");
    assert_ne!(new, old);
    assert_eq!(app.get("/map/get/key", Some(&new)).await.body, "again");
}

#[rocket::async_test]
async fn a_restart_between_two_requests_costs_the_second_no_503() {
    let mut server = RedisServer::start();
    // One connection, so that the request after the restart meets the one kept from before.
    let keys = [("session_redis_timeout", TIMEOUT), ("session_redis_pool_size", "1")];
    let app = app_on(&server.url(), &keys).await;
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::Ok);
    server.restart();
    // The kept connection is broken: the write is tried once more on a new one.
    let reply = app.get("/map/set/key/again", None).await;
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(app.get("/map/get/key", reply.session_cookie().as_deref()).await.body, "again");
}

#[rocket::async_test]
async fn redis_down_at_launch_does_not_stop_the_app() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let app = app_on(&url, &[("session_redis_timeout", TIMEOUT)]).await;
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::ServiceUnavailable);
    assert_eq!(app.get("/plain", None).await.status, Status::Ok);

    let _server = RedisServer::start_with(port, &[]);
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().expect("stored now");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

/// The load and the save of one request share `session_redis_timeout`: with every reply
/// 260 ms late, each round trip fits in 500 ms but a write's two do not, so the save gets
/// what the load left and gives up. (Whether Redis applied the write is then unknown: only
/// its reply was late.)
#[rocket::async_test]
async fn a_request_s_load_and_save_share_one_timeout() {
    let server = RedisServer::start();
    let proxy = CountingProxy::start(server.port);
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let app = app_on(&url, &[("session_redis_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    // Connections opened and scripts loaded first, so that each request below is its own
    // round trips only.
    for value in ["one", "two", "value"] {
        app.get(&format!("/map/set/key/{value}"), Some(&cookie)).await;
        app.get("/map/get/key", Some(&cookie)).await;
    }
    proxy.delay_replies(Duration::from_millis(260));
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "a read fits");
    let reply = app.get("/map/set/key/other", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
}

/// A save that reaches Redis only after the app gave up on it (held back by the relay, as a
/// stalled server would take it in late) writes nothing: it must not replace what a later
/// request wrote, nor what the client was told is still there.
#[rocket::async_test]
async fn a_save_that_reaches_redis_after_its_deadline_writes_nothing() {
    held_save_writes_nothing(&[]).await;
}

/// Without rolling expiry reads move no expiry, and about one a second samples the clock
/// all the same.
#[rocket::async_test]
async fn without_rolling_expiry_a_save_that_reaches_redis_after_its_deadline_writes_nothing() {
    held_save_writes_nothing(&[("session_refresh_each_request", "false")]).await;
}

/// A save the relay holds past the app's limit, on an app configured with `keys`, writes
/// nothing.
async fn held_save_writes_nothing(keys: &[(&str, &str)]) {
    let (_server, proxy, app, cookie) = app_through_a_relay_with(keys).await;
    proxy.hold_requests_containing(b"late", Duration::from_millis(900));
    let reply = app.get("/map/set/key/late", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    // The held save reaches Redis 900 ms after it was sent, 400 ms past the app's limit.
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "first");
}

/// A slow load leaves the save less than the timeout, and its deadline with it: a save that
/// reaches Redis after the request's limit, though within a timeout of its own start, writes
/// nothing.
#[rocket::async_test]
async fn a_save_after_a_slow_load_is_fenced_where_the_request_s_limit_ends() {
    let (server, proxy, app, cookie) = app_through_a_relay().await;
    let request = ("/map/set/key/late", cookie.as_str());
    let (pause, resume) = (|| server.pause(), || server.resume());
    saved_late_after_a_slow_load(&app, &proxy, request, b"late", pause, resume).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "first");
}

/// An app on a fresh server through a relay, with a session whose value `key` is `first`.
/// The update script is loaded, so that a held save is one the server would run, and a
/// read has shown the store the server's clock.
async fn app_through_a_relay() -> (RedisServer, CountingProxy, App, String) {
    app_through_a_relay_with(&[]).await
}

/// The same, configured with `keys` too.
async fn app_through_a_relay_with(
    keys: &[(&str, &str)],
) -> (RedisServer, CountingProxy, App, String) {
    let server = RedisServer::start();
    let proxy = CountingProxy::start(server.port);
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let mut all = vec![("session_redis_timeout", TIMEOUT)];
    all.extend_from_slice(keys);
    let app = app_on(&url, &all).await;
    let cookie = app.get("/map/set/key/zeroth", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/set/key/first", Some(&cookie)).await.status, Status::Ok);
    (server, proxy, app, cookie)
}
