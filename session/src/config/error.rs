//! [`Error`]: why the `session_*` keys stop a launch.

use std::fmt;

use super::keys::KNOWN_KEYS;

/// A `session_*` key is unknown or has a value that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `session_*` key that no version of this crate reads, probably a typo.
    #[error("unknown configuration key `{key}`{}", Suggestion(*.suggestion))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The closest known key, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A key has a value of the wrong type or outside its accepted values.
    #[error("invalid session configuration: {0}")]
    Extract(Box<rocket::figment::Error>),
    /// A key's value is well-formed but cannot work, alone or with another key.
    #[error("invalid value for `{key}`: {message}")]
    Invalid {
        /// The key to change.
        key: &'static str,
        /// What is wrong, and what would be accepted.
        message: String,
    },
}

impl Error {
    /// A value figment could not read: for a `session_*` key, an error naming the key with
    /// the reason alone; otherwise figment's own.
    pub(super) fn from_figment(error: rocket::figment::Error) -> Error {
        let key = error.path.last().and_then(|key| KNOWN_KEYS.iter().find(|known| *known == key));
        match key {
            Some(key) => Error::Invalid { key, message: error.kind.to_string() },
            None => Error::Extract(Box::new(error)),
        }
    }
}

struct Suggestion(Option<&'static str>);

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "; did you mean `{key}`?"),
            None => write!(f, "; the session keys are {}", KNOWN_KEYS.join(", ")),
        }
    }
}
