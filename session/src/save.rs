//! Carrying out a [`Plan`] against the store: its one write (with fresh ids where a new one
//! is taken), then the user index, all within what the store's time limit leaves.

use std::time::Duration;

use crate::error::Error;
use crate::id::{KeyedId, SessionId};
use crate::plan::{Plan, Write};
use crate::sessions::Sessions;
use crate::state::RequestState;
use crate::store::{Record, Regenerated};

/// How many fresh ids a save draws before giving up on finding a free one.
const ID_ATTEMPTS: usize = 3;

/// What a save does to the cookie.
pub(crate) enum CookieChange {
    Keep,
    /// Give the client `id`, with `Max-Age` when permanent.
    Set {
        id: SessionId,
        max_age: Option<Duration>,
    },
    Remove,
}

/// Where the session stands after the write.
enum Written {
    /// Still under its id, or not stored at all (`None`).
    Kept(Option<KeyedId>),
    /// Stored under a new id.
    Moved(KeyedId),
    /// Gone: destroyed, or ended meanwhile by a logout or expiry.
    Gone,
}

/// Saves what the request changed, within what the store's per-request time limit leaves
/// after the load, so that a slow load followed by a slow save cannot hold a request for
/// twice the limit.
pub(crate) async fn save(state: &RequestState) -> Result<CookieChange, Error> {
    let Some(budget) = state.save_budget() else { return save_unbounded(state).await };
    rocket::tokio::time::timeout(budget.left, save_unbounded(state))
        .await
        .unwrap_or(Err(Error::OutOfTime(budget.limit)))
}

async fn save_unbounded(state: &RequestState) -> Result<CookieChange, Error> {
    let Plan { write, index_user, ttl, permanent, refresh_cookie } = state.plan()?;
    let sessions = state.sessions();
    let replaced = index_user.as_ref().and(write.replaced()).map(|old| old.key.clone());
    let written = carry_out(sessions, write, ttl).await?;
    if let Some(user) = index_user {
        if let Written::Kept(Some(session)) | Written::Moved(session) = &written {
            sessions.users().bind(&user, &session.key, replaced.as_deref()).await?;
        }
    }
    let max_age = permanent.then_some(ttl);
    Ok(match written {
        Written::Kept(Some(kept)) if refresh_cookie => CookieChange::Set { id: kept.id, max_age },
        Written::Kept(_) => CookieChange::Keep,
        Written::Moved(new) => CookieChange::Set { id: new.id, max_age },
        Written::Gone => CookieChange::Remove,
    })
}

/// The plan's single store write (two for a destroy followed by new data).
async fn carry_out(sessions: &Sessions, write: Write, ttl: Duration) -> Result<Written, Error> {
    let store = sessions.store();
    Ok(match write {
        Write::Nothing { kept } => Written::Kept(kept),
        Write::Create { id, fields } => Written::Moved(create(sessions, id, &fields, ttl).await?),
        // Logged out or expired meanwhile: the write must not bring it back.
        Write::Update { id, changes } => match store.update(&id.key, &changes, ttl).await? {
            true => Written::Kept(Some(id)),
            false => Written::Gone,
        },
        Write::Regenerate { old, new, changes } => {
            let mut new = sessions.keyed(new);
            for _ in 0..ID_ATTEMPTS {
                match store.regenerate(&old.key, &new.key, &changes, ttl).await? {
                    Regenerated::Moved => return Ok(Written::Moved(new)),
                    Regenerated::SourceGone => return Ok(Written::Gone),
                    Regenerated::TargetTaken => new = sessions.fresh_id(),
                }
            }
            return Err(Error::NoFreeId(ID_ATTEMPTS));
        }
        Write::Delete { old } => {
            store.delete(&old.key).await?;
            Written::Gone
        }
        Write::Replace { old, new, fields } => {
            store.delete(&old.key).await?;
            Written::Moved(create(sessions, new, &fields, ttl).await?)
        }
    })
}

/// Stores a new session under `id`, or under a fresh id if `id` is taken: a client never
/// ends up sharing another client's record.
async fn create(
    sessions: &Sessions,
    id: SessionId,
    fields: &Record,
    ttl: Duration,
) -> Result<KeyedId, Error> {
    let mut new = sessions.keyed(id);
    for _ in 0..ID_ATTEMPTS {
        if sessions.store().create(&new.key, fields, ttl).await? {
            return Ok(new);
        }
        new = sessions.fresh_id();
    }
    Err(Error::NoFreeId(ID_ATTEMPTS))
}
