//! Flask-Session's quickstart routes plus a typed counter; shared by the quickstart and the
//! Redis example, which differ only in where the sessions live.

use rocket::{get, routes, Route};
use rocket_typed_session::{Session, SessionMap};

/// A typed namespace: one stored value per field.
#[derive(rocket_typed_session::Session, Default)]
#[session(namespace = "counter")]
pub struct Counter {
    count: u64,
}

#[get("/set")]
fn set(mut session: Session<SessionMap>) -> &'static str {
    session.insert("key", "value").expect("a string always encodes");
    "ok"
}

#[get("/get")]
fn get(session: Session<SessionMap>) -> String {
    session.get::<String>("key").unwrap_or_else(|| "not set".to_owned())
}

/// Async, so the guard names its lifetime: it borrows the request, which the compiler then
/// holds it to (the session is saved as the response leaves).
#[get("/count")]
async fn count(mut counter: Session<'_, Counter>) -> String {
    counter.count += 1;
    counter.count.to_string()
}

/// `GET /set`, `GET /get` and `GET /count`.
pub fn routes() -> Vec<Route> {
    routes![set, get, count]
}
