//! A field equal to its default is not data: it is stored as absent.

use rocket::http::Status;
use rocket_typed_session::codec::{self, Format};
use rocket_typed_session::store::{Changes, SessionStore};

use rocket_typed_session::testing::TestSessions;

use crate::support::app::{launch, session_with_cart, Auth, Cart};
use crate::support::storage_key;

#[rocket::async_test]
async fn a_new_visitor_whose_fields_stay_at_their_defaults_gets_no_record_and_no_cookie() {
    let (app, store) = launch().await;
    let reply = app.get("/auth/peek", None).await;
    assert_eq!(reply.body, "user=None");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert!(store.calls().is_empty(), "{:?}", store.calls());
}

#[rocket::async_test]
async fn setting_a_field_back_to_its_default_removes_it_from_the_store() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    app.get("/cart/empty", Some(&cookie)).await;
    let record = store.record(&storage_key(&cookie)).await.unwrap();
    let keys: Vec<&String> = record.keys().filter(|key| !key.starts_with("__")).collect();
    assert_eq!(keys, ["cart.coupon"]);
}

#[rocket::async_test]
async fn a_namespace_written_at_its_defaults_keeps_no_field_an_older_version_left() {
    let (app, store) = launch().await;
    // The cart holds only a field its struct no longer has; another namespace keeps the
    // session alive.
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let legacy = codec::encode(Format::Json, &1).unwrap();
    let changes = Changes { set: [("cart.legacy".to_owned(), legacy)].into(), remove: vec![] };
    let ttl = std::time::Duration::from_secs(60);
    store.inner.update(&storage_key(&cookie), &changes, ttl).await.unwrap();

    app.get("/cart/empty", Some(&cookie)).await;
    let record = store.record(&storage_key(&cookie)).await.unwrap();
    assert!(!record.keys().any(|key| key.starts_with("cart.")), "{:?}", record.keys());
}

#[rocket::async_test]
async fn existing_session_forwards_after_a_logout_that_empties_the_field() {
    let (app, _) = launch().await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    app.get("/logout/field", Some(&cookie)).await;
    assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn existing_session_forwards_when_an_older_save_stored_a_default() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    let none = codec::encode(Format::Json, &None::<String>).unwrap();
    let changes = Changes { set: [("auth.user".to_owned(), none)].into(), remove: vec![] };
    let ttl = std::time::Duration::from_secs(60);
    store.inner.update(&storage_key(&cookie), &changes, ttl).await.unwrap();
    assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn the_defaults_a_struct_or_a_function_gives_are_left_out_too() {
    let (app, store) = launch().await;
    let reply = app.get("/prefs/dark/20", None).await;
    assert!(reply.session_cookie().is_none(), "defaults alone are no session");
    let cookie = app.get("/prefs/light/20", None).await.session_cookie().unwrap();
    let record = store.record(&storage_key(&cookie)).await.unwrap();
    let keys: Vec<&String> = record.keys().filter(|key| !key.starts_with("__")).collect();
    assert_eq!(keys, ["prefs.theme"]);
}

#[rocket::async_test]
async fn a_test_session_created_with_a_default_namespace_is_not_an_existing_one() {
    let (app, _) = launch().await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let cookie = sessions
        .create(|s| {
            s.set(&Cart { items: vec![1], coupon: None })?;
            s.set(&Auth::default())
        })
        .await
        .unwrap();
    assert_eq!(app.get("/private", Some(cookie.value())).await.status, Status::Unauthorized);
}
