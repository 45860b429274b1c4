//! [`SessionHandle`]: a name for one session that is safe to put in a page.

use std::fmt;

/// Hex characters in a handle: 128 bits of the digest.
const HANDLE_LEN: usize = 32;

/// The BLAKE3 key-derivation context handles are made in, so that a handle can never equal
/// another digest the crate makes of the same key.
const CONTEXT: &str = "rocket_typed_session 2026-12 session handle";

/// Names one of a user's sessions in a device list, for a page to show and send back
/// (`<button name="handle" value="…">`) to end that session with
/// [`Sessions::revoke_session`](crate::Sessions::revoke_session).
///
/// A handle is a digest of the session's storage key, itself a digest of the id: neither the
/// id nor the storage key can be derived from it, so a leaked page or log line opens no
/// session. It only ends a session through the API, and only for a caller that names the user
/// the session is bound to. It is the same on every app instance and for the session's whole
/// life under one id; a regenerated session gets a new handle.
///
/// ```
/// use rocket_typed_session::SessionHandle;
///
/// assert!(SessionHandle::parse("not a handle").is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionHandle(String);

impl SessionHandle {
    /// The handle of the session stored under `key`.
    pub(crate) fn of(key: &str) -> SessionHandle {
        let digest = blake3::Hasher::new_derive_key(CONTEXT).update(key.as_bytes()).finalize();
        SessionHandle(digest.to_hex()[..HANDLE_LEN].to_owned())
    }

    /// Reads a handle as a page sent it back: exactly 32 lowercase hex characters, anything
    /// else is `None`.
    pub fn parse(text: &str) -> Option<SessionHandle> {
        let valid = text.len() == HANDLE_LEN
            && text.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        valid.then(|| SessionHandle(text.to_owned()))
    }

    /// The handle as text, for a page or a log line.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHandle({})", self.0)
    }
}

impl serde::Serialize for SessionHandle {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_32_hex_characters_that_parse_back() {
        let handle = SessionHandle::of("session:abc");
        assert_eq!(handle.as_str().len(), 32);
        assert_eq!(SessionHandle::parse(handle.as_str()), Some(handle));
    }

    #[test]
    fn a_handle_contains_neither_the_key_nor_its_digest() {
        let key = "session:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let handle = SessionHandle::of(key);
        assert!(!key.contains(handle.as_str()));
        assert_ne!(SessionHandle::of(key), SessionHandle::of(&key.replace('0', "1")));
    }

    #[test]
    fn a_handle_prints_as_the_text_a_page_sends_back() {
        let handle = SessionHandle::of("session:abc");
        assert_eq!(SessionHandle::parse(&handle.to_string()), Some(handle.clone()));
        assert_eq!(format!("{handle:?}"), format!("SessionHandle({})", handle.as_str()));
    }

    #[test]
    fn malformed_handles_do_not_parse() {
        for text in ["", "0123", &"A".repeat(32), &"g".repeat(32), &"0".repeat(33), "0\n"] {
            assert_eq!(SessionHandle::parse(text), None, "{text:?}");
        }
    }
}
