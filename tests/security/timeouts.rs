use std::time::Duration;

use rocket::http::Status;

use crate::support::app::launch_clocked as app;
use crate::support::clocked::ManualClock;

const MINUTE: Duration = Duration::from_secs(60);

#[rocket::async_test]
async fn an_idle_session_expires_after_the_lifetime() {
    let clock = ManualClock::new();
    let (app, store) = app(&clock, &[("session_lifetime", "30m")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    clock.advance(31 * MINUTE);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "not set");
    assert_eq!(store.len(), 0);
}

#[rocket::async_test]
async fn activity_keeps_a_session_past_its_idle_lifetime() {
    let clock = ManualClock::new();
    let (app, _) = app(&clock, &[("session_lifetime", "30m")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    for _ in 0..4 {
        clock.advance(20 * MINUTE);
        assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    }
}

#[rocket::async_test]
async fn activity_never_extends_the_absolute_lifetime() {
    let clock = ManualClock::new();
    let (app, store) =
        app(&clock, &[("session_lifetime", "30m"), ("session_absolute_lifetime", "1h")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    for _ in 0..2 {
        clock.advance(20 * MINUTE);
        assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    }
    clock.advance(21 * MINUTE);
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.body, "not set", "61 minutes after creation");
    assert_eq!(store.len(), 0, "the expired session was deleted");
    let fresh = app.get("/map/set/key/new", Some(&cookie)).await.session_cookie().unwrap();
    assert_ne!(fresh, cookie, "the client gets a fresh session");
}

#[rocket::async_test]
async fn the_cookie_never_outlives_the_absolute_lifetime() {
    let clock = ManualClock::new();
    let (app, _) =
        app(&clock, &[("session_lifetime", "30m"), ("session_absolute_lifetime", "1h")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    clock.advance(25 * MINUTE);
    app.get("/map/get/key", Some(&cookie)).await;
    clock.advance(25 * MINUTE);
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.status, Status::Ok);
    let max_age: u64 = reply.set_cookies[0].split("Max-Age=").nth(1).unwrap().parse().unwrap();
    // Ten minutes are left; creation times are stored in whole seconds, rounded down.
    assert!((599..=600).contains(&max_age), "{}", reply.set_cookies[0]);
}

#[rocket::async_test]
async fn regenerating_does_not_restart_the_absolute_lifetime() {
    let clock = ManualClock::new();
    let (app, _) =
        app(&clock, &[("session_lifetime", "30m"), ("session_absolute_lifetime", "1h")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    clock.advance(25 * MINUTE);
    let new = app.get("/login/ada", Some(&cookie)).await.session_cookie().unwrap();
    clock.advance(25 * MINUTE);
    assert_eq!(app.get("/private", Some(&new)).await.status, Status::Ok);
    clock.advance(11 * MINUTE);
    assert_eq!(app.get("/private", Some(&new)).await.status, Status::Unauthorized);
}

/// SECURITY #10: a write never sets the store's expiry past the absolute lifetime. (A rolling
/// read resets it to the idle lifetime inside its load, before the record says when it was
/// created; see the next test.)
#[rocket::async_test]
async fn a_write_never_sets_the_store_expiry_past_the_absolute_lifetime() {
    let clock = ManualClock::new();
    let keys = [("session_lifetime", "2h"), ("session_absolute_lifetime", "1h")];
    let (app, store) = app(&clock, &keys).await;
    let created = rocket_typed_session::clock::Clock::now(&clock);
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let key = crate::support::storage_key(&cookie);
    for step in 0..3 {
        let expiry = store.expiry_of(&key).expect("the session is live");
        assert!(expiry <= created + 60 * MINUTE, "write {step}: {expiry:?} is past the cap");
        clock.advance(15 * MINUTE);
        let path = format!("/map/set/key/{step}");
        assert_eq!(app.get(&path, Some(&cookie)).await.status, Status::Ok);
    }
}

/// What a rolling read in a session's last idle lifetime leaves: its reset may keep the
/// record in the store past the absolute lifetime, by at most the shorter of the two
/// lifetimes, but the record is never read again: the next request past the cap deletes it
/// and starts a fresh session.
#[rocket::async_test]
async fn a_record_a_rolling_read_kept_past_the_absolute_lifetime_is_never_read() {
    let clock = ManualClock::new();
    let keys = [("session_lifetime", "2h"), ("session_absolute_lifetime", "1h")];
    let (app, store) = app(&clock, &keys).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let key = crate::support::storage_key(&cookie);
    clock.advance(45 * MINUTE);
    let read_at = rocket_typed_session::clock::Clock::now(&clock);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    let expiry = store.expiry_of(&key).expect("the session is live");
    assert!(expiry <= read_at + 60 * MINUTE, "more than the absolute lifetime: {expiry:?}");
    clock.advance(16 * MINUTE);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "not set");
    assert_eq!(store.expiry_of(&key), None, "the record past the cap is deleted");
}
