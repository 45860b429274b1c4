use rocket::http::Status;
use std::time::Duration;

use crate::support::app::{launch, launch_clocked, launch_with};
use crate::support::clocked::ManualClock;

#[rocket::async_test]
async fn the_first_write_sets_a_secure_by_default_cookie() {
    let (app, _) = launch().await;
    let reply = app.get("/map/set/key/value", None).await;
    assert_eq!(reply.set_cookies.len(), 1);
    let raw = &reply.set_cookies[0];
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2678400"] {
        assert!(raw.contains(attribute), "{raw} lacks {attribute}");
    }
    assert_eq!(reply.session_cookie().unwrap().len(), 43);
}

#[rocket::async_test]
async fn a_response_that_sets_the_cookie_is_private_to_caches() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/map/set/key/value", None).await.header("Cache-Control"), Some("private"));
}

#[rocket::async_test]
async fn configured_cookie_attributes_are_applied() {
    let (app, _) = launch_with(&[
        ("session_cookie_path", "/app"),
        ("session_cookie_domain", "example.com"),
        ("session_cookie_secure", "true"),
        ("session_cookie_samesite", "Strict"),
        ("session_lifetime", "1h"),
    ])
    .await;
    let raw = app.get("/map/set/key/value", None).await.set_cookies.remove(0);
    for attribute in
        ["Path=/app", "Domain=example.com", "Secure", "SameSite=Strict", "Max-Age=3600"]
    {
        assert!(raw.contains(attribute), "{raw} lacks {attribute}");
    }
}

#[rocket::async_test]
async fn the_cookie_is_partitioned_only_when_configured() {
    let (plain, _) = launch_with(&[("session_cookie_secure", "true")]).await;
    let raw = plain.get("/map/set/key/value", None).await.set_cookies.remove(0);
    assert!(!raw.contains("Partitioned"), "{raw}");
    let (embedded, _) = launch_with(&[
        ("session_cookie_secure", "true"),
        ("session_cookie_samesite", "None"),
        ("session_cookie_partitioned", "true"),
    ])
    .await;
    let raw = embedded.get("/map/set/key/value", None).await.set_cookies.remove(0);
    for attribute in ["SameSite=None", "; Partitioned", "; Secure"] {
        assert!(raw.contains(attribute), "{raw} lacks {attribute}");
    }
}

#[rocket::async_test]
async fn a_rolling_read_refreshes_the_cookie_when_the_store_resets_the_expiry() {
    let clock = ManualClock::new();
    let (app, _) = launch_clocked(&clock, &[]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    clock.advance(Duration::from_secs(2));
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.session_cookie().as_deref(), Some(cookie.as_str()));
    assert!(reply.set_cookies[0].contains("Max-Age=2678400"));
}

#[rocket::async_test]
async fn a_rolling_read_within_the_touch_interval_sends_no_cookie() {
    let clock = ManualClock::new();
    let (app, _) = launch_clocked(&clock, &[]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    clock.advance(Duration::from_millis(500));
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.body, "value");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
}

#[rocket::async_test]
async fn a_rolling_write_within_the_touch_interval_sends_no_cookie() {
    let (app, _) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let reply = app.get("/map/set/key/changed", Some(&cookie)).await;
    assert_eq!(reply.body, "ok");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "changed");
}

#[rocket::async_test]
async fn a_rolling_write_refreshes_the_cookie_once_the_touch_interval_has_passed() {
    let clock = ManualClock::new();
    let (app, _) = launch_clocked(&clock, &[]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    clock.advance(Duration::from_secs(2));
    let reply = app.get("/map/set/key/changed", Some(&cookie)).await;
    assert_eq!(reply.session_cookie().as_deref(), Some(cookie.as_str()));
    assert!(reply.set_cookies[0].contains("Max-Age=2678400"));
}

#[rocket::async_test]
async fn without_rolling_expiry_a_read_sends_no_cookie() {
    let (app, _) = launch_with(&[("session_refresh_each_request", "false")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert!(app.get("/map/get/key", Some(&cookie)).await.set_cookies.is_empty());
}

#[rocket::async_test]
async fn a_non_permanent_configuration_sets_a_browser_session_cookie() {
    let (app, _) = launch_with(&[("session_permanent", "false")]).await;
    let reply = app.get("/map/set/key/value", None).await;
    assert!(!reply.set_cookies[0].contains("Max-Age"), "{}", reply.set_cookies[0]);
}

#[rocket::async_test]
async fn set_permanent_false_drops_max_age_for_that_session_from_then_on() {
    let (app, _) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let reply = app.get("/permanent/false", Some(&cookie)).await;
    assert_eq!(reply.session_cookie().as_deref(), Some(cookie.as_str()));
    assert!(!reply.set_cookies[0].contains("Max-Age"));
    let later = app.get("/map/set/key/again", Some(&cookie)).await;
    assert!(later.set_cookies.iter().all(|c| !c.contains("Max-Age")), "{:?}", later.set_cookies);
}

#[rocket::async_test]
async fn a_custom_cookie_name_is_used() {
    let (app, _) = launch_with(&[("session_cookie_name", "sid")]).await;
    let reply = app.get("/map/set/key/value", None).await;
    assert!(reply.set_cookies[0].starts_with("sid="), "{}", reply.set_cookies[0]);
    let id = reply.set_cookies[0]["sid=".len()..].split(';').next().unwrap().to_owned();
    assert_eq!(app.get_with_cookie("/map/get/key", "sid", &id).await.body, "value");
}

#[rocket::async_test]
async fn a_cookie_tossed_in_after_the_clients_own_loses() {
    let (app, _) = launch().await;
    let good = app.get("/login/ada", None).await.session_cookie().unwrap();
    let header = format!("session={good}; session=garbage");
    let reply = app.get_with_cookie_header("/private", &header).await;
    assert_eq!((reply.status, reply.body.as_str()), (Status::Ok, "user=Some(\"ada\")"));
    assert!(reply.set_cookies.is_empty(), "the good cookie is not overwritten: {reply:?}");
}

#[rocket::async_test]
async fn the_first_cookie_of_the_name_that_is_an_id_is_the_one_used() {
    let (app, _) = launch().await;
    let good = app.get("/login/ada", None).await.session_cookie().unwrap();
    let header = format!("other=1; session=garbage; session={good}");
    let reply = app.get_with_cookie_header("/private", &header).await;
    assert_eq!(reply.status, Status::Ok);
}

#[rocket::async_test]
async fn several_well_formed_ids_cost_one_store_load() {
    let (app, store) = launch().await;
    let good = app.get("/login/ada", None).await.session_cookie().unwrap();
    let tossed = rocket_typed_session::SessionId::generate(32);
    store.take_calls();
    let header = format!("session={}; session={good}", tossed.expose());
    let reply = app.get_with_cookie_header("/private", &header).await;
    assert_eq!(reply.status, Status::Unauthorized, "a tossed id sent first wins: SECURITY.md");
    assert_eq!(store.calls().len(), 1, "{:?}", store.calls());
}

#[rocket::async_test]
async fn a_forged_signed_cookie_sent_first_loses_to_the_genuine_one() {
    let (app, store) = launch_with(&[("session_use_signer", "true")]).await;
    let good = app.get("/login/ada", None).await.session_cookie().unwrap();
    let (id, _) = good.split_once('.').unwrap();
    let forged = format!("{id}.{}", "A".repeat(43));
    store.take_calls();
    let header = format!("session={forged}; session={good}");
    assert_eq!(app.get_with_cookie_header("/private", &header).await.status, Status::Ok);
    assert_eq!(store.calls().len(), 1);
}
