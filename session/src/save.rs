//! Carrying out a [`Plan`] against the store: its one write (with fresh ids where a new one
//! is taken), then the user index, all within what the store's time limit leaves.

use std::time::Duration;

use rocket::tokio::time::Instant;
use rocket::Request;

use crate::error::Error;
use crate::events::SessionEvent;
use crate::id::{KeyedId, SessionId};
use crate::plan::{Plan, Write};
use crate::sessions::Sessions;
use crate::state::RequestState;
use crate::store::{Record, Regenerated};
use crate::users::SessionHandle;

rocket::tokio::task_local! {
    /// When the save under way must be done: where the request's time limit ends. The
    /// stores read it through `store::limit::time_left`.
    pub(crate) static SAVE_BY: Instant;
}

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
pub(crate) async fn save(state: &RequestState, req: &Request<'_>) -> Result<CookieChange, Error> {
    if state.is_untouched() {
        return Ok(CookieChange::Keep);
    }
    // Boxed: inline, the save's future (most of a kilobyte) would size the fairing's, which
    // Rocket boxes and copies on every response, reads included.
    let saving = Box::pin(save_unbounded(state, req));
    let Some(budget) = state.save_budget() else { return saving.await };
    within(budget.left, saving).await.unwrap_or(Err(Error::OutOfTime(budget.limit)))
}

/// Runs `save`, given up on (`None`) once `left` has passed, with the stores' fences set to
/// that same instant.
pub(crate) async fn within<F: std::future::Future>(left: Duration, save: F) -> Option<F::Output> {
    let bounded = rocket::tokio::time::timeout(left, save);
    SAVE_BY.scope(Instant::now() + left, bounded).await.ok()
}

async fn save_unbounded(state: &RequestState, req: &Request<'_>) -> Result<CookieChange, Error> {
    let Plan { write, index_user, binds, ttl, permanent, refresh_cookie } = state.plan(req)?;
    let sessions = state.sessions();
    let moved_from = write.replaced().map(|old| old.key().to_owned());
    let destroyed = write.destroyed().map(|old| old.key().to_owned());
    let written = carry_out(sessions, write, ttl).await?;
    if let Some(user) = &index_user {
        if let Written::Kept(Some(session)) | Written::Moved(session) = &written {
            let capped = sessions.users().bind(user, session.key(), moved_from.as_deref()).await?;
            sessions.emit_revoked(user, capped);
        }
    }
    let bound = index_user.filter(|_| binds);
    report(sessions, &written, moved_from.as_deref(), destroyed.as_deref(), bound);
    let max_age = permanent.then_some(ttl);
    Ok(match written {
        Written::Kept(Some(kept)) if refresh_cookie => CookieChange::Set { id: kept.id(), max_age },
        Written::Kept(_) => CookieChange::Keep,
        Written::Moved(new) => CookieChange::Set { id: new.id(), max_age },
        Written::Gone => CookieChange::Remove,
    })
}

/// Tells the audit hook what the save did, once the store has accepted all of it.
fn report(
    sessions: &Sessions,
    written: &Written,
    moved_from: Option<&str>,
    destroyed: Option<&str>,
    bound: Option<String>,
) {
    if let Some(old) = destroyed {
        sessions.emit(|| SessionEvent::Destroyed { handle: SessionHandle::of(old) });
    }
    let session = match written {
        Written::Kept(Some(session)) => session,
        Written::Moved(new) => {
            sessions.emit(|| match moved_from {
                Some(old) => SessionEvent::Regenerated {
                    handle: SessionHandle::of(new.key()),
                    previous: SessionHandle::of(old),
                },
                None => SessionEvent::Created { handle: SessionHandle::of(new.key()) },
            });
            new
        }
        Written::Kept(None) | Written::Gone => return,
    };
    if let Some(user) = bound {
        sessions.emit(|| SessionEvent::Bound { user, handle: SessionHandle::of(session.key()) });
    }
}

/// The plan's single store write (two for a destroy followed by new data).
async fn carry_out(sessions: &Sessions, write: Write, ttl: Duration) -> Result<Written, Error> {
    let store = sessions.backend();
    Ok(match write {
        Write::Nothing { kept } => Written::Kept(kept),
        Write::Create { id, fields } => Written::Moved(create(sessions, id, &fields, ttl).await?),
        // Logged out or expired meanwhile: the write must not bring it back.
        Write::Update { id, changes } => match store.update(id.key(), &changes, ttl).await? {
            true => Written::Kept(Some(id)),
            false => Written::Gone,
        },
        Write::Regenerate { old, new, changes } => {
            let mut new = sessions.keyed(new);
            for _ in 0..ID_ATTEMPTS {
                match store.regenerate(old.key(), new.key(), &changes, ttl).await? {
                    Regenerated::Moved => return Ok(Written::Moved(new)),
                    Regenerated::SourceGone => return Ok(Written::Gone),
                    Regenerated::TargetTaken => new = sessions.fresh_id(),
                }
            }
            return Err(Error::NoFreeId(ID_ATTEMPTS));
        }
        Write::Delete { old } => {
            store.delete(old.key()).await?;
            Written::Gone
        }
        Write::Replace { old, new, fields } => {
            store.delete(old.key()).await?;
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
        if sessions.backend().create(new.key(), fields, ttl).await? {
            return Ok(new);
        }
        new = sessions.fresh_id();
    }
    Err(Error::NoFreeId(ID_ATTEMPTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, F>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// The fairing awaits the save within the future Rocket boxes and copies for every
    /// response, reads included: the save's work, most of a kilobyte of future, must not
    /// size it (the time limit's timer, a few hundred bytes, may).
    #[test]
    fn a_response_carries_no_kilobytes_of_the_save() {
        let save = save as fn(&'static RequestState, &'static Request<'static>) -> _;
        let size = future_size(save);
        assert!(size <= 384, "the save's future takes {size} bytes");
        let work = save_unbounded as fn(&'static RequestState, &'static Request<'static>) -> _;
        // The bound tells boxed from inline only while the work is larger than it.
        assert!(future_size(work) > 384, "the save's work now fits the bound; lower it");
    }
}
