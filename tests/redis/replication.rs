use std::collections::HashMap;
use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::app_on;
use crate::support::redis::RedisServer;
use crate::support::storage_key;

/// How long past the configured timeout a 503 may take on this shared, noisy machine.
const MARGIN: Duration = Duration::from_millis(1500);

async fn record_on(server: &RedisServer, cookie: &str) -> HashMap<String, Vec<u8>> {
    redis::cmd("HGETALL")
        .arg(storage_key(cookie))
        .query_async(&mut server.connection().await)
        .await
        .unwrap()
}

#[rocket::async_test]
async fn with_wait_replicas_a_write_waits_once_and_is_on_the_replica_when_acknowledged() {
    let primary = RedisServer::start();
    let replica = RedisServer::replica_of(&primary);
    let app = app_on(&primary.url(), &[("session_redis_wait_replicas", "1")]).await;
    // The first write also loads the script; count a steady-state one.
    app.get("/map/set/warm/up", None).await;
    primary.reset_stats().await;

    let reply = app.get("/map/set/key/value", None).await;
    assert_eq!(reply.status, Status::Ok);
    let cookie = reply.session_cookie().unwrap();
    assert_eq!(primary.command_counts().await.get("wait"), Some(&1));
    assert!(!record_on(&replica, &cookie).await.is_empty(), "the replica holds the session");
}

#[rocket::async_test]
async fn with_wait_replicas_a_write_no_replica_acknowledges_in_time_is_a_503() {
    let primary = RedisServer::start();
    let replica = RedisServer::replica_of(&primary);
    let keys = [("session_redis_wait_replicas", "1"), ("session_redis_timeout", "1s")];
    let app = app_on(&primary.url(), &keys).await;
    let first = app.get("/map/set/key/value", None).await;
    let cookie =
        first.session_cookie().unwrap_or_else(|| panic!("the first write failed: {first:?}"));

    replica.pause();
    let started = Instant::now();
    let reply = app.get("/map/set/key/changed", Some(&cookie)).await;
    let took = started.elapsed();
    replica.resume();
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    assert!(took < Duration::from_secs(1) + MARGIN, "took {took:?}");
    assert_eq!(app.get("/map/set/key/again", Some(&cookie)).await.status, Status::Ok);
}

#[rocket::async_test]
async fn with_wait_replicas_a_write_whose_primary_is_demoted_while_it_waits_is_a_503() {
    let primary = RedisServer::start();
    let replica = RedisServer::replica_of(&primary);
    let keys = [("session_redis_wait_replicas", "1"), ("session_redis_timeout", "4s")];
    let app = app_on(&primary.url(), &keys).await;
    let first = app.get("/map/set/key/value", None).await;
    let cookie =
        first.session_cookie().unwrap_or_else(|| panic!("the first write failed: {first:?}"));

    // The write's WAIT blocks on the paused replica; a failover then makes its primary a
    // replica. The Redis here closes the app's connection; one that ends the WAIT with
    // UNBLOCKED first is `store/redis/errors.rs`'s to sort (its tests).
    replica.pause();
    let demote = async {
        rocket::tokio::time::sleep(Duration::from_millis(500)).await;
        let _: () = redis::cmd("REPLICAOF")
            .arg("127.0.0.1")
            .arg(replica.port)
            .query_async(&mut primary.connection().await)
            .await
            .unwrap();
    };
    let (reply, ()) = rocket::tokio::join!(app.get("/map/set/key/changed", Some(&cookie)), demote);
    replica.resume();
    assert_eq!(reply.status, Status::ServiceUnavailable, "{}", reply.body);
    assert_eq!(reply.header("Retry-After"), Some("1"));
}

#[rocket::async_test]
async fn with_wait_replicas_and_no_replica_every_write_is_a_503() {
    let primary = RedisServer::start();
    let keys = [("session_redis_wait_replicas", "1"), ("session_redis_timeout", "200ms")];
    let app = app_on(&primary.url(), &keys).await;
    let reply = app.get("/map/set/key/value", None).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
}

#[rocket::async_test]
async fn without_wait_replicas_a_write_sends_no_wait() {
    let primary = RedisServer::start();
    let _replica = RedisServer::replica_of(&primary);
    let app = app_on(&primary.url(), &[]).await;
    primary.reset_stats().await;
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::Ok);
    let counts = primary.command_counts().await;
    assert!(counts.contains_key("evalsha"), "{counts:?}");
    assert!(!counts.contains_key("wait"), "{counts:?}");
}
