//! [`Sessions`]: the shared session state the fairing manages.

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
}

impl Sessions {
    pub(crate) fn new(store: Arc<dyn SessionStore>, config: SessionConfig) -> Self {
        Sessions { inner: Arc::new(Inner { store, config }) }
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
