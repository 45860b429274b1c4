//! The record keys the library keeps for itself. Each starts with `__`, which no namespace
//! may (the derive refuses it), so no user field can collide with one.

/// The creation time (Unix seconds), for the absolute timeout and the device list.
pub(crate) const CREATED: &str = "__created";

/// A permanence chosen with `set_permanent`, overriding `session_permanent`.
pub(crate) const PERMANENT: &str = "__permanent";

/// The user the session is bound to with `bind_user`.
pub(crate) const USER: &str = "__user";

/// The `User-Agent` at login, for the device list.
pub(crate) const AGENT: &str = "__agent";

/// The client's address at login, with `session_track_ip`.
pub(crate) const ADDRESS: &str = "__address";

/// The label the app gave the session with `set_label`.
pub(crate) const LABEL: &str = "__label";
