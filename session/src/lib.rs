//! Typed, server-side sessions for [Rocket](https://rocket.rs) 0.5.
//!
//! Derive [`Session`](macro@Session) on a plain struct, attach [`SessionFairing`], and take
//! [`Session<T>`](struct@Session) as a request guard. The data lives in a store chosen in
//! Rocket.toml; the cookie carries only a random id. Each field is its own stored value: a
//! request writes only the fields it changed, concurrent requests that change different
//! fields keep both changes, and a field whose type changed falls back to its default
//! without taking the rest of the session with it.
//!
//! # Quickstart
//! ```no_run
//! #[macro_use] extern crate rocket;
//! use rocket_typed_session::{Session, SessionFairing, SessionMap};
//!
//! #[derive(Session, Default)]
//! #[session(namespace = "cart")]
//! struct Cart {
//!     items: Vec<u32>,
//!     coupon: Option<String>,
//! }
//!
//! // In an async handler the guard names its lifetime (`'_`; without it, error E0726): it
//! // borrows the request, so it cannot outlive the response that saves it.
//! #[post("/add/<id>")]
//! async fn add(mut cart: Session<'_, Cart>, id: u32) -> String {
//!     cart.items.push(id); // a mutable access: `cart.items` is saved when the response leaves
//!     format!("{} items", cart.items.len())
//! }
//!
//! // The Flask-style dynamic map: `session['key'] = 'value'`.
//! #[get("/set")]
//! fn set(mut session: Session<SessionMap>) -> &'static str {
//!     session.insert("key", "value").expect("a string always encodes");
//!     "ok"
//! }
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build().attach(SessionFairing::new()).mount("/", routes![add, set])
//! }
//! ```
//!
//! The guards are [`Session<T>`](struct@Session), which always succeeds unless the store fails
//! (503), and [`ExistingSession<T>`], which forwards with 401 unless the client's live session
//! holds a non-default value in `T`'s namespace (a "logged in" guard). A field equal to its
//! default is stored as absent: setting it back removes it, and a visitor whose fields stay at
//! their defaults gets no record and no cookie. Both offer
//! [`id`](Session::id), [`regenerate`](Session::regenerate) (at login),
//! [`destroy`](Session::destroy) (at logout), [`clear`](Session::clear),
//! [`set_permanent`](Session::set_permanent) and [`bind_user`](Session::bind_user); a session
//! bound to a user can list and end that user's other sessions
//! ([`sessions_of_user`](Session::sessions_of_user),
//! [`revoke_other_sessions`](Session::revoke_other_sessions),
//! [`Sessions::revoke_session`]).
//!
//! # Configuration
//! Every key is optional and can be set in Rocket.toml or as `ROCKET_SESSION_*` environment
//! variables; [`SessionConfig`] documents each key with its default. An unknown `session_*`
//! key or an impossible value stops the launch with a message naming the key.
//!
//! ```toml
//! [default]
//! session_type = "memory"
//! session_lifetime = "7d"
//! session_cookie_secure = true
//! ```
//!
//! # Stores
//! - `memory` (default, cargo feature `memory`): [`store::MemoryStore`], in-process, bounded
//!   by `session_memory_capacity`.
//! - `redis`, `redis_cluster` and `redis_sentinel` (cargo feature `redis`, on by default):
//!   [`store::RedisStore`],
//!   one hash per session; a read is one round trip, a write one atomic script; every
//!   operation is bounded by `session_redis_timeout`, past which the request gets 503.
//! - `filesystem` (cargo feature `filesystem`, on by default): [`store::FilesystemStore`], one
//!   private file per session, crash-safe writes, bounded by `session_filesystem_threshold`.
//!
//! ```toml
//! [default]
//! session_type = "redis"
//! session_redis_url = "redis://127.0.0.1:6379"
//! ```
//!
//! A store built in code wins over `session_type`:
//! `SessionFairing::with_store(MemoryStore::default())`.
//!
//! # Security
//! Ids carry 256 bits from the OS CSPRNG and are parsed strictly before any store call; an
//! unknown id is never adopted; stores see only a BLAKE3 digest of the id; cookies are `HttpOnly`
//! and `SameSite=Lax` by default. Call [`regenerate`](Session::regenerate) and
//! [`bind_user`](Session::bind_user) at login, [`destroy`](Session::destroy) at logout, and
//! [`Sessions::revoke_user`] to end every session of a user. `session_use_signer` signs ids,
//! `session_absolute_lifetime` caps a session's age, `session_cookie_secure` belongs in every
//! HTTPS deployment. The repository's SECURITY.md lists each rule with its test.
//!
//! # Testing
//! [`testing::TestSessions`] lets an application's tests start a request with a session
//! already filled in, and read the session a response left behind, on any store
//! ([`testing::ObservedStore`] shows them every store call):
//!
//! ```no_run
//! # #[derive(rocket_typed_session::Session, Default)] struct Cart { items: Vec<u32> }
//! # async fn test(client: rocket::local::asynchronous::Client) {
//! use rocket_typed_session::testing::TestSessions;
//!
//! let sessions = TestSessions::of(&client).expect("the fairing is attached");
//! let cookie = sessions.create(|s| s.set(&Cart { items: vec![1] })).await.unwrap();
//! let response = client.get("/cart").cookie(cookie.clone()).dispatch().await;
//! let cart: Option<Cart> = sessions.read(&cookie).await.unwrap();
//! # }
//! ```
//!
//! # Extending
//! A new backend implements [`store::SessionStore`]. The fairing relies on the semantics its
//! methods document (create never overwrites, update never resurrects, a record without
//! fields does not exist); [`store::conformance`] (cargo feature `conformance`) checks them
//! for every built-in store and checks yours with one line in your tests:
//! `rocket_typed_session::conformance_suite!(async { MyStore::new() });`. A complete, if
//! minimal, store:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use rocket_typed_session::async_trait;
//! use rocket_typed_session::store::{Changes, Error, Loaded, Record, Regenerated, SessionStore};
//! use rocket_typed_session::SessionFairing;
//!
//! /// Records in a map, without expiry: for illustration only.
//! #[derive(Default)]
//! struct MapStore(Mutex<HashMap<String, Record>>);
//!
//! #[async_trait]
//! impl SessionStore for MapStore {
//!     async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
//!         let record = self.0.lock().unwrap().get(key).cloned().map(Arc::new);
//!         // Without an expiry of its own, it reports every touch as a reset.
//!         Ok(record.map(|record| Loaded { record, expiry_reset: touch.is_some() }))
//!     }
//!     async fn create(&self, key: &str, fields: &Record, _ttl: Duration) -> Result<bool, Error> {
//!         let mut map = self.0.lock().unwrap();
//!         if map.contains_key(key) { return Ok(false); }
//!         map.insert(key.to_owned(), fields.clone());
//!         Ok(true)
//!     }
//!     async fn update(&self, key: &str, changes: &Changes, _ttl: Duration) -> Result<bool, Error> {
//!         let mut map = self.0.lock().unwrap();
//!         let Some(record) = map.get_mut(key) else { return Ok(false) };
//!         changes.apply_to(record);
//!         if record.is_empty() { map.remove(key); }
//!         Ok(true)
//!     }
//!     async fn delete(&self, key: &str) -> Result<bool, Error> {
//!         Ok(self.0.lock().unwrap().remove(key).is_some())
//!     }
//!     async fn regenerate(
//!         &self, old: &str, new: &str, changes: &Changes, _ttl: Duration,
//!     ) -> Result<Regenerated, Error> {
//!         let mut map = self.0.lock().unwrap();
//!         if map.contains_key(new) { return Ok(Regenerated::TargetTaken); }
//!         let Some(mut record) = map.remove(old) else { return Ok(Regenerated::SourceGone) };
//!         changes.apply_to(&mut record);
//!         map.insert(new.to_owned(), record);
//!         Ok(Regenerated::Moved)
//!     }
//! }
//!
//! let rocket = rocket::build().attach(SessionFairing::with_store(MapStore::default()));
//! ```
//!
//! # How a request flows
//! The first session guard of a request loads the record with one store call into the
//! request's state (`state.rs`: what was loaded, what guards changed, what the request asked
//! for). When the response leaves, a pure planner turns that state into at most one write and
//! a cookie change (`plan.rs`), `save.rs` carries it out against the store (and the user index
//! behind [`Sessions::sessions_of`] and [`Sessions::revoke_user`], `users/`), and the fairing
//! writes the headers
//! (`fairing.rs`). The repository's README lists every file under "Layout".
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cookie;
mod error;
mod events;
mod fairing;
mod flash;
mod guard;
mod headers;
mod map;
mod outage;
mod plan;
mod reserved;
mod save;
mod sessions;
mod signer;
mod state;
mod users;

pub mod clock;
pub mod codec;
pub mod config;
pub mod data;
pub mod id;
pub mod store;
pub mod testing;

#[doc(hidden)]
pub mod __private;

/// Internals the fuzz targets reach, and the test that replays their corpus. Not public API.
#[doc(hidden)]
pub mod __fuzz {
    use crate::config::Secret;
    use crate::id::SessionId;

    /// Verifies `value` as a signed cookie under fixed keys, as the fairing would.
    pub fn verify_signed(value: &str) -> Option<SessionId> {
        let current = Secret::parse(&"11".repeat(32)).expect("a valid key");
        let fallback = Secret::parse(&"22".repeat(32)).expect("a valid key");
        crate::signer::Signer::new(&current, &[fallback]).verify(value, 32).map(|(id, _)| id)
    }

    /// Signs `id` with the key `verify_signed` checks first.
    pub fn sign(id: &SessionId) -> String {
        let current = Secret::parse(&"11".repeat(32)).expect("a valid key");
        crate::signer::Signer::new(&current, &[]).sign(id)
    }
}

pub use async_trait::async_trait;
pub use config::SessionConfig;
pub use data::SessionData;
pub use error::Error;
pub use fairing::SessionFairing;
pub use flash::{Flash, FlashMessage};
pub use guard::{ExistingSession, Session};

/// The README's Rust examples, compiled as doctests so that its quickstart stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct Readme;
pub use events::SessionEvent;
pub use id::SessionId;
pub use map::SessionMap;
pub use rocket_typed_session_macros::Session;
pub use sessions::Sessions;
pub use users::{SessionHandle, SessionInfo};
