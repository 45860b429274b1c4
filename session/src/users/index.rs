//! The user index: per user, the sessions bound to them, kept in the session store itself
//! through the ordinary [`SessionStore`] operations, so it works on every store.
//!
//! The index is a record under `prefix` + `user:` + BLAKE3(user), one field per bound
//! session (its storage key → the bind time, Unix nanoseconds). It is written only when a session is bound or
//! moves to a new id (login), when a listing or a bind finds members whose sessions ended,
//! and by revocations; never on ordinary requests.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::store::digest::prefixed_digest_hex;
use crate::store::{Changes, Error, Peeked, Record, SessionStore};

use super::SessionHandle;

/// How many of its oldest members a bind checks for sessions that ended, so the index stays
/// small, when no `session_max_per_user` makes it check them all.
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
    max_per_user: Option<usize>,
}

/// A live session of a user, as a listing found it.
pub(crate) struct Listed {
    pub(crate) key: String,
    pub(crate) peeked: Peeked,
}

impl UserIndex {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        config: &SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> UserIndex {
        let ttl = config.absolute_lifetime.unwrap_or(config.lifetime * INDEX_LIFETIMES);
        let prefix = format!("{}user:", config.key_prefix);
        UserIndex { store, prefix, ttl, clock, max_per_user: config.max_per_user }
    }

    /// The store, called directly rather than through the `Arc`'s forwarding impl.
    fn store(&self) -> &dyn SessionStore {
        self.store.as_ref()
    }

    fn key(&self, user: &str) -> String {
        prefixed_digest_hex(&self.prefix, user)
    }

    async fn load(&self, key: &str) -> Result<Option<Arc<Record>>, Error> {
        Ok(self.store().load(key, None).await?.map(|loaded| loaded.record))
    }

    /// Records that the session under `session_key` belongs to `user`; `replaced` is the key
    /// it had before a regeneration. Members whose sessions ended are pruned, and with
    /// `session_max_per_user` the least recently active sessions past the cap are ended;
    /// returns how many the cap ended.
    pub(crate) async fn bind(
        &self,
        user: &str,
        session_key: &str,
        replaced: Option<&str>,
    ) -> Result<usize, Error> {
        let key = self.key(user);
        // Nanoseconds, so that two logins in a row list in the order they happened.
        let since = self.clock.now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        let mut changes = Changes::default();
        changes.set.insert(session_key.to_owned(), now.to_le_bytes().to_vec());
        changes.remove.extend(replaced.map(str::to_owned));
        let mut capped = 0;
        if let Some(index) = self.load(&key).await? {
            let others = newest_first(&index)
                .filter(|member| *member != session_key && Some(member.as_str()) != replaced);
            let checked: Vec<String> = match self.max_per_user {
                Some(_) => others.cloned().collect(),
                None => oldest(others, PRUNE_PER_BIND),
            };
            let (live, ended) = self.split(checked).await?;
            changes.remove.extend(ended);
            if let Some(cap) = self.max_per_user {
                let over = self.over_cap(live, cap).await?;
                capped = over.0;
                changes.remove.extend(over.1);
            }
            if self.store().update(&key, &changes, self.ttl).await? {
                return Ok(capped);
            }
        }
        if !self.store().create(&key, &changes.set, self.ttl).await? {
            // Another request created the index meanwhile.
            self.store().update(&key, &changes, self.ttl).await?;
        }
        Ok(capped)
    }

    /// Ends the least recently active of `live` so that, with the session being bound, at
    /// most `cap` remain; returns how many were live when ended, and the members to forget.
    async fn over_cap(
        &self,
        mut live: Vec<Listed>,
        cap: usize,
    ) -> Result<(usize, Vec<String>), Error> {
        let excess = (live.len() + 1).saturating_sub(cap);
        // Every session's expiry restarts at its last activity: the least time left is the
        // least recently active. `live` comes newest first; where the store tells no expiry,
        // the stable sort leaves the earliest bound first.
        live.reverse();
        live.sort_by_key(|listed| listed.peeked.expires_in);
        let mut ended = 0;
        let mut forget = Vec::with_capacity(excess);
        for listed in live.into_iter().take(excess) {
            ended += usize::from(self.store().delete(&listed.key).await?);
            forget.push(listed.key);
        }
        Ok((ended, forget))
    }

    /// The live sessions of `members`, read in one [`SessionStore::peek`], and the members
    /// whose sessions ended.
    async fn split(&self, members: Vec<String>) -> Result<(Vec<Listed>, Vec<String>), Error> {
        let peeked = self.store().peek(&members).await?;
        let mut live = Vec::with_capacity(members.len());
        let mut ended = Vec::new();
        for (key, peeked) in members.into_iter().zip(peeked) {
            match peeked {
                Some(peeked) => live.push(Listed { key, peeked }),
                None => ended.push(key),
            }
        }
        Ok((live, ended))
    }

    /// The live sessions of `user`, most recently bound first, from the `offset`th on and
    /// at most `limit` of them: one load of the index and one peek of that page's sessions.
    /// Members of the page whose sessions ended are removed from the index.
    pub(crate) async fn list(
        &self,
        user: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Listed>, Error> {
        let key = self.key(user);
        let Some(index) = self.load(&key).await? else { return Ok(Vec::new()) };
        let page = newest_first(&index).skip(offset).take(limit).cloned().collect();
        let (live, ended) = self.split(page).await?;
        self.forget(&key, ended).await?;
        Ok(live)
    }

    /// Deletes every session bound to `user`; returns how many were live (the index may list
    /// sessions that expired or logged out since).
    pub(crate) async fn revoke(&self, user: &str) -> Result<usize, Error> {
        self.revoke_where(user, |_| true).await
    }

    /// Deletes every session bound to `user` but the one under `keep`.
    pub(crate) async fn revoke_others(&self, user: &str, keep: &str) -> Result<usize, Error> {
        self.revoke_where(user, |member| member != keep).await
    }

    /// Deletes the session of `user` that `handle` names; whether it was live.
    pub(crate) async fn revoke_handle(
        &self,
        user: &str,
        handle: &SessionHandle,
    ) -> Result<bool, Error> {
        Ok(self.revoke_where(user, |member| SessionHandle::of(member) == *handle).await? > 0)
    }

    async fn revoke_where(&self, user: &str, pick: impl Fn(&str) -> bool) -> Result<usize, Error> {
        let key = self.key(user);
        let Some(index) = self.load(&key).await? else { return Ok(0) };
        let members: Vec<String> = index.keys().filter(|member| pick(member)).cloned().collect();
        let mut ended = 0;
        for member in &members {
            ended += usize::from(self.store().delete(member).await?);
        }
        // Only the members seen are removed: a login racing this call keeps its entry.
        self.forget(&key, members).await?;
        Ok(ended)
    }

    async fn forget(&self, key: &str, members: Vec<String>) -> Result<(), Error> {
        if members.is_empty() {
            return Ok(());
        }
        let done = Changes { set: Record::new(), remove: members };
        self.store().update(key, &done, self.ttl).await.map(drop)
    }
}

/// The members of `index`, the most recently bound first.
fn newest_first(index: &Record) -> impl Iterator<Item = &String> {
    let mut members: Vec<(&String, u64)> =
        index.iter().map(|(member, bound)| (member, bound_at(bound))).collect();
    members.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    members.into_iter().map(|(member, _)| member)
}

/// The last `count` of `members`, which come newest first: the oldest.
fn oldest<'a>(members: impl Iterator<Item = &'a String>, count: usize) -> Vec<String> {
    let members: Vec<&String> = members.collect();
    members[members.len().saturating_sub(count)..].iter().map(|member| (*member).clone()).collect()
}

/// The bind time an index field holds; 0 for bytes of another shape.
fn bound_at(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_le_bytes).unwrap_or(0)
}
