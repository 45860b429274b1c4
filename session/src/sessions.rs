//! [`Sessions`]: the shared session state the fairing manages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::Clock;
use crate::codec;
use crate::config::SessionConfig;
use crate::id::SessionId;
use crate::signer::{Secret, Signer};
use crate::store::{Record, SessionStore};

/// Reserved record key holding the creation time (Unix seconds), for the absolute timeout.
pub(crate) const CREATED_KEY: &str = "__created";

/// The configured store and settings, managed by [`SessionFairing`](crate::SessionFairing)
/// and available to any code that holds the Rocket instance (`rocket.state::<Sessions>()`)
/// or as a `&State<Sessions>` guard.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn SessionStore>,
    config: SessionConfig,
    signer: Option<Signer>,
    clock: Arc<dyn Clock>,
    requests: AtomicU64,
}

impl Sessions {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        config: SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let signer = config.use_signer.then(|| {
            let secret = config.secret_key.clone().unwrap_or_else(|| {
                log::warn!("sessions: no session_secret_key or secret_key; signing with a random key, so signed cookies end with this process");
                Secret::random()
            });
            Signer::new(&secret, &config.secret_key_fallbacks)
        });
        let inner = Inner { store, config, signer, clock, requests: AtomicU64::new(0) };
        Sessions { inner: Arc::new(inner) }
    }

    /// The id a cookie value carries, if it has the exact shape (and, when signing, a valid
    /// signature); anything else is no id, decided without a store call. The flag says the
    /// value was signed with a fallback key, so the client should get it signed anew.
    pub(crate) fn id_from_cookie(&self, value: &str) -> Option<(SessionId, bool)> {
        let length = self.inner.config.id_length;
        match &self.inner.signer {
            Some(signer) => signer.verify(value, length),
            None => SessionId::parse(value, length).map(|id| (id, false)),
        }
    }

    /// The cookie value that carries `id`.
    pub(crate) fn cookie_value(&self, id: &SessionId) -> String {
        match &self.inner.signer {
            Some(signer) => signer.sign(id),
            None => id.expose().to_owned(),
        }
    }

    /// The creation time to store in a new record, when an absolute timeout is configured.
    pub(crate) fn created_field(&self) -> Option<(String, Vec<u8>)> {
        self.inner.config.absolute_lifetime?;
        let now = self.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let bytes =
            codec::encode(self.inner.config.format, &now).expect("an integer always encodes");
        Some((CREATED_KEY.to_owned(), bytes))
    }

    /// How long `record` may still live: the idle lifetime, capped by what is left of the
    /// absolute lifetime. Zero once the absolute lifetime has passed.
    pub(crate) fn remaining(&self, record: &Record) -> Duration {
        let lifetime = self.inner.config.lifetime;
        let Some(absolute) = self.inner.config.absolute_lifetime else { return lifetime };
        let Some(created) = record.get(CREATED_KEY).and_then(|b| codec::decode::<u64>(b).ok())
        else {
            return lifetime;
        };
        let created = UNIX_EPOCH + Duration::from_secs(created);
        let age = self.now().duration_since(created).unwrap_or_default();
        lifetime.min(absolute.saturating_sub(age))
    }

    fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Counts a request that used a session; every `session_cleanup_n_requests` of them,
    /// starts the store's expiry sweep in the background, off every request's path.
    pub(crate) fn count_request(&self) {
        let seen = self.inner.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if seen % self.inner.config.cleanup_n_requests != 0 {
            return;
        }
        let store = self.inner.store.clone();
        rocket::tokio::spawn(async move {
            if let Err(error) = store.cleanup().await {
                log::warn!("sessions: the store's expiry sweep failed: {error}");
            }
        });
    }

    /// The store sessions live in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// Ends every session bound to `user` with
    /// [`Session::bind_user`](crate::Session::bind_user) ("log out everywhere", ASVS 7.4);
    /// returns how many sessions were listed. Works on every store, from any handler or
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
        crate::revocation::revoke(self, user).await
    }
}
