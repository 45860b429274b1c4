use std::collections::BTreeMap;

use crate::app_on;
use crate::support::redis::RedisServer;

/// The session commands run since the last reset, without the test's own INFO/CONFIG calls.
async fn session_commands(server: &RedisServer) -> BTreeMap<String, u64> {
    let mut counts = server.command_counts().await;
    counts.retain(|name, _| {
        !["info", "config", "client", "hello"].iter().any(|own| name.starts_with(own))
    });
    counts
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(name, calls)| (name.to_string(), *calls)).collect()
}

#[rocket::async_test]
async fn store_traffic_stays_within_the_round_trip_budget() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    // Warm up: a connection exists and the read and write scripts are loaded before counting.
    let cookie = app.get("/map/set/key/first", None).await.session_cookie().unwrap();
    app.get("/map/set/key/value", Some(&cookie)).await;

    server.reset_stats().await;
    assert_eq!(app.get("/map/get/key", None).await.body, "not set");
    assert_eq!(session_commands(&server).await, counts(&[]), "anonymous read");

    // One EVALSHA; Redis also counts the commands the script runs inside it. The TTL was
    // set by the write just before, within the touch interval: no PEXPIRE. The server's
    // clock was sampled by the warm-up's read, less than a second ago: no TIME.
    server.reset_stats().await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    let read = counts(&[("evalsha", 1), ("hgetall", 1), ("pttl", 1)]);
    assert_eq!(session_commands(&server).await, read, "read");

    server.reset_stats().await;
    app.get("/map/set/key/changed", Some(&cookie)).await;
    // Two round trips: the load, then the update (TIME against its deadline, EXISTS, HSET,
    // and PTTL: the TTL was reset within the touch interval, so no PEXPIRE).
    let write = counts(&[
        ("evalsha", 2),
        ("time", 1),
        ("hgetall", 1),
        ("pttl", 2),
        ("exists", 1),
        ("hset", 1),
    ]);
    assert_eq!(session_commands(&server).await, write, "write");
}

#[rocket::async_test]
async fn a_rolling_read_resets_the_ttl_once_the_touch_interval_has_passed() {
    let server = RedisServer::start();
    // A 64th of 2 s is about 31 ms.
    let app = app_on(&server.url(), &[("session_lifetime", "2s")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    // Loads the read script, so that only the read measured below is counted.
    app.get("/map/get/key", Some(&cookie)).await;
    rocket::tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.reset_stats().await;
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.session_cookie().as_deref(), Some(cookie.as_str()), "the cookie is refreshed");
    let read = counts(&[("evalsha", 1), ("hgetall", 1), ("pttl", 1), ("pexpire", 1)]);
    assert_eq!(session_commands(&server).await, read);
}

#[rocket::async_test]
async fn without_rolling_expiry_a_read_is_a_lone_hgetall() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[("session_refresh_each_request", "false")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    // The first read samples the clock; the next, within the second, does not.
    app.get("/map/get/key", Some(&cookie)).await;
    server.reset_stats().await;
    app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(session_commands(&server).await, counts(&[("hgetall", 1)]));
}

#[rocket::async_test]
async fn without_rolling_expiry_a_read_that_samples_the_clock_moves_no_expiry() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[("session_refresh_each_request", "false")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    // Loads the script, so that only the read measured below is counted.
    app.get("/map/get/key", Some(&cookie)).await;
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    server.reset_stats().await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    let read = counts(&[("evalsha", 1), ("hgetall", 1), ("time", 1)]);
    assert_eq!(session_commands(&server).await, read);
}

#[rocket::async_test]
async fn scripts_are_loaded_again_after_a_restart() {
    let mut server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    app.get("/map/set/key/value", None).await;
    server.restart();
    let reply = app.get("/map/set/key/value", None).await;
    let cookie = reply.session_cookie().expect("the session was stored");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

/// Only a broken connection, or a master turned replica, earns a second try: an error the
/// server answers (here a session key of another type) would only be answered again.
#[rocket::async_test]
async fn an_error_the_server_answers_is_not_sent_again() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    let key = crate::support::storage_key(&cookie);
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("not a hash")
        .query_async(&mut server.connection().await)
        .await
        .unwrap();

    server.reset_stats().await;
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_ne!(reply.status, rocket::http::Status::Ok, "{}", reply.body);
    assert_eq!(session_commands(&server).await.get("evalsha"), Some(&1));
}
