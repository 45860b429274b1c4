//! A small shop with server-side sessions: log in, a typed cart, a page for logged-in users,
//! one-time messages, log out and log out everywhere.
//!
//! ```sh
//! cargo run --example shop                       # memory store, http://127.0.0.1:8000
//! ROCKET_PROFILE=redis cargo run --example shop  # sessions in Redis (examples/shop/Rocket.toml)
//! ROCKET_PROFILE=postgres cargo run --example shop --features postgres
//! ROCKET_PROFILE=sqlite cargo run --example shop --features sqlite
//! ROCKET_PROFILE=mysql cargo run --example shop --features mysql
//! ```
//! Log in with any user name and the password `shop`.

mod app;

use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::{Figment, Profile};

#[rocket::launch]
fn rocket() -> _ {
    // Rocket reads ./Rocket.toml by default; the shop keeps its own beside its source.
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::file("examples/shop/Rocket.toml").nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE));
    app::shop(rocket::custom(figment))
}
