//! The quickstart's routes with sessions in Redis, configured by `examples/redis/Rocket.toml`.
//!
//! ```sh
//! redis-server --port 6380 --save "" &
//! ROCKET_SESSION_REDIS_URL=redis://127.0.0.1:6380 cargo run --example redis
//! curl -c jar -b jar http://127.0.0.1:8000/set     # ok
//! curl -c jar -b jar http://127.0.0.1:8000/get     # value
//! redis-cli -p 6380 --scan --pattern 'session:*'   # one hash per session, named by a digest
//! ```
//! Stop Redis and the session routes answer 503 within `session_redis_timeout` while
//! `/health` still answers; start it again and sessions work with no restart of the app.

#[path = "../quickstart/routes.rs"]
mod routes;

use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::Figment;
use rocket::{get, routes};
use rocket_typed_session::SessionFairing;

/// A route without a session guard: it never touches Redis.
#[get("/health")]
fn health() -> &'static str {
    "up"
}

#[rocket::launch]
fn rocket() -> _ {
    // Rocket reads ./Rocket.toml by default; this example keeps its own beside its source.
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::file("examples/redis/Rocket.toml").nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global());
    rocket::custom(figment)
        .attach(SessionFairing::new())
        .mount("/", routes::routes())
        .mount("/", routes![health])
}
