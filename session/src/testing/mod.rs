//! Helpers for an application's own tests with Rocket's local [`Client`]: start a request with
//! a session already filled in, and read the session a response left behind, on any store
//! ([`TestSessions`]); see and steer every store call ([`ObservedStore`]).
//!
//! ```
//! use rocket::local::asynchronous::Client;
//! use rocket::{get, routes};
//! use rocket_typed_session::testing::TestSessions;
//! use rocket_typed_session::{Session, SessionFairing};
//!
//! #[derive(Session, Default, Debug, PartialEq)]
//! struct Cart {
//!     items: Vec<u32>,
//! }
//!
//! #[get("/add/<item>")]
//! fn add(mut cart: Session<Cart>, item: u32) -> String {
//!     cart.items.push(item);
//!     format!("{:?}", cart.items)
//! }
//!
//! # fn main() { rocket::async_test(async {
//! let rocket = rocket::build().attach(SessionFairing::new()).mount("/", routes![add]);
//! let client = Client::untracked(rocket).await.unwrap();
//! let sessions = TestSessions::of(&client).unwrap();
//!
//! // A request that starts with a cart holding item 1.
//! let cookie = sessions.create(|s| s.set(&Cart { items: vec![1] })).await.unwrap();
//! let response = client.get("/add/2").cookie(cookie.clone()).dispatch().await;
//! assert_eq!(response.into_string().await.unwrap(), "[1, 2]");
//!
//! // What the request left in the store.
//! let cart: Option<Cart> = sessions.read(cookie.value()).await.unwrap();
//! assert_eq!(cart, Some(Cart { items: vec![1, 2] }));
//! # }) }
//! ```

mod observed;

pub use observed::{ObservedStore, Observer, StoreCall};

use rocket::http::Cookie;
use rocket::local::asynchronous::{Client, LocalResponse};

use crate::codec;
use crate::data::{FieldSink, Fields, SessionData};
use crate::error::Error;
use crate::sessions::Sessions;
use crate::store::Record;

/// The sessions of a Rocket under test.
pub struct TestSessions<'c> {
    sessions: &'c Sessions,
}

/// The namespaces a test puts into a new session.
pub struct NewSession {
    record: Record,
    format: codec::Format,
}

impl NewSession {
    /// Stores `value` as namespace `T` of the new session.
    ///
    /// # Errors
    /// A field cannot be encoded in the configured format.
    pub fn set<T: SessionData>(&mut self, value: &T) -> Result<(), codec::Error> {
        value.encode(&mut FieldSink::new(&mut self.record, self.format))
    }
}

impl<'c> TestSessions<'c> {
    /// The sessions of the Rocket `client` drives; `None` when `SessionFairing` is not
    /// attached.
    pub fn of(client: &'c Client) -> Option<Self> {
        client.rocket().state::<Sessions>().map(|sessions| TestSessions { sessions })
    }

    /// Stores a new session filled by `fill`, as a request would, and returns the cookie
    /// that carries it (signed when `session_use_signer` is on).
    ///
    /// # Errors
    /// A value cannot be encoded, or the store fails.
    pub async fn create(
        &self,
        fill: impl FnOnce(&mut NewSession) -> Result<(), codec::Error>,
    ) -> Result<Cookie<'static>, Error> {
        let config = self.sessions.config();
        let mut session = NewSession { record: Record::new(), format: config.format };
        fill(&mut session)?;
        session.record.extend(self.sessions.created_field());
        let new = self.sessions.fresh_id();
        if !self.sessions.store().create(&new.key, &session.record, config.lifetime).await? {
            return Err(Error::NoFreeId(1));
        }
        Ok(Cookie::new(config.cookie_name.clone(), self.sessions.cookie_value(&new.id)))
    }

    /// Namespace `T` of the session the cookie value carries; `None` when the value is no
    /// valid cookie or the session does not exist. Reading does not refresh its expiry.
    ///
    /// # Errors
    /// The store fails.
    pub async fn read<T: SessionData>(&self, cookie_value: &str) -> Result<Option<T>, Error> {
        let Some(cookie) = self.sessions.id_from_cookie(cookie_value) else { return Ok(None) };
        let session = self.sessions.keyed(cookie.id);
        let store = self.sessions.store();
        let Some(loaded) = store.load(&session.key, None).await? else { return Ok(None) };
        Ok(Some(T::decode(&Fields::new(&loaded.record, self.sessions.config().format))))
    }

    /// The session cookie value a response set, if it set one (a removal yields `None`).
    pub fn cookie_set_by(&self, response: &LocalResponse<'_>) -> Option<String> {
        let name = &self.sessions.config().cookie_name;
        response
            .headers()
            .get("Set-Cookie")
            .filter_map(|raw| Cookie::parse(raw.to_owned()).ok())
            .find(|cookie| cookie.name() == name && !cookie.value().is_empty())
            .map(|cookie| cookie.value().to_owned())
    }
}
