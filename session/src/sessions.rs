//! [`Sessions`]: the shared session state the fairing manages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::config::SessionConfig;
use crate::store::SessionStore;

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
    requests: AtomicU64,
}

impl Sessions {
    pub(crate) fn new(store: Arc<dyn SessionStore>, config: SessionConfig) -> Self {
        Sessions { inner: Arc::new(Inner { store, config, requests: AtomicU64::new(0) }) }
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
}
