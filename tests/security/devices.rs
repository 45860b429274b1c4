//! The device list (SECURITY.md "A user's sessions"): listing, handles, revocation, the cap
//! and the audit hook, on the memory store; the other stores run the shared behaviours in
//! their own suites.

use std::time::Duration;

use rocket::http::Status;
use rocket_typed_session::{SessionEvent, SessionFairing};

use crate::support::app::{launch, launch_clocked, launch_with, with_fairing, Heard};
use crate::support::clocked::ManualClock;
use crate::support::devices::{self, devices, log_in, sessions_of};
use crate::support::{recording_store, App, Call, RecordingStore};

#[rocket::async_test]
async fn a_listing_shows_each_session_with_its_client() {
    devices::a_listing_shows_each_session_with_its_client(&launch().await.0).await;
}

#[rocket::async_test]
async fn a_handle_ends_its_session_for_its_user_only() {
    devices::a_handle_ends_its_session_for_its_user_only(&launch().await.0).await;
}

#[rocket::async_test]
async fn signing_out_the_other_devices_keeps_the_callers() {
    devices::signing_out_the_other_devices_keeps_the_callers(&launch().await.0).await;
}

#[rocket::async_test]
async fn a_login_past_the_cap_ends_the_least_recently_active() {
    let (app, _) = launch_with(&[("session_max_per_user", "2")]).await;
    devices::a_login_past_the_cap_ends_the_least_recently_active(&app).await;
}

#[rocket::async_test]
async fn last_seen_moves_only_when_the_expiry_is_reset_in_real_time() {
    let (app, _) = launch_with(&[devices::SECOND_TOUCH_INTERVAL]).await;
    devices::last_seen_moves_only_when_the_expiry_is_reset(&app).await;
}

#[rocket::async_test]
async fn logging_in_again_under_the_cap_ends_no_other_session() {
    let (app, _) = launch_with(&[("session_max_per_user", "2")]).await;
    let phone = log_in(&app, "vic", "phone").await;
    let laptop = log_in(&app, "vic", "laptop").await;
    let again = app.get_as("/login/bound/vic", Some(&phone), "phone").await;
    let phone = again.session_cookie().expect("a login regenerates the session");
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Ok);
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Ok);
    assert_eq!(sessions_of(&app, "vic").await.len(), 2);
}

#[rocket::async_test]
async fn binding_a_session_again_under_the_cap_ends_no_session() {
    let (app, _) = launch_with(&[("session_max_per_user", "2")]).await;
    let phone = log_in(&app, "val", "phone").await;
    let laptop = log_in(&app, "val", "laptop").await;
    app.get("/bind/val", Some(&phone)).await;
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Ok);
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Ok);
    assert_eq!(sessions_of(&app, "val").await.len(), 2);
}

#[rocket::async_test]
async fn two_first_logins_at_once_are_both_listed() {
    let (app, store) = launch().await;
    // Each store call waits, so that both logins find no index and both try to create it.
    store.slow_down(Duration::from_millis(50));
    rocket::tokio::join!(log_in(&app, "wen", "phone"), log_in(&app, "wen", "laptop"));
    store.slow_down(Duration::ZERO);
    assert_eq!(sessions_of(&app, "wen").await.len(), 2);
}

#[rocket::async_test]
async fn the_cap_bounds_the_index() {
    let (app, store) = launch_with(&[("session_max_per_user", "2")]).await;
    for agent in 0..5 {
        log_in(&app, "ivy", &agent.to_string()).await;
    }
    store.take_calls();
    assert_eq!(sessions_of(&app, "ivy").await.len(), 2);
    let calls = store.take_calls();
    assert!(matches!(calls[..], [_, Call::Peek { ref keys }] if keys.len() == 2), "{calls:?}");
}

#[rocket::async_test]
async fn a_login_forgets_the_sessions_of_the_user_that_ended() {
    let (app, store) = launch().await;
    let phone = log_in(&app, "pia", "phone").await;
    app.get("/logout", Some(&phone)).await;
    log_in(&app, "pia", "laptop").await;
    store.take_calls();
    assert_eq!(sessions_of(&app, "pia").await.len(), 1);
    let calls = store.take_calls();
    assert!(matches!(calls[..], [_, Call::Peek { ref keys }] if keys.len() == 1), "{calls:?}");
}

#[rocket::async_test]
async fn the_address_is_recorded_only_with_session_track_ip() {
    let (app, _) = launch_with(&[("session_track_ip", "true")]).await;
    let cookie = log_in(&app, "ida", "browser").await;
    // The local client connects from no address unless told one.
    let listed = devices(&app.get("/devices", Some(&cookie)).await.body);
    assert_eq!(listed[0].address, None);
    let request = app.client.get("/login/bound/ida").remote("198.51.100.7:4000".parse().unwrap());
    crate::support::reply(request.dispatch().await).await;
    let addresses: Vec<_> = sessions_of(&app, "ida").await.iter().map(|d| d.address).collect();
    assert_eq!(addresses, [Some("198.51.100.7".parse().unwrap()), None]);
}

#[rocket::async_test]
async fn a_label_the_app_sets_is_listed() {
    let (app, _) = launch().await;
    let cookie = log_in(&app, "lou", "agent").await;
    app.get("/label/work%20laptop", Some(&cookie)).await;
    assert_eq!(sessions_of(&app, "lou").await[0].label.as_deref(), Some("work laptop"));
}

#[rocket::async_test]
async fn a_long_user_agent_is_cut_to_256_bytes() {
    let (app, _) = launch().await;
    log_in(&app, "una", &"x".repeat(1000)).await;
    assert_eq!(sessions_of(&app, "una").await[0].user_agent.as_ref().unwrap().len(), 256);
}

#[rocket::async_test]
async fn a_session_bound_to_nobody_lists_nothing() {
    let (app, _) = launch().await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/devices", Some(&cookie)).await.body, "[]");
    assert_eq!(app.get("/devices/revoke-others", Some(&cookie)).await.body, "0");
}

#[rocket::async_test]
async fn last_seen_moves_only_when_the_expiry_is_reset() {
    let clock = ManualClock::new();
    let (app, _) = launch_clocked(&clock, &[("session_lifetime", "30m")]).await;
    let cookie = log_in(&app, "lars", "agent").await;
    let at_login = sessions_of(&app, "lars").await[0].last_seen.unwrap();
    clock.advance(Duration::from_secs(600));
    app.get("/cart", Some(&cookie)).await;
    let after_read = sessions_of(&app, "lars").await[0].last_seen.unwrap();
    assert_eq!(after_read.duration_since(at_login).unwrap(), Duration::from_secs(600));
    // Within the touch interval (a second here) a read resets nothing, so nothing moves.
    clock.advance(Duration::from_millis(500));
    app.get("/cart", Some(&cookie)).await;
    assert_eq!(sessions_of(&app, "lars").await[0].last_seen.unwrap(), after_read);
}

#[rocket::async_test]
async fn an_ordinary_read_of_a_listed_session_costs_one_store_call() {
    let (app, store) = launch().await;
    let cookie = log_in(&app, "rhea", "agent").await;
    store.take_calls();
    app.get("/cart", Some(&cookie)).await;
    assert!(matches!(store.take_calls()[..], [Call::Load { .. }]));
}

#[rocket::async_test]
async fn a_listing_costs_two_store_calls_whatever_the_number_of_sessions() {
    let (app, store) = launch().await;
    for agent in 0..20 {
        log_in(&app, "many", &agent.to_string()).await;
    }
    store.take_calls();
    assert_eq!(sessions_of(&app, "many").await.len(), 20);
    let calls = store.take_calls();
    assert!(matches!(calls[..], [Call::Load { .. }, Call::Peek { ref keys }] if keys.len() == 20));
}

#[rocket::async_test]
async fn a_listing_forgets_sessions_that_ended() {
    let (app, store) = launch().await;
    let phone = log_in(&app, "fay", "phone").await;
    log_in(&app, "fay", "laptop").await;
    app.get("/logout", Some(&phone)).await;
    assert_eq!(sessions_of(&app, "fay").await.len(), 1);
    store.take_calls();
    sessions_of(&app, "fay").await;
    let calls = store.take_calls();
    assert!(matches!(calls[..], [_, Call::Peek { ref keys }] if keys.len() == 1), "{calls:?}");
}

#[rocket::async_test]
async fn a_listing_pages_through_the_sessions_newest_first() {
    let (app, _) = launch().await;
    for agent in ["a", "b", "c", "d", "e"] {
        log_in(&app, "pam", agent).await;
    }
    let page = devices(&app.get("/devices/of/pam?offset=1&limit=2", None).await.body);
    let agents: Vec<_> = page.iter().map(|d| d.user_agent.clone().unwrap()).collect();
    assert_eq!(agents, ["d", "c"]);
}

#[rocket::async_test]
async fn malformed_and_unknown_handles_end_nothing() {
    let (app, _) = launch().await;
    let cookie = log_in(&app, "max", "agent").await;
    for handle in ["x", "0123456789abcdef0123456789abcdef", "%00%0A", &"A".repeat(32)] {
        assert_eq!(app.get(&format!("/devices/revoke/max/{handle}"), None).await.body, "false");
    }
    assert_eq!(app.get("/private", Some(&cookie)).await.status, rocket::http::Status::Ok);
}

#[rocket::async_test]
async fn a_handle_reveals_neither_the_id_nor_the_storage_key() {
    let (app, _) = launch().await;
    let cookie = log_in(&app, "nia", "agent").await;
    let handle = sessions_of(&app, "nia").await[0].handle.clone();
    let key = crate::support::storage_key(&cookie);
    assert!(!cookie.contains(&handle) && !key.contains(&handle));
    assert!(!handle.contains(&cookie) && !handle.contains(&key["session:".len()..][..16]));
}

/// An app on a recording store whose audit hook collects every event, with `keys`.
async fn app_hearing_events(keys: &[(&str, &str)]) -> (App, Heard, RecordingStore) {
    let heard = Heard::default();
    let store = recording_store();
    let fairing = heard.listening(SessionFairing::with_store(store.clone()));
    (App::launch(with_fairing(fairing, keys)).await, heard, store)
}

#[rocket::async_test]
async fn the_hook_hears_a_session_created_regenerated_bound_and_destroyed() {
    let (app, heard, _) = app_hearing_events(&[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    let [SessionEvent::Created { handle: created }] = &heard.take()[..] else { panic!() };
    let cookie = app.get("/login/bound/ada", Some(&cookie)).await.session_cookie().unwrap();
    let events = heard.take();
    let [SessionEvent::Regenerated { handle, previous }, SessionEvent::Bound { user, handle: bound }] =
        &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((previous, user.as_str(), bound), (created, "ada", handle));
    app.get("/logout", Some(&cookie)).await;
    assert_eq!(heard.take(), [SessionEvent::Destroyed { handle: handle.clone() }]);
}

#[rocket::async_test]
async fn the_hook_hears_revocations_with_their_count() {
    let (app, heard, _) = app_hearing_events(&[]).await;
    log_in(&app, "rob", "a").await;
    log_in(&app, "rob", "b").await;
    heard.take();
    app.get("/revoke/rob", None).await;
    assert_eq!(heard.take(), [SessionEvent::Revoked { user: "rob".into(), count: 2 }]);
    app.get("/revoke/rob", None).await;
    assert_eq!(heard.take(), [], "a revocation that ended nothing is no event");
}

#[rocket::async_test]
async fn the_hook_hears_what_signing_out_other_devices_and_the_cap_ended() {
    let (app, heard, _) = app_hearing_events(&[("session_max_per_user", "2")]).await;
    log_in(&app, "val", "a").await;
    log_in(&app, "val", "b").await;
    heard.take();
    let third = log_in(&app, "val", "c").await;
    let revoked = SessionEvent::Revoked { user: "val".into(), count: 1 };
    assert!(heard.take().contains(&revoked), "the cap ended one session");
    app.get("/devices/revoke-others", Some(&third)).await;
    assert_eq!(heard.take(), [revoked]);
}

#[rocket::async_test]
async fn a_failed_save_tells_the_hook_nothing() {
    let (app, heard, store) = app_hearing_events(&[]).await;
    store.fail_writes(true);
    let reply = app.get("/login/bound/ada", None).await;
    assert_eq!(reply.status, rocket::http::Status::ServiceUnavailable);
    assert_eq!(heard.take(), []);
}

#[rocket::async_test]
async fn ordinary_reads_and_writes_tell_the_hook_nothing() {
    let (app, heard, _) = app_hearing_events(&[]).await;
    let cookie = log_in(&app, "ned", "agent").await;
    heard.take();
    app.get("/cart/add/1", Some(&cookie)).await;
    app.get("/cart", Some(&cookie)).await;
    assert_eq!(heard.take(), []);
}

#[rocket::async_test]
async fn a_login_costs_three_store_calls_beside_its_save() {
    let (app, store) = launch().await;
    log_in(&app, "lia", "first").await;
    store.take_calls();
    log_in(&app, "lia", "second").await;
    let calls = store.take_calls();
    let expected = matches!(
        calls[..],
        [Call::Create { .. }, Call::Load { .. }, Call::Peek { .. }, Call::Update { .. }]
    );
    assert!(expected, "create the session; load, peek and update the index: {calls:?}");
}

#[rocket::async_test]
async fn a_user_name_of_any_bytes_and_length_lists_its_sessions() {
    let (app, _) = launch().await;
    let name = format!("a%00b%0Ac%2F{}", "x".repeat(5000));
    let cookie = log_in(&app, &name, "agent").await;
    let listed = devices(&app.get("/devices", Some(&cookie)).await.body);
    assert_eq!(listed.len(), 1);
    assert!(listed[0].current);
}
