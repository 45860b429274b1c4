//! A user's sessions: the index of the sessions bound to each user (`index.rs`), the handle
//! that names one of them on a page (`handle.rs`), and what a listing shows of each
//! (`info.rs`).

mod handle;
mod index;
mod info;

pub use handle::SessionHandle;
pub(crate) use index::{Listed, UserIndex};
pub use info::SessionInfo;
pub(crate) use info::{login_fields, truncated, Login};
