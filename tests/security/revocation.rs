use std::time::Duration;

use rocket::http::Status;

use crate::support::app::{launch, launch_clocked};
use crate::support::clocked::ManualClock;
use crate::support::Call;

#[rocket::async_test]
async fn revoking_a_user_ends_every_session_bound_to_them() {
    let (app, _) = launch().await;
    let laptop = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let phone = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let other = app.get("/login/bound/bob", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/revoke/ada", None).await.body, "2");
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&other)).await.status, Status::Ok, "bob keeps his session");
}

#[rocket::async_test]
async fn a_session_regenerated_after_binding_is_still_revocable() {
    let (app, _) = launch().await;
    let first = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let moved = app.get("/login/bound/ada", Some(&first)).await.session_cookie().unwrap();
    assert_ne!(first, moved);
    let regenerated = app.get("/login/ada", Some(&moved)).await.session_cookie().unwrap();
    assert_eq!(app.get("/revoke/ada", None).await.body, "1", "one live session, listed once");
    assert_eq!(app.get("/private", Some(&regenerated)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn revoking_a_user_without_sessions_ends_nothing() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/revoke/nobody", None).await.body, "0");
}

#[rocket::async_test]
async fn ordinary_requests_of_a_bound_session_touch_no_index() {
    let (app, store) = launch().await;
    let cookie = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    store.take_calls();
    app.get("/cart/add/1", Some(&cookie)).await;
    let calls = store.calls();
    assert_eq!(calls.len(), 2, "load and update only: {calls:?}");
    assert!(matches!(calls[1], Call::Update { .. }));
}

#[rocket::async_test]
async fn the_index_forgets_sessions_that_expired() {
    let clock = ManualClock::new();
    let (app, _) = launch_clocked(&clock, &[("session_lifetime", "30m")]).await;
    app.get("/login/bound/ada", None).await;
    app.get("/login/bound/ada", None).await;
    clock.advance(Duration::from_secs(31 * 60));
    let live = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    // The two expired sessions were pruned from the index at this bind.
    assert_eq!(app.get("/revoke/ada", None).await.body, "1");
    assert_eq!(app.get("/private", Some(&live)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn revoking_ones_own_user_ends_the_callers_session_too() {
    let (app, _) = launch().await;
    let phone = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let laptop = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let reply = app.get("/revoke-mine/ada", Some(&laptop)).await;
    assert_eq!(reply.body, "Ok(2)");
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_write_after_revoking_ones_own_user_starts_a_fresh_session_that_keeps_it() {
    let (app, _) = launch().await;
    let laptop = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let reply = app.get("/revoke-mine/ada", Some(&laptop)).await;
    let fresh = reply.session_cookie().expect("the message starts a new session");
    assert_ne!(fresh, laptop);
    assert_eq!(app.get("/map/get/flash", Some(&fresh)).await.body, "signed out everywhere");
    assert_eq!(app.get("/private", Some(&fresh)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn revoking_another_user_leaves_the_callers_session_alone() {
    let (app, _) = launch().await;
    app.get("/login/bound/bob", None).await;
    let admin = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let reply = app.get("/revoke-mine/bob", Some(&admin)).await;
    assert_eq!(reply.body, "Ok(1)");
    assert_eq!(app.get("/private", Some(&admin)).await.body, "user=Some(\"ada\")");
    assert_eq!(app.get("/map/get/flash", Some(&admin)).await.body, "signed out everywhere");
}

#[rocket::async_test]
async fn revoking_counts_only_the_sessions_it_ended() {
    let (app, _) = launch().await;
    let phone = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    app.get("/login/bound/ada", None).await;
    app.get("/logout", Some(&phone)).await;
    assert_eq!(app.get("/revoke/ada", None).await.body, "1", "the phone had logged out");
}

#[rocket::async_test]
async fn revoking_counts_no_session_that_expired_meanwhile() {
    let clock = ManualClock::new();
    let (app, _) = launch_clocked(&clock, &[("session_lifetime", "30m")]).await;
    app.get("/login/bound/ada", None).await;
    app.get("/login/bound/ada", None).await;
    clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(app.get("/revoke/ada", None).await.body, "0");
}
