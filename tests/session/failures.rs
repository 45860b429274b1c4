use rocket::http::Status;

use crate::support::app::{launch, launch_with, session_with_cart};
use crate::support::{storage_key, App, Call};

#[rocket::async_test]
async fn a_store_that_fails_to_load_gives_503_with_retry_after() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    store.fail_loads(true);
    let reply = app.get("/cart", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    assert!(reply.set_cookies.is_empty());
}

#[rocket::async_test]
async fn a_failed_load_is_never_read_as_an_empty_session() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    store.fail_loads(true);
    store.take_calls();
    let reply = app.get("/cart/add/2", Some(&cookie)).await;
    // Read as empty, the handler would answer `[2]` and a fresh session would be stored
    // under a new id, with a cookie for it.
    assert_eq!(reply.status, Status::ServiceUnavailable, "{}", reply.body);
    assert!(!reply.body.contains("[2]"), "the handler ran: {}", reply.body);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    let calls = store.take_calls();
    assert!(matches!(calls[..], [Call::Load { .. }]), "no write after the failed load: {calls:?}");
    assert_eq!(store.inner.len(), 1, "no other record was stored");
    store.fail_loads(false);
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1] coupon=None");
}

#[rocket::async_test]
async fn a_route_without_sessions_answers_while_the_store_is_down() {
    let (app, store) = launch().await;
    store.fail_loads(true);
    store.fail_writes(true);
    assert_eq!(app.get("/plain", None).await.status, Status::Ok);
}

#[rocket::async_test]
async fn a_failed_first_save_gives_503_and_no_cookie() {
    let (app, store) = launch().await;
    store.fail_writes(true);
    let reply = app.get("/map/set/key/value", None).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    assert_ne!(reply.body, "ok");
}

#[rocket::async_test]
async fn a_failed_update_gives_503_and_keeps_the_stored_data() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    store.fail_writes(true);
    let reply = app.get("/cart/add/2", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);
    assert!(reply.set_cookies.is_empty());
    store.fail_writes(false);
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1] coupon=None");
}

/// A session holding a lucky number and a cart: its cookie and its size.
async fn session_with_luck_and_cart(app: &App) -> (String, String) {
    let cookie = app.get("/luck/7", None).await.session_cookie().unwrap();
    app.get("/cart/add/1", Some(&cookie)).await;
    let size = app.get("/cart/size", Some(&cookie)).await.body;
    (cookie, size)
}

#[rocket::async_test]
async fn a_value_that_cannot_be_encoded_fails_the_request_and_keeps_the_stored_session() {
    let (app, _store) = launch().await;
    let (cookie, size_before) = session_with_luck_and_cart(&app).await;
    let reply = app.get("/luck/13", Some(&cookie)).await;
    assert_eq!(reply.status, Status::InternalServerError, "{reply:?}");
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1] coupon=None");
    assert_eq!(app.get("/cart/size", Some(&cookie)).await.body, size_before);
}

/// A failed encode leaves the namespace as loaded, so a size checked later in the same
/// request counts it.
#[rocket::async_test]
async fn after_a_failed_encode_the_size_of_the_session_still_counts_the_stored_value() {
    let (app, _store) = launch().await;
    let (cookie, stored) = session_with_luck_and_cart(&app).await;
    let reply = app.get("/luck/unstorable/cart-size", Some(&cookie)).await;
    assert_eq!(reply.status, Status::InternalServerError);
    assert_eq!(app.get("/seen", None).await.body, stored);
}

#[rocket::async_test]
async fn a_record_over_the_size_limit_is_refused_and_the_old_one_kept() {
    let (app, store) = launch_with(&[("session_max_size", "64")]).await;
    let cookie = session_with_cart(&app, &[1]).await;
    let long = "x".repeat(100);
    let reply = app.get(&format!("/cart/coupon/{long}"), Some(&cookie)).await;
    assert_eq!(reply.status, Status::InternalServerError);
    assert!(reply.set_cookies.is_empty());
    assert!(store.record(&storage_key(&cookie)).await.is_some());
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1] coupon=None");
}

#[rocket::async_test]
async fn a_handler_learns_of_an_oversized_session_before_it_returns() {
    let (app, store) = launch_with(&[("session_max_size", "64")]).await;
    let cookie = session_with_cart(&app, &[1]).await;
    let reply = app.get("/cart/fill/100", Some(&cookie)).await;
    assert_eq!(reply.status, Status::PayloadTooLarge);
    assert!(reply.body.contains("over the limit of 64 bytes"), "{}", reply.body);
    assert!(store.record(&storage_key(&cookie)).await.is_some());
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1] coupon=None");
}

#[rocket::async_test]
async fn the_size_a_handler_is_told_is_the_size_stored() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    let reply = app.get("/cart/fill/3", Some(&cookie)).await;
    assert_eq!(reply.status, Status::Ok);
    let stored = store.record(&storage_key(&cookie)).await.unwrap();
    assert_eq!(reply.body, rocket_typed_session::store::record_size(&stored).to_string());
}
