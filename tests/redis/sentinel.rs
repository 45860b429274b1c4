//! Redis Sentinel: the store follows the master the Sentinels name, through a failover,
//! without a restart of the app.

use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::support::app::configured;
use crate::support::redis::{stored_sessions, GuardedSentinel, RedisSentinel, SENTINEL_MASTER};
use crate::support::App;

async fn app_on(deployment: &RedisSentinel) -> App {
    // Acknowledged writes are on the replica, so the failover cannot lose them.
    app_on_sentinels(&deployment.urls(), &[("session_redis_wait_replicas", "1")]).await
}

/// An app on the master the Sentinels at `urls` name, with `keys` besides.
pub(crate) async fn app_on_sentinels(urls: &[String], keys: &[(&str, &str)]) -> App {
    let urls = format!("{urls:?}");
    let mut settings = vec![
        ("session_type", "redis_sentinel"),
        ("session_redis_sentinel_urls", urls.as_str()),
        ("session_redis_sentinel_master", SENTINEL_MASTER),
    ];
    settings.extend_from_slice(keys);
    App::launch(configured(&settings)).await
}

#[rocket::async_test]
async fn sessions_live_on_the_master_the_sentinels_name() {
    let deployment = RedisSentinel::start();
    let app = app_on(&deployment).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    let stored = stored_sessions(&mut deployment.master.connection().await).await;
    assert_eq!(stored, 1, "the session is stored on the master");
}

#[rocket::async_test]
async fn after_a_failover_sessions_read_back_and_writes_reach_the_new_master() {
    let deployment = RedisSentinel::start();
    let app = app_on(&deployment).await;
    let cookie = app.get("/map/set/key/before", None).await.session_cookie().unwrap();

    deployment.fail_over();

    assert_eq!(until_ok(&app, "/map/get/key", &cookie).await, "before", "the session survived");
    // Writes are answered 503 until the old master follows the new one as a replica
    // (`session_redis_wait_replicas`).
    until_ok(&app, "/map/set/key/after", &cookie).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "after");
    let stored = stored_sessions(&mut deployment.replica.connection().await).await;
    assert_eq!(stored, 1, "the session is on the promoted replica");
}

#[rocket::async_test]
async fn sessions_live_on_a_master_behind_a_password_in_the_database_configured() {
    let deployment = GuardedSentinel::start("s3cret");
    let login = [
        ("session_redis_sentinel_master_password", "s3cret"),
        ("session_redis_sentinel_master_db", "3"),
    ];
    let app = app_on_sentinels(&deployment.urls(), &login).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    let url = format!("redis://:s3cret@127.0.0.1:{}/3", deployment.master.port);
    let mut master =
        redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    assert_eq!(
        stored_sessions(&mut master).await,
        1,
        "the session is stored in database 3 of the master"
    );
}

#[rocket::async_test]
async fn a_master_behind_a_password_not_configured_is_a_503() {
    let deployment = GuardedSentinel::start("s3cret");
    let app = app_on_sentinels(&deployment.urls(), &[]).await;
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::ServiceUnavailable);
}

/// Asks for `path` until it is answered 200, at most 20 seconds; on the way only 503 may
/// answer. Returns the body.
async fn until_ok(app: &App, path: &str, cookie: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = app.get(path, Some(cookie)).await;
        if reply.status == Status::Ok {
            return reply.body;
        }
        assert_eq!(reply.status, Status::ServiceUnavailable, "{path}");
        assert!(Instant::now() < deadline, "{path} still answers 503");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
