//! The record keys the library keeps for itself. Each starts with `__`, which no namespace
//! may (the derive refuses it), so no user field can collide with one.

/// The creation time (Unix seconds), for the absolute timeout.
pub(crate) const CREATED: &str = "__created";

/// A permanence chosen with `set_permanent`, overriding `session_permanent`.
pub(crate) const PERMANENT: &str = "__permanent";

/// The user the session is bound to with `bind_user`.
pub(crate) const USER: &str = "__user";
