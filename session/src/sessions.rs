//! [`Sessions`]: the shared session state the fairing manages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::Clock;
use crate::codec;
use crate::config::SessionConfig;
use crate::events::{Hook, SessionEvent};
use crate::id::{KeyedId, SessionId};
use crate::reserved;
use crate::signer::Signer;
use crate::store::{Error as StoreError, Record, SessionStore};
use crate::users::{Listed, SessionHandle, SessionInfo, UserIndex};

/// The configured store and settings, managed by [`SessionFairing`](crate::SessionFairing)
/// and available to any code that holds the Rocket instance (`rocket.state::<Sessions>()`)
/// or as a `&State<Sessions>` guard.
#[derive(Clone)]
pub struct Sessions {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn SessionStore>,
    config: SessionConfig,
    signer: Option<Signer>,
    clock: Arc<dyn Clock>,
    users: UserIndex,
    requests: AtomicU64,
    hook: Option<Hook>,
}

/// The id a session cookie carries, with its storage key.
pub(crate) struct CookieId {
    pub(crate) id: KeyedId,
    /// It was signed with a fallback key: the client should get it signed anew.
    pub(crate) resign: bool,
}

impl Sessions {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        config: SessionConfig,
        clock: Arc<dyn Clock>,
        hook: Option<Hook>,
    ) -> Self {
        let signer =
            config.signing_key().map(|secret| Signer::new(&secret, &config.secret_key_fallbacks));
        let users = UserIndex::new(store.clone(), &config, clock.clone());
        let requests = AtomicU64::new(0);
        let shared = Shared { store, config, signer, clock, users, requests, hook };
        Sessions { shared: Arc::new(shared) }
    }

    /// The id a cookie value carries, with its storage key, if it has the exact shape (and,
    /// when signing, a valid signature); anything else is no id, decided without a store call.
    pub(crate) fn id_from_cookie(&self, value: &str) -> Option<CookieId> {
        let length = self.shared.config.id_length;
        match &self.shared.signer {
            Some(signer) => signer
                .verify(value, length)
                .map(|(id, resign)| CookieId { id: self.keyed(id), resign }),
            None => KeyedId::parse(value, length, &self.shared.config.key_prefix)
                .map(|id| CookieId { id, resign: false }),
        }
    }

    /// The cookie value that carries `id`.
    pub(crate) fn cookie_value(&self, id: &SessionId) -> String {
        match &self.shared.signer {
            Some(signer) => signer.sign(id),
            None => id.expose().to_owned(),
        }
    }

    /// `id` with the key the store files it under: the one place a request digests an id.
    pub(crate) fn keyed(&self, id: SessionId) -> KeyedId {
        KeyedId::new(id, &self.shared.config.key_prefix)
    }

    /// A new random id, with its storage key.
    pub(crate) fn fresh_id(&self) -> KeyedId {
        self.keyed(SessionId::generate(self.shared.config.id_length))
    }

    /// The creation time to store in a new record, when an absolute timeout is configured.
    pub(crate) fn created_field(&self) -> Option<(String, Vec<u8>)> {
        self.shared.config.absolute_lifetime?;
        let now = self.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let bytes =
            codec::encode(self.shared.config.format, &now).expect("an integer always encodes");
        Some((reserved::CREATED.to_owned(), bytes))
    }

    /// The expiry a rolling load resets a record to: the idle lifetime, or the absolute
    /// lifetime when that is shorter. The load cannot cap it by the record's age, which it
    /// learns only from the record it returns.
    pub(crate) fn touch_lifetime(&self) -> Duration {
        let config = &self.shared.config;
        config.absolute_lifetime.map_or(config.lifetime, |absolute| config.lifetime.min(absolute))
    }

    /// How long `record` may still live: the idle lifetime, capped by what is left of the
    /// absolute lifetime. Zero once the absolute lifetime has passed.
    pub(crate) fn remaining(&self, record: &Record) -> Duration {
        let lifetime = self.shared.config.lifetime;
        let Some(absolute) = self.shared.config.absolute_lifetime else { return lifetime };
        let created = record.get(reserved::CREATED).and_then(|b| codec::decode::<u64>(b).ok());
        // A record without a creation time is one being created now.
        let Some(created) = created else { return lifetime.min(absolute) };
        let created = UNIX_EPOCH + Duration::from_secs(created);
        let age = self.now().duration_since(created).unwrap_or_default();
        lifetime.min(absolute.saturating_sub(age))
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// Counts a request that used a session; every `session_cleanup_n_requests` of them,
    /// starts the store's expiry sweep in the background, off every request's path.
    pub(crate) fn count_request(&self) {
        let seen = self.shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if seen % self.shared.config.cleanup_n_requests != 0 {
            return;
        }
        let store = self.shared.store.clone();
        rocket::tokio::spawn(async move {
            if let Err(error) = store.cleanup().await {
                log::warn!("sessions: the store's expiry sweep failed: {error}");
            }
        });
    }

    pub(crate) fn users(&self) -> &UserIndex {
        &self.shared.users
    }

    /// Tells the audit hook, if there is one, of the event `event` makes; nothing is made
    /// without a hook.
    pub(crate) fn emit(&self, event: impl FnOnce() -> SessionEvent) {
        if let Some(hook) = &self.shared.hook {
            hook(&event());
        }
    }

    /// Tells the hook of a revocation that ended `count` sessions of `user`, if any.
    pub(crate) fn emit_revoked(&self, user: &str, count: usize) {
        if count > 0 {
            self.emit(|| SessionEvent::Revoked { user: user.to_owned(), count });
        }
    }

    /// What a listing shows of `listed`.
    pub(crate) fn info(&self, listed: &Listed) -> SessionInfo {
        let config = &self.shared.config;
        SessionInfo::read(&listed.key, &listed.peeked, config.format, config.lifetime, self.now())
    }

    /// The store sessions live in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.shared.store
    }

    /// The store, called directly: through the `Arc`, each call would box its future twice
    /// (the `Arc`'s forwarding impl, then the store's own).
    pub(crate) fn backend(&self) -> &dyn SessionStore {
        self.shared.store.as_ref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.shared.config
    }

    /// Ends every session bound to `user` with
    /// [`Session::bind_user`](crate::Session::bind_user) ("log out everywhere", ASVS 7.4);
    /// returns how many live sessions it ended. Works on every store, from any handler or
    /// task that can reach the managed `Sessions`.
    ///
    /// It reaches sessions bound within the last `session_absolute_lifetime`, or, without
    /// one, within ten `session_lifetime`s (310 days by default): the index of a user who
    /// has not logged in for longer expires.
    ///
    /// ```
    /// use rocket::{post, State};
    /// use rocket_typed_session::Sessions;
    ///
    /// #[post("/admin/users/<user>/logout")]
    /// async fn log_out_everywhere(sessions: &State<Sessions>, user: &str) -> String {
    ///     match sessions.revoke_user(user).await {
    ///         Ok(ended) => format!("{ended} sessions ended"),
    ///         Err(error) => format!("try again: {error}"),
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// The store failed; sessions already deleted stay deleted, and calling again finishes
    /// the job.
    pub async fn revoke_user(&self, user: &str) -> Result<usize, StoreError> {
        let ended = self.shared.users.revoke(user).await?;
        self.emit_revoked(user, ended);
        Ok(ended)
    }

    /// Every live session bound to `user`, the most recently bound first: the "where you're
    /// signed in" page. Each [`SessionInfo`] carries a [`SessionHandle`] that
    /// [`revoke_session`](Self::revoke_session) takes. From a request guard,
    /// [`Session::sessions_of_user`](crate::Session::sessions_of_user) also marks the
    /// caller's own session.
    ///
    /// It costs two store calls whatever the number of sessions: one load of the user's
    /// index and one [`peek`](crate::store::SessionStore::peek) of the sessions it lists
    /// (on Redis one pipeline, on a cluster one pipeline per session, sent together). Sessions
    /// that ended since they were bound (expired, logged out, revoked) are not listed and
    /// leave the index, in a third call. For a user with very many sessions, see
    /// [`sessions_of_page`](Self::sessions_of_page), or cap them with
    /// `session_max_per_user`.
    ///
    /// ```
    /// use rocket::{get, State};
    /// use rocket_typed_session::Sessions;
    ///
    /// #[get("/admin/users/<user>/sessions")]
    /// async fn devices(sessions: &State<Sessions>, user: &str) -> String {
    ///     match sessions.sessions_of(user).await {
    ///         Ok(list) => format!("{} sessions", list.len()),
    ///         Err(error) => format!("try again: {error}"),
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// The store failed.
    pub async fn sessions_of(&self, user: &str) -> Result<Vec<SessionInfo>, StoreError> {
        self.sessions_of_page(user, 0, usize::MAX).await
    }

    /// Like [`sessions_of`](Self::sessions_of), for the sessions from the `offset`th (0 the
    /// most recently bound) on, at most `limit` of them: the store reads only those. Offsets
    /// count the sessions the index lists, so a page may hold fewer than `limit` when some
    /// of it had ended.
    ///
    /// # Errors
    /// The store failed.
    pub async fn sessions_of_page(
        &self,
        user: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let listed = self.shared.users.list(user, offset, limit).await?;
        Ok(listed.iter().map(|listed| self.info(listed)).collect())
    }

    /// Ends the session of `user` that `handle` names, as a "sign out" button of a device
    /// list sends it back; returns whether a live session ended. A handle that is malformed,
    /// unknown, of another user's session or of a session already ended ends nothing and
    /// returns `false`: a caller can only end sessions of the user it names, so name the
    /// logged-in user, never one taken from the form.
    ///
    /// ```
    /// use rocket::{form::Form, post, FromForm};
    /// use rocket_typed_session::{ExistingSession, Session, Sessions};
    /// # #[derive(Session, Default)]
    /// # struct Auth { user: String }
    ///
    /// #[derive(FromForm)]
    /// struct SignOut<'r> {
    ///     handle: &'r str,
    /// }
    ///
    /// #[post("/devices/sign-out", data = "<form>")]
    /// async fn sign_out(auth: ExistingSession<'_, Auth>, form: Form<SignOut<'_>>) -> &'static str {
    ///     let sessions: &Sessions = auth.sessions();
    ///     match sessions.revoke_session(&auth.user, form.handle).await {
    ///         Ok(true) => "signed out",
    ///         Ok(false) => "no such session",
    ///         Err(_) => "try again",
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// The store failed; calling again finishes the job.
    pub async fn revoke_session(&self, user: &str, handle: &str) -> Result<bool, StoreError> {
        let Some(handle) = SessionHandle::parse(handle) else { return Ok(false) };
        let ended = self.shared.users.revoke_handle(user, &handle).await?;
        self.emit_revoked(user, usize::from(ended));
        Ok(ended)
    }
}
