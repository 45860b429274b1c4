//! Session ids: generation from the OS CSPRNG, strict parsing, and the storage key digest.
//!
//! The raw id only ever travels in the cookie. Stores, file names and logs see the
//! [`SessionId::storage_key`], a BLAKE3 digest, so a leaked store dump or log line cannot be
//! replayed as a cookie.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::store::digest::{prefixed_digest_hex, push_prefixed_digest_hex};

/// The smallest accepted id length in bytes of entropy (128 bits).
pub const MIN_ID_BYTES: usize = 16;

/// The largest accepted id length in bytes; it keeps cookies short and parsing bounded.
pub const MAX_ID_BYTES: usize = 128;

/// A session id: random bytes, carried in the cookie as unpadded base64url.
///
/// `Debug` never shows the id, so a `SessionId` can sit inside structs that get logged. Use
/// [`SessionId::expose`] where the raw value is really needed.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId {
    encoded: String,
}

impl SessionId {
    /// Generates a new id of `bytes` bytes of entropy from the operating system's CSPRNG.
    ///
    /// # Panics
    /// When the operating system cannot provide random bytes, as the standard library's
    /// `HashMap` does: no id can be made safely without them.
    pub fn generate(bytes: usize) -> Self {
        let mut raw = vec![0u8; bytes];
        getrandom::fill(&mut raw).expect("the operating system's random number generator failed");
        SessionId { encoded: URL_SAFE_NO_PAD.encode(&raw) }
    }

    /// Parses an id as a client sent it, accepting only the exact shape [`generate`] produces
    /// for `bytes` bytes: the exact length, the base64url alphabet, canonical trailing bits.
    ///
    /// Anything else is `None`, so malformed input never reaches a store.
    ///
    /// [`generate`]: SessionId::generate
    pub fn parse(value: &str, bytes: usize) -> Option<Self> {
        is_canonical(value, bytes).then(|| SessionId { encoded: value.to_owned() })
    }

    /// The id as it appears in the cookie. Treat it as a secret: never log it.
    pub fn expose(&self) -> &str {
        &self.encoded
    }

    /// The key a store files this session under: `prefix` followed by the hex BLAKE3 digest
    /// of the id. The raw id cannot be recovered from it.
    pub fn storage_key(&self, prefix: &str) -> String {
        prefixed_digest_hex(prefix, &self.encoded)
    }
}

/// Whether `value` is exactly what [`SessionId::generate`] makes for `bytes` bytes. Checked
/// without decoding: this runs on every request that carries a cookie. The alphabet check
/// folds over every character instead of stopping at the first bad one: a valid id, the
/// common case, is read whole anyway, and the loop without a branch a character costs
/// about a third less.
fn is_canonical(value: &str, bytes: usize) -> bool {
    value.len() == encoded_len(bytes)
        && value.bytes().fold(true, |valid, byte| valid & is_base64url(byte))
        && value.bytes().last().is_some_and(|last| unused_bits_are_zero(last, bytes))
}

/// An id with its storage key, computed once per request and carried along, so that no
/// step of a request digests the same id again. Both sit in one allocation, the key then
/// the id: a request that reads its session allocates once for them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyedId {
    text: Box<str>,
    key_len: usize,
}

impl KeyedId {
    pub(crate) fn new(id: SessionId, prefix: &str) -> KeyedId {
        KeyedId::of(id.expose(), prefix)
    }

    /// The id a cookie value carries, with its key, if the value has the exact shape of an
    /// id of `bytes` bytes (see [`SessionId::parse`]).
    pub(crate) fn parse(value: &str, bytes: usize, prefix: &str) -> Option<KeyedId> {
        is_canonical(value, bytes).then(|| KeyedId::of(value, prefix))
    }

    fn of(id: &str, prefix: &str) -> KeyedId {
        let mut text = String::with_capacity(prefix.len() + 64 + id.len());
        push_prefixed_digest_hex(&mut text, prefix, id);
        let key_len = text.len();
        text.push_str(id);
        KeyedId { text: text.into_boxed_str(), key_len }
    }

    /// The key the store files the session under: the prefix, then the id's digest.
    pub(crate) fn key(&self) -> &str {
        &self.text[..self.key_len]
    }

    /// The id, as the cookie carries it.
    pub(crate) fn id(&self) -> SessionId {
        SessionId { encoded: self.text[self.key_len..].to_owned() }
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// Like [`SessionId`]'s, never shows the id; the key is a digest, safe to show.
impl fmt::Debug for KeyedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedId").field("key", &self.key()).finish_non_exhaustive()
    }
}

/// The length of the unpadded base64 text for `bytes` bytes.
pub(crate) const fn encoded_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

fn is_base64url(byte: u8) -> bool {
    BASE64URL[usize::from(byte)]
}

/// Which bytes belong to the base64url alphabet: one load a character, where the ranges'
/// comparisons took several on every request.
const BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        byte += 1;
    }
    table
};

/// Whether the bits the last character of `bytes` bytes' encoding carries beyond the data are
/// zero, as an encoder writes them: otherwise several spellings would name one id.
fn unused_bits_are_zero(last: u8, bytes: usize) -> bool {
    let unused = encoded_len(bytes) * 6 - bytes * 8;
    let value = match last {
        b'A'..=b'Z' => last - b'A',
        b'a'..=b'z' => last - b'a' + 26,
        b'0'..=b'9' => last - b'0' + 52,
        b'-' => 62,
        _ => 63,
    };
    value.trailing_zeros() as usize >= unused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_cookie_length_for_their_entropy() {
        assert_eq!(SessionId::generate(32).expose().len(), 43);
        assert_eq!(SessionId::generate(16).expose().len(), 22);
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = SessionId::generate(32);
        assert_eq!(SessionId::parse(id.expose(), 32), Some(id));
    }

    #[test]
    fn two_generated_ids_differ() {
        assert_ne!(SessionId::generate(32), SessionId::generate(32));
    }

    #[test]
    fn parse_rejects_wrong_length_alphabet_and_padding() {
        let id = SessionId::generate(32);
        let good = id.expose();
        for bad in [
            "",
            &good[1..],
            &format!("{good}A"),
            &format!("{}=", &good[1..]),
            &format!("{}+", &good[1..]),
            &format!("{}/", &good[1..]),
            &format!("{}é", &good[2..]),
            &format!("{}\0", &good[1..]),
            "../../../../../../../../../../../../etc/passwd",
        ] {
            assert_eq!(SessionId::parse(bad, 32), None, "accepted {bad:?}");
        }
    }

    #[test]
    fn parse_rejects_non_canonical_trailing_bits() {
        // 32 bytes encode to 43 chars whose last char carries 2 unused bits; set them.
        let canonical = URL_SAFE_NO_PAD.encode([0u8; 32]);
        let mut forged = canonical[..42].to_owned();
        forged.push('B');
        assert!(SessionId::parse(&canonical, 32).is_some());
        assert_eq!(SessionId::parse(&forged, 32), None);
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn parse_accepts_exactly_what_decodes_to_the_configured_length(
            (bytes, text) in proptest::prop_oneof![
                "[A-Za-z0-9_-]{43}".prop_map(|text| (32, text)),
                "[A-Za-z0-9_-]{22}".prop_map(|text| (16, text)),
            ]
        ) {
            let decodes = URL_SAFE_NO_PAD.decode(&text).is_ok_and(|raw| raw.len() == bytes);
            proptest::prop_assert_eq!(SessionId::parse(&text, bytes).is_some(), decodes);
        }
    }

    #[test]
    fn parse_rejects_an_id_of_another_configured_length() {
        let id = SessionId::generate(16);
        assert_eq!(SessionId::parse(id.expose(), 32), None);
    }

    #[test]
    fn storage_key_is_prefixed_hex_digest_without_the_id() {
        let id = SessionId::generate(32);
        let key = id.storage_key("session:");
        assert_eq!(key.len(), "session:".len() + 64);
        assert!(key.starts_with("session:"));
        assert!(key["session:".len()..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!key.contains(id.expose()));
        assert_eq!(key, id.storage_key("session:"));
    }

    #[test]
    fn a_keyed_id_holds_the_id_and_its_storage_key() {
        let id = SessionId::generate(32);
        let keyed = KeyedId::new(id.clone(), "session:");
        assert_eq!(keyed.key(), id.storage_key("session:"));
        assert_eq!(keyed.id(), id);
    }

    #[test]
    fn a_keyed_id_parses_only_what_an_id_parses() {
        let id = SessionId::generate(32);
        let keyed = KeyedId::parse(id.expose(), 32, "s:").unwrap();
        assert_eq!(keyed, KeyedId::new(id.clone(), "s:"));
        assert_eq!(KeyedId::parse(&id.expose()[1..], 32, "s:"), None);
        assert_eq!(KeyedId::parse(id.expose(), 16, "s:"), None);
    }

    #[test]
    fn a_keyed_ids_debug_output_shows_the_key_and_not_the_id() {
        let id = SessionId::generate(32);
        let shown = format!("{:?}", KeyedId::new(id.clone(), "session:"));
        assert!(!shown.contains(id.expose()), "{shown}");
        assert!(shown.contains(&id.storage_key("session:")), "{shown}");
    }

    #[test]
    fn debug_output_redacts_the_id() {
        let id = SessionId::generate(32);
        assert!(!format!("{id:?}").contains(id.expose()));
        // Still names the type, so a logged struct shows where an id sat.
        assert_eq!(format!("{id:?}"), "SessionId(<redacted>)");
    }
}
