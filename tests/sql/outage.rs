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
