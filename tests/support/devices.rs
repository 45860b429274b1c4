//! The device list as a test reads it, and its behaviours written once for every store: each
//! store's suite runs them on an app of its own.

use std::net::IpAddr;
use std::time::SystemTime;

use rocket::http::Status;

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
    // A save restarts the first session's expiry: the second is now the least active.
    rocket::tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.get("/cart/add/1", Some(&first)).await;
    let third = log_in(app, "cleo", "third").await;
    assert_eq!(app.get("/private", Some(&second)).await.status, Status::Unauthorized);
    assert_eq!(app.get("/private", Some(&first)).await.status, Status::Ok);
    assert_eq!(app.get("/private", Some(&third)).await.status, Status::Ok);
    assert_eq!(sessions_of(app, "cleo").await.len(), 2);
}
