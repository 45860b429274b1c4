//! Flask-Session's quickstart on Rocket, on the embedded memory store: no server needed.
//!
//! ```sh
//! cargo run --example quickstart
//! curl -c jar -b jar http://127.0.0.1:8000/set     # ok
//! curl -c jar -b jar http://127.0.0.1:8000/get     # value
//! curl -c jar -b jar http://127.0.0.1:8000/count   # 1, 2, 3, ...
//! ```
//! The store is chosen in Rocket.toml or with `ROCKET_SESSION_TYPE`.

mod routes;

use rocket_typed_session::SessionFairing;

#[rocket::launch]
fn rocket() -> _ {
    rocket::build().attach(SessionFairing::new()).mount("/", routes::routes())
}
