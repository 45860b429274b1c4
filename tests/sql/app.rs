//! The app on each SQL store, through the fairing and its configuration.

use rocket::http::Status;

use crate::support::devices;
use crate::support::mariadb::shared_mariadb;
use crate::support::postgres::shared_postgres;
use crate::support::App;
use crate::{app_with, sqlite_url};

async fn a_session_lives_and_ends_on(store: &str, url: &str) {
    let app = app_with(store, url, &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().expect("a cookie");
    app.get("/cart/add/2", Some(&cookie)).await;
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1, 2] coupon=None");
    let moved = app.get("/login/ada", Some(&cookie)).await.session_cookie().unwrap();
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[] coupon=None");
    assert_eq!(app.get("/private", Some(&moved)).await.status, Status::Ok);
    app.get("/logout", Some(&moved)).await;
    assert_eq!(app.get("/private", Some(&moved)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_session_lives_regenerates_and_ends_on_postgres() {
    a_session_lives_and_ends_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn a_session_lives_regenerates_and_ends_on_mysql() {
    a_session_lives_and_ends_on("mysql", &shared_mariadb().url()).await;
}

#[rocket::async_test]
async fn a_session_lives_regenerates_and_ends_on_sqlite() {
    a_session_lives_and_ends_on("sqlite", &sqlite_url()).await;
}

async fn revoking_a_user_works_on(store: &str, url: &str) {
    let app = app_with(store, url, &[]).await;
    let laptop = app.get("/login/bound/grace", None).await.session_cookie().unwrap();
    let phone = app.get("/login/bound/grace", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/revoke/grace", None).await.body, "2");
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn revoking_a_user_ends_their_sessions_on_postgres() {
    revoking_a_user_works_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn revoking_a_user_ends_their_sessions_on_mysql() {
    revoking_a_user_works_on("mysql", &shared_mariadb().url()).await;
}

#[rocket::async_test]
async fn revoking_a_user_ends_their_sessions_on_sqlite() {
    revoking_a_user_works_on("sqlite", &sqlite_url()).await;
}

async fn two_requests_changing_different_fields_keep_both_on(store: &str, url: &str) {
    let app = app_with(store, url, &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    let (items, coupon) = rocket::tokio::join!(
        app.get("/barrier/items/2", Some(&cookie)),
        app.get("/barrier/coupon/SAVE", Some(&cookie))
    );
    assert_eq!((items.status, coupon.status), (Status::Ok, Status::Ok));
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1, 2] coupon=Some(\"SAVE\")");
}

#[rocket::async_test]
async fn two_requests_changing_different_fields_keep_both_on_postgres() {
    two_requests_changing_different_fields_keep_both_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn two_requests_changing_different_fields_keep_both_on_mysql() {
    two_requests_changing_different_fields_keep_both_on("mysql", &shared_mariadb().url()).await;
}

/// Logins insert rows next to each other's; none may fail on another's locks.
async fn concurrent_logins_all_succeed_on(store: &str, url: &str) {
    let app = std::sync::Arc::new(app_with(store, url, &[]).await);
    let mut logins = rocket::tokio::task::JoinSet::new();
    for i in 0..48 {
        let app = app.clone();
        logins.spawn(async move { app.get(&format!("/login/bound/user{}", i % 4), None).await });
    }
    while let Some(reply) = logins.join_next().await {
        let reply = reply.expect("the request task ends");
        assert_eq!(reply.status, Status::Ok, "{reply:?}");
    }
}

#[rocket::async_test]
async fn concurrent_logins_all_succeed_on_postgres() {
    concurrent_logins_all_succeed_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn concurrent_logins_all_succeed_on_mysql() {
    concurrent_logins_all_succeed_on("mysql", &shared_mariadb().url()).await;
}

/// Every behaviour of the device list, on one store.
async fn the_device_list_works_on(store: &str, url: &str) {
    let app = app_with(store, url, &[]).await;
    devices::a_listing_shows_each_session_with_its_client(&app).await;
    devices::a_handle_ends_its_session_for_its_user_only(&app).await;
    devices::signing_out_the_other_devices_keeps_the_callers(&app).await;
    let capped = app_with(store, url, &[("session_max_per_user", "2")]).await;
    devices::a_login_past_the_cap_ends_the_least_recently_active(&capped).await;
    let rolling = app_with(store, url, &[devices::SECOND_TOUCH_INTERVAL]).await;
    devices::last_seen_moves_only_when_the_expiry_is_reset(&rolling).await;
    let (rocket, heard) = crate::support::app::configured_hearing(&[
        ("session_type", store),
        ("session_sql_url", url),
    ]);
    devices::the_hook_hears_logins_and_revocations(&App::launch(rocket).await, &heard).await;
}

#[rocket::async_test]
async fn the_device_list_works_on_postgres() {
    the_device_list_works_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn the_device_list_works_on_mysql() {
    the_device_list_works_on("mysql", &shared_mariadb().url()).await;
}

#[rocket::async_test]
async fn the_device_list_works_on_sqlite() {
    the_device_list_works_on("sqlite", &sqlite_url()).await;
}
