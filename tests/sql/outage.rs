//! PostgreSQL stopped, paused and restarted under a running app: 503s within the store
//! timeout, routes without a session unaffected, and recovery without a restart.

use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::app_with;
use crate::support::postgres::PostgresServer;

const TIMEOUT: &str = "500ms";

#[rocket::async_test]
async fn with_postgres_stopped_session_routes_answer_503_and_recover_after_a_restart() {
    let server = PostgresServer::start();
    let app = app_with("postgres", &server.url(), &[("session_store_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.stop();
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    assert_eq!(app.get("/plain", Some(&cookie)).await.status, Status::Ok);
    server.launch();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "the data survived");
}

#[rocket::async_test]
async fn with_postgres_paused_a_request_gives_up_near_the_timeout() {
    let server = PostgresServer::start();
    let app = app_with("postgres", &server.url(), &[("session_store_timeout", TIMEOUT)]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.pause();
    let started = Instant::now();
    let reply = app.get("/map/set/key/other", Some(&cookie)).await;
    let took = started.elapsed();
    server.resume();
    assert_eq!(reply.status, Status::ServiceUnavailable);
    // The bound is 500 ms; the rest allows for a loaded 2-core machine.
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "nothing half-written");
}

#[rocket::async_test]
async fn postgres_down_at_launch_does_not_stop_the_app() {
    let server = PostgresServer::start();
    let url = server.url();
    server.stop();
    let app = app_with("postgres", &url, &[("session_store_timeout", TIMEOUT)]).await;
    assert_eq!(app.get("/map/get/key", None).await.status, Status::Ok, "no cookie, no load");
    assert_eq!(app.get("/map/set/key/v", None).await.status, Status::ServiceUnavailable);
    server.launch();
    let cookie = app.get("/map/set/key/v", None).await.session_cookie().expect("works now");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "v");
}

#[rocket::async_test]
async fn a_read_only_database_refuses_writes_with_503_and_keeps_the_session() {
    let server = PostgresServer::start();
    // Without rolling expiry a read writes nothing, so it still works read-only.
    let keys = [("session_store_timeout", TIMEOUT), ("session_refresh_each_request", "false")];
    let app = app_with("postgres", &server.url(), &keys).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    server.stop();
    server.launch_with("-c default_transaction_read_only=on");
    // A read first, so that the write below meets a live, read-only connection.
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "reads still work");
    let reply = app.get("/map/set/key/other", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value", "nothing changed");
}

#[rocket::async_test]
async fn an_exhausted_pool_is_a_503_at_the_bound_not_a_queue() {
    let url = crate::support::postgres::shared_postgres().url();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(500))
        .connect(&url)
        .await
        .unwrap();
    let options = rocket_typed_session::store::SqlOptions {
        timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let store = rocket_typed_session::store::PostgresStore::new(pool.clone(), options).unwrap();
    let app = crate::support::App::launch(crate::support::app::rocket(store, &[])).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let held = pool.acquire().await.unwrap();
    let started = Instant::now();
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    let took = started.elapsed();
    drop(held);
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}
