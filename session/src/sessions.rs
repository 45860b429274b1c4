//! [`Sessions`]: the shared session state the fairing manages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::Clock;
use crate::codec;
use crate::config::SessionConfig;
use crate::id::{KeyedId, SessionId};
use crate::reserved;
use crate::signer::Signer;
use crate::store::{Record, SessionStore};
use crate::users::UserIndex;

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
}

/// The id a session cookie carries.
pub(crate) struct CookieId {
    pub(crate) id: SessionId,
    /// It was signed with a fallback key: the client should get it signed anew.
    pub(crate) resign: bool,
}

impl Sessions {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        config: SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let signer =
            config.signing_key().map(|secret| Signer::new(&secret, &config.secret_key_fallbacks));
        let users = UserIndex::new(store.clone(), &config, clock.clone());
        let shared = Shared { store, config, signer, clock, users, requests: AtomicU64::new(0) };
        Sessions { shared: Arc::new(shared) }
    }

    /// The id a cookie value carries, if it has the exact shape (and, when signing, a valid
    /// signature); anything else is no id, decided without a store call.
    pub(crate) fn id_from_cookie(&self, value: &str) -> Option<CookieId> {
        let length = self.shared.config.id_length;
        match &self.shared.signer {
            Some(signer) => {
                signer.verify(value, length).map(|(id, resign)| CookieId { id, resign })
            }
            None => SessionId::parse(value, length).map(|id| CookieId { id, resign: false }),
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

    /// How long `record` may still live: the idle lifetime, capped by what is left of the
    /// absolute lifetime. Zero once the absolute lifetime has passed.
    pub(crate) fn remaining(&self, record: &Record) -> Duration {
        let lifetime = self.shared.config.lifetime;
        let Some(absolute) = self.shared.config.absolute_lifetime else { return lifetime };
        let created = record.get(reserved::CREATED).and_then(|b| codec::decode::<u64>(b).ok());
        let Some(created) = created else { return lifetime };
        let created = UNIX_EPOCH + Duration::from_secs(created);
        let age = self.now().duration_since(created).unwrap_or_default();
        lifetime.min(absolute.saturating_sub(age))
    }

    fn now(&self) -> SystemTime {
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

    /// The store sessions live in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.shared.store
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
    pub async fn revoke_user(&self, user: &str) -> Result<usize, crate::store::Error> {
        self.shared.users.revoke(user).await
    }
}
