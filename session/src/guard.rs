//! The request guards: [`Session`] and [`ExistingSession`].

use std::any::type_name;
use std::ops::{Deref, DerefMut};

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use crate::data::SessionData;
use crate::error::Error;
use crate::id::SessionId;
use crate::sessions::Sessions;
use crate::state::RequestState;
use crate::users::{SessionHandle, SessionInfo};

/// The namespace `T` of the client's session, as a request guard.
///
/// Reading (`Deref`) is free; the first mutable access (`DerefMut`) marks the namespace
/// changed, and when the response leaves, only the fields whose encoding differs from what
/// was loaded are written, in one store call. A visitor whose session is never changed gets
/// no record and no cookie.
///
/// A field equal to its default is not data: a missing field reads as its default, so one
/// set back to it is removed from the store, and a new visitor whose fields all stay at their
/// defaults gets no record and no cookie (a bot or a health check creates no session). The
/// default is the one the field reads as when absent: the struct's `Default`, or the field's
/// `#[session(default)]` / `#[session(default = "path")]`. So emptying an `Option` is the
/// `session.pop("user")` of Flask:
///
/// ```
/// # use rocket::get;
/// # use rocket_typed_session::Session;
/// #[derive(Session, Default)]
/// struct Auth {
///     user: Option<String>,
/// }
///
/// #[get("/logout")]
/// fn logout(mut auth: Session<Auth>) -> &'static str {
///     auth.user = None; // `auth.user` leaves the store; `ExistingSession<Auth>` now forwards
///     "bye"
/// }
/// ```
///
/// In an `async fn` handler the guard's lifetime must be named, `Session<'_, T>` (left out,
/// Rust reports E0726, "implicit elided lifetime not allowed here"). It is there because the
/// guard borrows the request's session state: the compiler proves the guard is gone before
/// the response that saves it leaves, so no change can be made after the save.
///
/// ```
/// # use rocket::get;
/// # use rocket_typed_session::{ExistingSession, Session};
/// # #[derive(Session, Default)]
/// # struct Auth { user: Option<String> }
/// #[get("/me")]
/// async fn me(auth: ExistingSession<'_, Auth>) -> String {
///     rocket::tokio::task::yield_now().await; // say, a database call
///     format!("{:?}", auth.user)
/// }
/// ```
///
/// The guard fails only when the store fails: with 503 while it is unavailable (the error is
/// [`Error`]). Any number of `Session` guards of different namespaces in one request share a
/// single store load.
///
/// ```
/// use rocket::{get, routes};
/// use rocket_typed_session::{Session, SessionFairing};
///
/// #[derive(Session, Default)]
/// struct Counter {
///     hits: u64,
/// }
///
/// #[get("/count")]
/// fn count(mut counter: Session<Counter>) -> String {
///     counter.hits += 1;
///     counter.hits.to_string()
/// }
///
/// let rocket = rocket::build().attach(SessionFairing::new()).mount("/", routes![count]);
/// ```
pub struct Session<'r, T: SessionData> {
    value: T,
    state: &'r RequestState,
    touched: bool,
    generation: u64,
}

impl<'r, T: SessionData> Session<'r, T> {
    fn new(state: &'r RequestState) -> Self {
        let (value, generation) = state.decode::<T>();
        Session { value, state, touched: false, generation }
    }

    /// The id the client holds after this request. For a session that is not stored yet it is
    /// the id it will be stored under. It is a secret: never log it.
    pub fn id(&self) -> SessionId {
        self.state.id()
    }

    /// Whether the client has no stored session yet (first visit, expired or unknown id).
    pub fn is_new(&self) -> bool {
        !self.state.exists()
    }

    /// Moves the session to a new id, keeping its data; the old id stops working. Call it
    /// when privileges change, at login above all, so an id planted before login is useless.
    pub fn regenerate(&mut self) {
        self.state.regenerate();
    }

    /// Ends the session: its record is deleted and the cookie expired. Changes made before
    /// the call, through any guard, end with it. A change made afterwards, through this or
    /// any other guard of the request, starts a new session with a new id, from defaults:
    /// the first mutable access of a guard taken before the call drops what it held.
    pub fn destroy(&mut self) {
        self.state.destroy();
        self.reload();
    }

    /// Ends every session bound to `user`, as
    /// [`Sessions::revoke_user`](crate::Sessions::revoke_user) does, and returns how many
    /// ended. When this request's own session is bound to `user` ("log out everywhere"), it
    /// ends here too, as with [`destroy`](Self::destroy): the response expires its cookie,
    /// and a change made afterwards (a flash message, say) starts a new session that keeps it.
    ///
    /// ```
    /// # use rocket::{post, response::Redirect};
    /// # use rocket_typed_session::{ExistingSession, Flash, Session};
    /// # #[derive(Session, Default)]
    /// # struct Auth { user: String }
    /// #[post("/logout/everywhere")]
    /// async fn logout_everywhere(
    ///     mut auth: ExistingSession<'_, Auth>,
    ///     mut flash: Session<'_, Flash>,
    /// ) -> Redirect {
    ///     let user = auth.user.clone();
    ///     let ended = auth.revoke_user(&user).await.unwrap_or(0);
    ///     flash.push("info", format!("{ended} sessions signed out"));
    ///     Redirect::to("/login")
    /// }
    /// ```
    ///
    /// # Errors
    /// The store failed; sessions already ended stay ended, and this request's own session
    /// is left as it was.
    pub async fn revoke_user(&mut self, user: &str) -> Result<usize, crate::store::Error> {
        let ended = self.state.sessions().revoke_user(user).await?;
        if self.bound_user().as_deref() == Some(user) {
            self.destroy();
        }
        Ok(ended)
    }

    /// Resets this namespace to its default, removing its stored fields. Other namespaces
    /// are untouched.
    pub fn clear(&mut self) {
        self.state.clear(T::NAMESPACE);
        self.reload();
    }

    /// Takes the namespace as the request's state now holds it, as a fresh guard would.
    fn reload(&mut self) {
        (self.value, self.generation) = self.state.decode::<T>();
        self.touched = false;
    }

    /// Makes the cookie permanent (it carries `Max-Age` = `session_lifetime`) or a browser
    /// session cookie, for this session from now on; the default is `session_permanent`.
    pub fn set_permanent(&mut self, permanent: bool) {
        self.state.set_permanent(permanent);
    }

    /// Binds the session to `user`, so that
    /// [`Sessions::revoke_user`](crate::Sessions::revoke_user) can end it. Call it at login,
    /// with [`regenerate`](Self::regenerate). The binding costs store calls at that save
    /// only (reading and updating the user's index); ordinary requests pay nothing.
    pub fn bind_user(&mut self, user: &str) {
        self.state.bind_user(user);
    }

    /// The user this session is bound to, if any.
    pub fn bound_user(&self) -> Option<String> {
        self.state.bound_user()
    }

    /// Gives the session a label that the device list shows
    /// ([`SessionInfo::label`](crate::SessionInfo::label)), such as "Firefox on Linux" or a
    /// name the user chose; cut to 256 bytes. It is stored with the session's next save like
    /// any change. At login the session also records the client's `User-Agent` (and, with
    /// `session_track_ip = true`, its address) by itself.
    pub fn set_label(&mut self, label: &str) {
        self.state.set_label(label);
    }

    /// The handle that names this session in a device list, once it is stored; `None` for a
    /// session not stored yet (the handle of a session the request regenerates changes when
    /// the response leaves).
    pub fn handle(&self) -> Option<SessionHandle> {
        self.state.stored_key().map(|key| SessionHandle::of(&key))
    }

    /// The managed [`Sessions`], for listing or ending other sessions from a handler.
    pub fn sessions(&self) -> &Sessions {
        self.state.sessions()
    }

    /// Every live session of the user this session is bound to, as
    /// [`Sessions::sessions_of`](crate::Sessions::sessions_of) lists them, with
    /// [`current`](crate::SessionInfo::current) set on this one; empty for a session bound
    /// to nobody.
    ///
    /// ```
    /// # use rocket::get;
    /// # use rocket_typed_session::{ExistingSession, Session};
    /// # #[derive(Session, Default)]
    /// # struct Auth { user: String }
    /// #[get("/devices")]
    /// async fn devices(auth: ExistingSession<'_, Auth>) -> String {
    ///     let Ok(list) = auth.sessions_of_user().await else { return "try again".into() };
    ///     list.iter()
    ///         .map(|s| {
    ///             let name = s.label.as_deref().or(s.user_agent.as_deref()).unwrap_or("unknown");
    ///             format!("{name}{}\n", if s.current { " (this device)" } else { "" })
    ///         })
    ///         .collect()
    /// }
    /// ```
    ///
    /// # Errors
    /// The store failed.
    pub async fn sessions_of_user(&self) -> Result<Vec<SessionInfo>, crate::store::Error> {
        let Some(user) = self.bound_user() else { return Ok(Vec::new()) };
        let mut list = self.sessions().sessions_of(&user).await?;
        if let Some(own) = self.handle() {
            list.iter_mut().for_each(|info| info.current = info.handle == own);
        }
        Ok(list)
    }

    /// Ends every other session of the user this session is bound to ("sign out my other
    /// devices"), keeping this one; returns how many live sessions ended, 0 for a session
    /// bound to nobody.
    ///
    /// # Errors
    /// The store failed; sessions already ended stay ended.
    pub async fn revoke_other_sessions(&mut self) -> Result<usize, crate::store::Error> {
        let Some(user) = self.bound_user() else { return Ok(0) };
        let own = self.state.stored_key().unwrap_or_default();
        let ended = self.sessions().users().revoke_others(&user, &own).await?;
        self.sessions().emit_revoked(&user, ended);
        Ok(ended)
    }

    /// The size in bytes the session would be stored with if the response left now, this
    /// guard's value as it stands, checked against `session_max_size` as the save checks it.
    /// Call it before returning when a handler can answer better than the save's 500 (a 413,
    /// or a message); the save's own check stays in force for everything else. Other guards
    /// of the request count with what they held when they were dropped.
    ///
    /// ```
    /// # use rocket::{get, http::Status};
    /// # use rocket_typed_session::Session;
    /// # #[derive(Session, Default)]
    /// # struct Notes { notes: Vec<String> }
    /// #[get("/note/<text>")]
    /// fn add_note(mut notes: Session<Notes>, text: String) -> Status {
    ///     notes.notes.push(text);
    ///     if notes.check_size().is_err() {
    ///         notes.notes.pop(); // keep the session as stored
    ///         return Status::PayloadTooLarge;
    ///     }
    ///     Status::Ok
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::Store`] holding [`store::Error::TooLarge`](crate::store::Error::TooLarge)
    /// when the save would refuse the record; [`Error::Encode`] when a field cannot be
    /// encoded.
    pub fn check_size(&self) -> Result<usize, Error> {
        self.state.check_size(&self.value)
    }

    /// Whether the cookie is permanent.
    pub fn is_permanent(&self) -> bool {
        self.state.is_permanent()
    }
}

impl<T: SessionData> Deref for Session<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: SessionData> DerefMut for Session<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // Destroyed or revoked since this guard was taken: what it holds belonged to the
        // ended session, and a change from now on belongs to the new one.
        if self.generation != self.state.generation() {
            self.reload();
        }
        self.touched = true;
        &mut self.value
    }
}

impl<T: SessionData> Drop for Session<'_, T> {
    fn drop(&mut self) {
        // A handler that panicked may have left the value half-changed: keep the stored one.
        if self.touched && !std::thread::panicking() {
            self.state.commit(&self.value, self.generation);
        }
    }
}

#[rocket::async_trait]
impl<'r, T: SessionData> FromRequest<'r> for Session<'r, T> {
    type Error = &'r Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match RequestState::of(req).await {
            Ok(state) => Outcome::Success(Session::new(state)),
            Err(error) => Outcome::Error((error.status(), error)),
        }
    }
}

impl<T: SessionData> Sentinel for Session<'_, T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing::<T>(rocket)
    }
}

/// Like [`Session`], but only for a client whose live session holds a value other than the
/// default in namespace `T` (a field at its default is stored as absent); otherwise the
/// request is forwarded with 401, so a login-required route can fall back to a login route or
/// the 401 catcher.
///
/// A namespace written only at login (say an `Auth` struct) makes this a "logged in" guard;
/// a logout that sets its fields back to their defaults (`auth.user = None`) ends it.
///
/// ```
/// use rocket::{get, response::Redirect, routes};
/// use rocket_typed_session::{ExistingSession, Session};
///
/// #[derive(Session, Default)]
/// struct Auth {
///     user: String,
/// }
///
/// #[get("/account")]
/// fn account(auth: ExistingSession<Auth>) -> String {
///     format!("hello {}", auth.user)
/// }
///
/// #[get("/account", rank = 2)]
/// fn login_first() -> Redirect {
///     Redirect::to("/login")
/// }
/// ```
pub struct ExistingSession<'r, T: SessionData>(Session<'r, T>);

impl<'r, T: SessionData> Deref for ExistingSession<'r, T> {
    type Target = Session<'r, T>;

    fn deref(&self) -> &Session<'r, T> {
        &self.0
    }
}

impl<'r, T: SessionData> DerefMut for ExistingSession<'r, T> {
    fn deref_mut(&mut self) -> &mut Session<'r, T> {
        &mut self.0
    }
}

#[rocket::async_trait]
impl<'r, T: SessionData> FromRequest<'r> for ExistingSession<'r, T> {
    type Error = &'r Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match RequestState::of(req).await {
            Ok(state) if state.exists() && state.holds(T::NAMESPACE) => {
                let session = Session::new(state);
                // A record written before defaults were left out may still hold them.
                if state.at_defaults(&session.value) {
                    return Outcome::Forward(Status::Unauthorized);
                }
                Outcome::Success(ExistingSession(session))
            }
            Ok(_) => Outcome::Forward(Status::Unauthorized),
            Err(error) => Outcome::Error((error.status(), error)),
        }
    }
}

impl<T: SessionData> Sentinel for ExistingSession<'_, T> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing::<T>(rocket)
    }
}

fn fairing_missing<T>(rocket: &Rocket<Ignite>) -> bool {
    let missing = rocket.state::<Sessions>().is_none();
    if missing {
        log::error!(
            "a route takes a session guard of `{}` but SessionFairing is not attached; \
             add `.attach(SessionFairing::new())`",
            type_name::<T>()
        );
    }
    missing
}
