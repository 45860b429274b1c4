//! [`SessionEvent`]: what the audit hook of
//! [`SessionFairing::on_event`](crate::SessionFairing::on_event) is told.

use std::sync::Arc;

use crate::users::SessionHandle;

/// A change to a session that the store has accepted, for an audit log. Sessions are named
/// by their [`SessionHandle`], never by their id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A new session was stored.
    Created {
        /// The new session.
        handle: SessionHandle,
    },
    /// A session moved to a new id ([`Session::regenerate`](crate::Session::regenerate)).
    Regenerated {
        /// The session under its new id.
        handle: SessionHandle,
        /// The handle it had before.
        previous: SessionHandle,
    },
    /// A session was bound to a user ([`Session::bind_user`](crate::Session::bind_user)).
    Bound {
        /// The user.
        user: String,
        /// The session.
        handle: SessionHandle,
    },
    /// A session was ended by its own request ([`Session::destroy`](crate::Session::destroy)).
    Destroyed {
        /// The session that ended.
        handle: SessionHandle,
    },
    /// Sessions of a user were ended from elsewhere: by a revocation, or by
    /// `session_max_per_user` at a login.
    Revoked {
        /// The user whose sessions ended.
        user: String,
        /// How many live sessions ended.
        count: usize,
    },
}

/// The hook events go to.
pub(crate) type Hook = Arc<dyn Fn(&SessionEvent) + Send + Sync>;
