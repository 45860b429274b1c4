//! Helpers shared by the integration tests: a store that records and can fail, and an app
//! client that returns owned replies.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod clocked;
pub mod devices;

pub mod exit;
pub mod http;
pub mod mariadb;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod recording;
pub mod redis;
pub mod tls;
pub mod tmpfs;

use rocket::figment::value::Value;
use rocket::figment::Figment;
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use rocket_typed_session::SessionId;

pub use recording::{recording_store, Call, RecordingStore};
#[cfg(feature = "conformance")]
pub use rocket_typed_session::store::conformance;

/// Settings with owned values, as the app and figment helpers take them.
pub fn borrowed<'s>(settings: &'s [(&'static str, String)]) -> Vec<(&'static str, &'s str)> {
    settings.iter().map(|(key, value)| (*key, value.as_str())).collect()
}

/// A Rocket on test defaults, untouched by the environment, with `keys` merged in; each value
/// is read as an environment variable's would be (`"8"` a number, `"true"` a boolean).
pub fn figment(keys: &[(&str, &str)]) -> Figment {
    let mut figment = Figment::from(rocket::Config::debug_default())
        .merge(("log_level", "off"))
        .merge(("port", 0));
    for (key, value) in keys {
        let value: Value = value.parse().expect("figment parses any string");
        figment = figment.merge((*key, value));
    }
    figment
}

/// What a test needs of a response, owned.
#[derive(Debug)]
pub struct Reply {
    pub status: Status,
    pub body: String,
    /// Every `Set-Cookie` header, raw.
    pub set_cookies: Vec<String>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The value of the session cookie set by this response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies.iter().find_map(|raw| {
            let cookie = Cookie::parse(raw.clone()).ok()?;
            (cookie.name() == "session").then(|| cookie.value().to_owned())
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }

    /// Every value of the header `name` (any case), in the order the response sent them.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An untracked client: each request carries exactly the cookie a test gives it.
pub struct App {
    pub client: Client,
}

impl App {
    pub async fn launch(rocket: Rocket<Build>) -> App {
        App { client: Client::untracked(rocket).await.expect("the test app launches") }
    }

    /// A GET carrying the `session` cookie with `value`, if given.
    pub async fn get(&self, path: &str, value: Option<&str>) -> Reply {
        match value {
            Some(value) => self.get_with_cookie(path, "session", value).await,
            None => reply(self.client.get(path.to_owned()).dispatch().await).await,
        }
    }

    /// A GET from a client whose `User-Agent` is `agent`, carrying the session cookie with
    /// `value`, if given.
    pub async fn get_as(&self, path: &str, value: Option<&str>, agent: &str) -> Reply {
        let mut request = self.client.get(path.to_owned());
        request.add_header(rocket::http::Header::new("User-Agent", agent.to_owned()));
        if let Some(value) = value {
            request = request.cookie(Cookie::new("session", value.to_owned()));
        }
        reply(request.dispatch().await).await
    }

    /// A GET carrying `header` as its raw `Cookie` header, as a browser sends several cookies.
    pub async fn get_with_cookie_header(&self, path: &str, header: &str) -> Reply {
        let header = rocket::http::Header::new("Cookie", header.to_owned());
        reply(self.client.get(path.to_owned()).header(header).dispatch().await).await
    }

    /// A GET carrying the cookie `name` with `value`, whatever bytes it holds.
    pub async fn get_with_cookie(&self, path: &str, name: &str, value: &str) -> Reply {
        let cookie = Cookie::new(name.to_owned(), value.to_owned());
        reply(self.client.get(path.to_owned()).cookie(cookie).dispatch().await).await
    }
}

pub async fn reply(response: rocket::local::asynchronous::LocalResponse<'_>) -> Reply {
    let status = response.status();
    let headers: Vec<(String, String)> =
        response.headers().iter().map(|h| (h.name().to_string(), h.value().to_string())).collect();
    let set_cookies = response.headers().get("Set-Cookie").map(str::to_owned).collect();
    let body = response.into_string().await.unwrap_or_default();
    Reply { status, body, set_cookies, headers }
}

/// The store key of a cookie value under the default prefix.
pub fn storage_key(cookie: &str) -> String {
    SessionId::parse(cookie, 32).expect("a well-formed id").storage_key("session:")
}

/// Asks for `path` with the store's server paused through the load for 300 ms (`pause` and
/// `resume` stop and thaw it) and its save, the request carrying `marker`, held by `relay`
/// until about 650 ms, past the app's limit of 500 ms: the reply must be a 503. Returns
/// once the save has reached the server.
pub async fn saved_late_after_a_slow_load(
    app: &App,
    relay: &proxy::CountingProxy,
    (path, cookie): (&str, &str),
    marker: &[u8],
    pause: impl FnOnce(),
    resume: impl FnOnce(),
) {
    use std::time::Duration;
    relay.hold_requests_containing(marker, Duration::from_millis(350));
    pause();
    let thaw = async {
        rocket::tokio::time::sleep(Duration::from_millis(300)).await;
        resume();
    };
    let (reply, ()) = rocket::tokio::join!(app.get(path, Some(cookie)), thaw);
    assert_eq!(reply.status, Status::ServiceUnavailable, "{path}");
    rocket::tokio::time::sleep(Duration::from_millis(900)).await;
}
