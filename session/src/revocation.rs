//! "Log out everywhere": an index from a user to the sessions bound to them, kept in the
//! session store itself through the ordinary [`SessionStore`] operations, so it works on
//! every store.
//!
//! The index is a record under `prefix` + `user:` + SHA-256(user), one field per bound
//! session (its storage key → the bind time). It is written only when a session is bound or
//! moves to a new id (login), never on ordinary requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::id::push_sha256_hex;
use crate::sessions::Sessions;
use crate::store::{Changes, Error, Loaded, Record};

/// Reserved record key holding the user a session is bound to.
pub(crate) const USER_KEY: &str = "__user";

/// How many members a bind checks for sessions that ended, so the index stays small.
const PRUNE_PER_BIND: usize = 16;

/// How long an index lives after its last bind when no absolute lifetime bounds sessions:
/// ten idle lifetimes (310 days by default).
const INDEX_LIFETIMES: u32 = 10;

fn index_key(sessions: &Sessions, user: &str) -> String {
    let mut key = format!("{}user:", sessions.config().key_prefix);
    push_sha256_hex(&mut key, user);
    key
}

fn index_ttl(sessions: &Sessions) -> Duration {
    let config = sessions.config();
    config.absolute_lifetime.unwrap_or(config.lifetime * INDEX_LIFETIMES)
}

/// Records that the session under `session_key` belongs to `user`; `replaced` is the key it
/// had before a regeneration. Members whose sessions ended are pruned, a few per call.
pub(crate) async fn bind(
    sessions: &Sessions,
    user: &str,
    session_key: &str,
    replaced: Option<&str>,
) -> Result<(), Error> {
    let store = sessions.store();
    let key = index_key(sessions, user);
    let ttl = index_ttl(sessions);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut changes = Changes::default();
    changes.set.insert(session_key.to_owned(), now.to_le_bytes().to_vec());
    changes.remove.extend(replaced.map(str::to_owned));
    let existing = store.load(&key, None).await?.map(|loaded| loaded.record);
    if let Some(index) = &existing {
        changes.remove.extend(ended_members(sessions, index, session_key).await?);
        if store.update(&key, &changes, ttl).await? {
            return Ok(());
        }
    }
    if store.create(&key, &changes.set, ttl).await? {
        return Ok(());
    }
    // Another request created the index meanwhile.
    store.update(&key, &changes, ttl).await.map(drop)
}

/// The oldest members (up to [`PRUNE_PER_BIND`]) whose sessions no longer exist.
async fn ended_members(
    sessions: &Sessions,
    index: &Record,
    keep: &str,
) -> Result<Vec<String>, Error> {
    let mut members: Vec<(&String, &Vec<u8>)> = index.iter().filter(|(k, _)| *k != keep).collect();
    members
        .sort_by_key(|(_, bound)| bound.as_slice().try_into().map(u64::from_le_bytes).unwrap_or(0));
    let mut ended = Vec::new();
    for (member, _) in members.into_iter().take(PRUNE_PER_BIND) {
        if sessions.store().load(member, None).await?.is_none() {
            ended.push(member.clone());
        }
    }
    Ok(ended)
}

/// Deletes every session bound to `user`; returns how many the index listed.
pub(crate) async fn revoke(sessions: &Sessions, user: &str) -> Result<usize, Error> {
    let store = sessions.store();
    let key = index_key(sessions, user);
    let Some(Loaded { record: index, .. }) = store.load(&key, None).await? else { return Ok(0) };
    for member in index.keys() {
        store.delete(member).await?;
    }
    // Only the members seen are removed: a login racing this call keeps its entry.
    let done = Changes { set: Record::new(), remove: index.keys().cloned().collect() };
    store.update(&key, &done, index_ttl(sessions)).await?;
    Ok(index.len())
}
