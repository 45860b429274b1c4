//! The device list as a test reads it, and its behaviours written once for every store: each
//! store's suite runs them on an app of its own.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rocket::http::Status;
use rocket_typed_session::SessionEvent;

use crate::support::app::Heard;
use crate::support::App;

/// One session of a listing, as the test app's `/devices` routes return it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Device {
    pub handle: String,
    pub created: Option<SystemTime>,
    pub last_seen: Option<SystemTime>,
    pub user_agent: Option<String>,
    pub address: Option<IpAddr>,
    pub label: Option<String>,
    pub current: bool,
}

/// The listing a `/devices…` route returned.
pub fn devices(body: &str) -> Vec<Device> {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not a listing: {body}"))
}

/// `user`'s sessions, as `Sessions::sessions_of` lists them.
pub async fn sessions_of(app: &App, user: &str) -> Vec<Device> {
    devices(&app.get(&format!("/devices/of/{user}"), None).await.body)
}

/// Logs `user` in from a client called `agent`; returns the session cookie.
pub async fn log_in(app: &App, user: &str, agent: &str) -> String {
    let reply = app.get_as(&format!("/login/bound/{user}"), None, agent).await;
    reply.session_cookie().expect("a login sets a cookie")
}

/// Each session bound to a user is listed, newest first, with the client it logged in from,
/// a creation time and a last-seen time; the caller's own is marked.
pub async fn a_listing_shows_each_session_with_its_client(app: &App) {
    let laptop = log_in(app, "lin", "Firefox on Linux").await;
    log_in(app, "lin", "Safari on iPhone").await;
    let listed = devices(&app.get("/devices", Some(&laptop)).await.body);
    let agents: Vec<_> = listed.iter().map(|d| d.user_agent.as_deref().unwrap()).collect();
    assert_eq!(agents, ["Safari on iPhone", "Firefox on Linux"]);
    assert_eq!(listed.iter().map(|d| d.current).collect::<Vec<_>>(), [false, true]);
    for device in &listed {
        let (created, seen) = (device.created.unwrap(), device.last_seen.unwrap());
        assert!(seen >= created, "{device:?}");
        assert!(seen <= SystemTime::now(), "{device:?}");
        assert_eq!(device.address, None, "addresses are recorded only when asked for");
    }
}

/// A handle ends the one session it names, immediately, and only for the user it belongs to;
/// it does nothing once that session has ended.
pub async fn a_handle_ends_its_session_for_its_user_only(app: &App) {
    let phone = log_in(app, "hana", "phone").await;
    let laptop = log_in(app, "hana", "laptop").await;
    let handle = sessions_of(app, "hana").await[1].handle.clone();
    assert_eq!(app.get(&format!("/devices/revoke/mallory/{handle}"), None).await.body, "false");
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Ok);
    assert_eq!(app.get(&format!("/devices/revoke/hana/{handle}"), None).await.body, "true");
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Ok);
    assert_eq!(app.get(&format!("/devices/revoke/hana/{handle}"), None).await.body, "false");
    assert_eq!(sessions_of(app, "hana").await.len(), 1);
}

/// "Sign out my other devices" ends every other session of the user and keeps the caller's.
pub async fn signing_out_the_other_devices_keeps_the_callers(app: &App) {
    let phone = log_in(app, "otto", "phone").await;
    let tablet = log_in(app, "otto", "tablet").await;
    let laptop = log_in(app, "otto", "laptop").await;
    assert_eq!(app.get("/devices/revoke-others", Some(&laptop)).await.body, "2");
    assert_eq!(app.get("/private", Some(&phone)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&tablet)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&laptop)).await.status, Status::Ok);
    let listed = sessions_of(app, "otto").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_agent.as_deref(), Some("laptop"));
}

/// With `session_max_per_user = 2`, a third login ends the least recently active session.
pub async fn a_login_past_the_cap_ends_the_least_recently_active(app: &App) {
    let first = log_in(app, "cleo", "first").await;
    let second = log_in(app, "cleo", "second").await;
    // A save past the touch interval (at most a second) restarts the first session's
    // expiry: the second is now the least active.
    rocket::tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.get("/cart/add/1", Some(&first)).await;
    let third = log_in(app, "cleo", "third").await;
    assert_eq!(app.get("/private", Some(&second)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&first)).await.status, Status::Ok);
    assert_eq!(app.get("/private", Some(&third)).await.status, Status::Ok);
    assert_eq!(sessions_of(app, "cleo").await.len(), 2);
}

/// The configuration of [`last_seen_moves_only_when_the_expiry_is_reset`]: a lifetime whose
/// touch interval is a second.
pub const SECOND_TOUCH_INTERVAL: (&str, &str) = ("session_lifetime", "64s");

/// With a touch interval of a second (`SECOND_TOUCH_INTERVAL`), a read more than a second
/// after the last reset moves last seen to now; one 300 ms after it moves nothing. Real time:
/// a store's own expiry cannot be moved by a test clock. Last seen is read back from the
/// time left, measured a round trip away from the app's clock, so each comparison allows
/// 150 ms of that; a reset where none is due would move it by the 300 ms waited.
pub async fn last_seen_moves_only_when_the_expiry_is_reset(app: &App) {
    const SLACK: Duration = Duration::from_millis(150);
    let cookie = log_in(app, "lena", "agent").await;
    let seen = |list: Vec<Device>| list[0].last_seen.expect("the store tells the expiry");
    let at_login = seen(sessions_of(app, "lena").await);
    rocket::tokio::time::sleep(Duration::from_millis(1300)).await;
    let before_read = SystemTime::now();
    app.get("/cart", Some(&cookie)).await;
    let after_read = seen(sessions_of(app, "lena").await);
    let moved = after_read.duration_since(at_login).unwrap_or_default();
    assert!(moved + 2 * SLACK >= Duration::from_millis(1300), "the due reset moved it {moved:?}");
    assert!(after_read + SLACK >= before_read, "{after_read:?} {before_read:?}");
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    app.get("/cart", Some(&cookie)).await;
    let again = seen(sessions_of(app, "lena").await);
    let moved = again.duration_since(after_read).unwrap_or_else(|e| e.duration());
    assert!(moved <= SLACK, "a read within the interval moved it by {moved:?}");
}

/// The hook hears a login as a regeneration (or creation) and a binding, and a revocation
/// with its count, each once, with handles the listing shows.
pub async fn the_hook_hears_logins_and_revocations(app: &App, heard: &Heard) {
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    app.get_as("/login/bound/hugo", Some(&cookie), "agent").await;
    let events = heard.take();
    let handle = sessions_of(app, "hugo").await[0].handle.clone();
    match &events[..] {
        [SessionEvent::Created { .. }, SessionEvent::Regenerated { handle: moved, .. }, SessionEvent::Bound { user, handle: bound }] =>
        {
            assert_eq!(
                (moved.as_str(), bound.as_str(), user.as_str()),
                (&*handle, &*handle, "hugo")
            );
        }
        other => panic!("{other:?}"),
    }
    app.get("/revoke/hugo", None).await;
    assert_eq!(heard.take(), [SessionEvent::Revoked { user: "hugo".into(), count: 1 }]);
}
