//! Flask-Session's quickstart on Rocket, on the embedded memory store: no server needed.
//!
//! ```sh
//! cargo run --example quickstart
//! curl -c jar -b jar http://127.0.0.1:8000/set     # ok
//! curl -c jar -b jar http://127.0.0.1:8000/get     # value
//! curl -c jar -b jar http://127.0.0.1:8000/count   # 1, 2, 3, ...
//! ```
//! The store is chosen in Rocket.toml or with `ROCKET_SESSION_TYPE`.

#[macro_use]
extern crate rocket;

use rocket_typed_session::{Session, SessionFairing, SessionMap};

/// A typed namespace: one stored value per field.
#[derive(Session, Default)]
#[session(namespace = "counter")]
struct Counter {
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

#[get("/count")]
fn count(mut counter: Session<Counter>) -> String {
    counter.count += 1;
    counter.count.to_string()
}

#[launch]
fn rocket() -> _ {
    rocket::build().attach(SessionFairing::new()).mount("/", routes![set, get, count])
}
