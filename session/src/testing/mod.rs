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
//! let cart: Option<Cart> = sessions.read(&cookie).await.unwrap();
//! assert_eq!(cart, Some(Cart { items: vec![1, 2] }));
//! # }) }
//! ```

mod observed;

pub use observed::{ObservedStore, Observer, StoreCall};

use std::sync::Arc;

use rocket::http::Cookie;
use rocket::local::asynchronous::{Client, LocalResponse};

use crate::codec;
use crate::data::{at_defaults, defaults_of, FieldSink, Fields, SessionData};
use crate::error::Error;
use crate::reserved;
use crate::sessions::Sessions;
use crate::store::Record;

/// The sessions of a Rocket under test. Every method speaks [`Cookie`], named as the
/// configuration names it (`session_cookie_name`): a cookie `create` returns or
/// `cookie_set_by` finds goes straight into a request or into `read`.
pub struct TestSessions<'c> {
    sessions: &'c Sessions,
}

/// The namespaces a test puts into a new session.
pub struct NewSession {
    record: Record,
    format: codec::Format,
    user: Option<String>,
}

impl NewSession {
    /// Stores `value` as namespace `T` of the new session; as in a request, a field at its
    /// default is left out.
    ///
    /// # Errors
    /// A field cannot be encoded in the configured format.
    pub fn set<T: SessionData>(&mut self, value: &T) -> Result<(), codec::Error> {
        let defaults = defaults_of::<T>(self.format);
        value.encode(&mut FieldSink::without_defaults(&mut self.record, self.format, defaults))
    }

    /// Binds the new session to `user`, as [`Session::bind_user`](crate::Session::bind_user)
    /// at a login would, so that [`Sessions::revoke_user`] ends it.
    ///
    /// # Errors
    /// Never in practice: a string always encodes; the `Result` lets `create`'s closure use `?`.
    pub fn bind_user(&mut self, user: &str) -> Result<(), codec::Error> {
        self.record.insert(reserved::USER.to_owned(), codec::encode(self.format, user)?);
        self.user = Some(user.to_owned());
        Ok(())
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
        let mut session = NewSession { record: Record::new(), format: config.format, user: None };
        fill(&mut session)?;
        session.record.extend(self.sessions.created_field());
        let new = self.sessions.fresh_id();
        if !self.sessions.store().create(new.key(), &session.record, config.lifetime).await? {
            return Err(Error::NoFreeId(1));
        }
        if let Some(user) = &session.user {
            self.sessions.users().bind(user, new.key(), None).await?;
        }
        Ok(Cookie::new(config.cookie_name.clone(), self.sessions.cookie_value(&new.id())))
    }

    /// Namespace `T` of the session `cookie` carries, when it holds a value other than the
    /// default there (what [`ExistingSession<T>`](crate::ExistingSession) admits); `None`
    /// when it holds none, when the session does not exist, and when the cookie is not a
    /// valid session cookie. [`exists`](Self::exists) tells the last two from the first.
    /// Reading does not refresh the session's expiry.
    ///
    /// # Errors
    /// The store fails.
    pub async fn read<T: SessionData>(&self, cookie: &Cookie<'_>) -> Result<Option<T>, Error> {
        let format = self.sessions.config().format;
        let Some(record) = self.record(cookie).await? else { return Ok(None) };
        let value = T::decode(&Fields::new(&record, format));
        Ok((!at_defaults(&value, format)).then_some(value))
    }

    /// Whether `cookie` carries a live session, whatever it holds.
    ///
    /// # Errors
    /// The store fails.
    pub async fn exists(&self, cookie: &Cookie<'_>) -> Result<bool, Error> {
        Ok(self.record(cookie).await?.is_some())
    }

    async fn record(&self, cookie: &Cookie<'_>) -> Result<Option<Record>, Error> {
        if cookie.name() != self.sessions.config().cookie_name {
            return Ok(None);
        }
        let Some(parsed) = self.sessions.id_from_cookie(cookie.value()) else { return Ok(None) };
        let loaded = self.sessions.store().load(parsed.id.key(), None).await?;
        Ok(loaded.map(|loaded| Arc::unwrap_or_clone(loaded.record)))
    }

    /// The session cookie a response set, if it set one (a removal yields `None`).
    pub fn cookie_set_by(&self, response: &LocalResponse<'_>) -> Option<Cookie<'static>> {
        let name = &self.sessions.config().cookie_name;
        response
            .headers()
            .get("Set-Cookie")
            .filter_map(|raw| Cookie::parse(raw.to_owned()).ok())
            .find(|cookie| cookie.name() == name && !cookie.value().is_empty())
    }
}
