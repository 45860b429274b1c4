//! The user index ("log out everywhere"): per user, the sessions bound to them, kept in the
//! session store itself through the ordinary [`SessionStore`] operations, so it works on
//! every store.
//!
//! The index is a record under `prefix` + `user:` + SHA-256(user), one field per bound
//! session (its storage key → the bind time). It is written only when a session is bound or
//! moves to a new id (login), never on ordinary requests.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::store::digest::prefixed_sha256_hex;
use crate::store::{Changes, Error, Loaded, Record, SessionStore};

/// How many members a bind checks for sessions that ended, so the index stays small.
const PRUNE_PER_BIND: usize = 16;

/// How long an index lives after its last bind when no absolute lifetime bounds sessions:
/// ten idle lifetimes (310 days by default).
const INDEX_LIFETIMES: u32 = 10;

/// The index of every user, in the sessions' own store.
pub(crate) struct UserIndex {
    store: Arc<dyn SessionStore>,
    prefix: String,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl UserIndex {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        config: &SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> UserIndex {
        let ttl = config.absolute_lifetime.unwrap_or(config.lifetime * INDEX_LIFETIMES);
        UserIndex { store, prefix: format!("{}user:", config.key_prefix), ttl, clock }
    }

    fn key(&self, user: &str) -> String {
        prefixed_sha256_hex(&self.prefix, user)
    }

    /// Records that the session under `session_key` belongs to `user`; `replaced` is the key
    /// it had before a regeneration. Members whose sessions ended are pruned, a few per call.
    pub(crate) async fn bind(
        &self,
        user: &str,
        session_key: &str,
        replaced: Option<&str>,
    ) -> Result<(), Error> {
        let key = self.key(user);
        let now = self.clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut changes = Changes::default();
        changes.set.insert(session_key.to_owned(), now.to_le_bytes().to_vec());
        changes.remove.extend(replaced.map(str::to_owned));
        let existing = self.store.load(&key, None).await?.map(|loaded| loaded.record);
        if let Some(index) = &existing {
            changes.remove.extend(self.ended_members(index, session_key).await?);
            if self.store.update(&key, &changes, self.ttl).await? {
                return Ok(());
            }
        }
        if self.store.create(&key, &changes.set, self.ttl).await? {
            return Ok(());
        }
        // Another request created the index meanwhile.
        self.store.update(&key, &changes, self.ttl).await.map(drop)
    }

    /// The oldest members (up to [`PRUNE_PER_BIND`]) whose sessions no longer exist.
    async fn ended_members(&self, index: &Record, keep: &str) -> Result<Vec<String>, Error> {
        let mut members: Vec<(&String, &Vec<u8>)> =
            index.iter().filter(|(k, _)| *k != keep).collect();
        members.sort_by_key(|(_, bound)| {
            bound.as_slice().try_into().map(u64::from_le_bytes).unwrap_or(0)
        });
        let mut ended = Vec::new();
        for (member, _) in members.into_iter().take(PRUNE_PER_BIND) {
            if self.store.load(member, None).await?.is_none() {
                ended.push(member.clone());
            }
        }
        Ok(ended)
    }

    /// Deletes every session bound to `user`; returns how many were live (the index may list
    /// sessions that expired or logged out since).
    pub(crate) async fn revoke(&self, user: &str) -> Result<usize, Error> {
        let key = self.key(user);
        let Some(Loaded { record: index, .. }) = self.store.load(&key, None).await? else {
            return Ok(0);
        };
        let mut ended = 0;
        for member in index.keys() {
            ended += usize::from(self.store.delete(member).await?);
        }
        // Only the members seen are removed: a login racing this call keeps its entry.
        let done = Changes { set: Record::new(), remove: index.keys().cloned().collect() };
        self.store.update(&key, &done, self.ttl).await?;
        Ok(ended)
    }
}
