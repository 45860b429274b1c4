use rocket::http::Status;

use crate::support::app::{launch, session_with_cart};
use crate::support::storage_key;

#[rocket::async_test]
async fn regenerate_keeps_the_data_under_a_new_id() {
    let (app, _) = launch().await;
    let old = session_with_cart(&app, &[7]).await;
    let new = app.get("/login/ada", Some(&old)).await.session_cookie().expect("a new cookie");
    assert_ne!(new, old);
    assert_eq!(app.get("/both", Some(&new)).await.body, "items=[7] user=Some(\"ada\")");
}

#[rocket::async_test]
async fn regenerate_kills_the_old_id() {
    let (app, store) = launch().await;
    let old = session_with_cart(&app, &[7]).await;
    app.get("/login/ada", Some(&old)).await;
    assert_eq!(store.record(&storage_key(&old)).await, None);
    assert_eq!(app.get("/cart", Some(&old)).await.body, "items=[] coupon=None");
}

#[rocket::async_test]
async fn regenerate_alone_moves_the_session_to_a_new_id() {
    let (app, store) = launch().await;
    let old = session_with_cart(&app, &[7]).await;
    let new = app.get("/regenerate", Some(&old)).await.session_cookie().expect("a new cookie");
    assert_ne!(new, old);
    assert_eq!(store.record(&storage_key(&old)).await, None);
    assert_eq!(app.get("/cart", Some(&new)).await.body, "items=[7] coupon=None");
}

#[rocket::async_test]
async fn destroy_deletes_the_record() {
    let (app, store) = launch().await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    app.get("/logout", Some(&cookie)).await;
    assert_eq!(store.record(&storage_key(&cookie)).await, None);
    assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn destroy_expires_the_cookie_with_the_attributes_it_was_set_with() {
    let keys = [
        ("session_cookie_path", "/"),
        ("session_cookie_domain", "example.com"),
        ("session_cookie_secure", "true"),
        ("session_cookie_samesite", "Strict"),
    ];
    let (app, _) = crate::support::app::launch_with(&keys).await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    let reply = app.get("/logout", Some(&cookie)).await;
    let raw = &reply.set_cookies[0];
    for attribute in
        ["session=;", "Max-Age=0", "Path=/", "Domain=example.com", "Secure", "SameSite=Strict"]
    {
        assert!(raw.contains(attribute), "{raw} lacks {attribute}");
    }
}

#[rocket::async_test]
async fn data_written_after_destroy_starts_a_new_session() {
    let (app, store) = launch().await;
    let old = app.get("/map/set/secret/1", None).await.session_cookie().unwrap();
    let new = app.get("/logout-with-flash", Some(&old)).await.session_cookie().expect("new id");
    assert_ne!(new, old);
    assert_eq!(store.record(&storage_key(&old)).await, None);
    assert_eq!(app.get("/map/get/flash", Some(&new)).await.body, "bye");
    assert_eq!(app.get("/map/get/secret", Some(&new)).await.body, "not set");
}

#[rocket::async_test]
async fn clear_resets_one_namespace_and_keeps_the_others() {
    let (app, store) = launch().await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    app.get("/cart/add/5", Some(&cookie)).await;
    app.get("/cart/clear", Some(&cookie)).await;
    assert_eq!(app.get("/both", Some(&cookie)).await.body, "items=[] user=Some(\"ada\")");
    let record = store.record(&storage_key(&cookie)).await.unwrap();
    assert!(record.keys().all(|key| !key.starts_with("cart.")), "{record:?}");
}

#[rocket::async_test]
async fn destroy_on_a_session_never_stored_writes_nothing() {
    let (app, store) = launch().await;
    let reply = app.get("/logout", None).await;
    assert_eq!(reply.status, Status::Ok);
    assert!(store.calls().is_empty());
    assert!(reply.set_cookies.is_empty());
}

#[rocket::async_test]
async fn a_guard_taken_before_a_destroy_writes_into_the_new_session_from_defaults() {
    let (app, _) = launch().await;
    let cookie = session_with_cart(&app, &[1, 2]).await;
    let cookie = app.get("/login/ada", Some(&cookie)).await.session_cookie().unwrap();
    let reply = app.get("/logout-then-cart/7", Some(&cookie)).await;
    let fresh = reply.session_cookie().expect("the cart write starts a new session");
    assert_ne!(fresh, cookie);
    assert_eq!(app.get("/both", Some(&fresh)).await.body, "items=[7] user=None");
    assert_eq!(app.get("/both", Some(&cookie)).await.body, "items=[] user=None");
}
