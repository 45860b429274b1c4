//! Signed ids (`session_use_signer`): the cookie carries the id and an HMAC-SHA256 of it, so a
//! forged or tampered cookie is refused without a store call.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer};
use sha2::Sha256;

use crate::id::{encoded_len, SessionId};

/// Separates this use of the secret from any other (Rocket's private cookies use it too).
const CONTEXT: &[u8] = b"rocket_typed_session/session-id-signature/v1";
/// The length of a signature in the cookie: 32 bytes of HMAC, unpadded base64url.
const SIGNATURE_LEN: usize = 43;
/// The fewest bytes a secret key may have (256 bits).
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// A secret key, from base64 or hex text; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Reads base64 (standard alphabet) or hex text of at least 32 bytes.
    pub fn parse(text: &str) -> Option<Secret> {
        let text = text.trim();
        let bytes = decode_hex(text).or_else(|| STANDARD.decode(text).ok())?;
        Secret::from_bytes(bytes)
    }

    /// A secret from raw bytes: at least 32, not all zero (Rocket's placeholder for "unset").
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Option<Secret> {
        (bytes.len() >= MIN_SECRET_BYTES && bytes.iter().any(|b| *b != 0)).then_some(Secret(bytes))
    }

    /// A random secret, for development when none is configured.
    pub(crate) fn random() -> Secret {
        let mut bytes = vec![0u8; MIN_SECRET_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        Secret(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Secret::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected at least {MIN_SECRET_BYTES} bytes as base64 or hex, e.g. from `openssl rand -base64 32`"
            ))
        })
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// Signs ids with the current key and verifies them with it or any fallback key.
pub(crate) struct Signer {
    /// Per-purpose keys derived from the configured secrets; the first signs.
    keys: Vec<[u8; 32]>,
}

impl Signer {
    pub(crate) fn new(current: &Secret, fallbacks: &[Secret]) -> Signer {
        let keys = std::iter::once(current).chain(fallbacks).map(derive).collect();
        Signer { keys }
    }

    /// The cookie value for `id`: the id, a dot, its signature.
    pub(crate) fn sign(&self, id: &SessionId) -> String {
        let tag = mac(&self.keys[0], id.expose()).finalize().into_bytes();
        format!("{}.{}", id.expose(), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The id in a signed cookie value, if the signature verifies under any key (compared in
    /// constant time), and whether that was a fallback key; `None` for anything else.
    pub(crate) fn verify(&self, value: &str, id_bytes: usize) -> Option<(SessionId, bool)> {
        if value.len() != encoded_len(id_bytes) + 1 + SIGNATURE_LEN {
            return None;
        }
        let (id, signature) = value.split_once('.')?;
        let id = SessionId::parse(id, id_bytes)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let signer = self
            .keys
            .iter()
            .position(|key| mac(key, id.expose()).verify_slice(&signature).is_ok())?;
        Some((id, signer > 0))
    }
}

fn derive(secret: &Secret) -> [u8; 32] {
    let mut derivation =
        Hmac::<Sha256>::new_from_slice(&secret.0).expect("HMAC takes any key length");
    derivation.update(CONTEXT);
    derivation.finalize().into_bytes().into()
}

fn mac(key: &[u8; 32], id: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> Secret {
        Secret(vec![byte; 32])
    }

    #[test]
    fn a_signed_id_verifies() {
        let signer = Signer::new(&secret(1), &[]);
        let id = SessionId::generate(32);
        assert_eq!(signer.verify(&signer.sign(&id), 32), Some((id, false)));
    }

    #[test]
    fn an_unsigned_id_is_refused() {
        let signer = Signer::new(&secret(1), &[]);
        let id = SessionId::generate(32);
        assert_eq!(signer.verify(id.expose(), 32), None);
    }

    #[test]
    fn a_tampered_id_or_signature_is_refused() {
        let signer = Signer::new(&secret(1), &[]);
        let signed = signer.sign(&SessionId::generate(32));
        for position in [0, 20, 44, signed.len() - 2] {
            let mut bytes = signed.clone().into_bytes();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(signer.verify(&tampered, 32), None, "accepted a change at {position}");
        }
    }

    #[test]
    fn a_signature_under_another_key_is_refused() {
        let id = SessionId::generate(32);
        let forged = Signer::new(&secret(2), &[]).sign(&id);
        assert_eq!(Signer::new(&secret(1), &[]).verify(&forged, 32), None);
    }

    #[test]
    fn fallback_keys_verify_during_a_rotation_and_the_new_key_signs() {
        let id = SessionId::generate(32);
        let old = Signer::new(&secret(1), &[]).sign(&id);
        let rotated = Signer::new(&secret(2), &[secret(1)]);
        assert_eq!(rotated.verify(&old, 32), Some((id.clone(), true)));
        assert_eq!(Signer::new(&secret(2), &[]).verify(&rotated.sign(&id), 32), Some((id, false)));
    }

    #[test]
    fn secrets_parse_from_base64_or_hex_of_at_least_32_bytes() {
        assert!(Secret::parse(&STANDARD.encode([7u8; 32])).is_some());
        assert!(Secret::parse(&"ab".repeat(32)).is_some());
        assert!(Secret::parse(&STANDARD.encode([7u8; 16])).is_none());
        assert!(Secret::parse("not a key").is_none());
    }

    #[test]
    fn hex_of_an_odd_length_is_refused_without_a_panic() {
        // 65 hex digits: not hex of whole bytes, and no base64 either.
        assert!(Secret::parse(&format!("{}a", "ab".repeat(32))).is_none());
    }

    proptest::proptest! {
        #[test]
        fn verifying_arbitrary_text_never_panics_nor_accepts(text in ".{0,200}") {
            let signer = Signer::new(&secret(1), &[secret(2)]);
            proptest::prop_assert!(signer.verify(&text, 32).is_none());
        }

        #[test]
        fn a_signed_id_with_any_one_byte_changed_is_refused(position in 0usize..87, byte in 0u8..128) {
            let signer = Signer::new(&secret(1), &[]);
            let signed = signer.sign(&SessionId::generate(32));
            let mut bytes = signed.clone().into_bytes();
            proptest::prop_assume!(bytes[position] != byte);
            bytes[position] = byte;
            if let Ok(changed) = String::from_utf8(bytes) {
                proptest::prop_assert!(signer.verify(&changed, 32).is_none());
            }
        }
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        assert_eq!(format!("{:?}", secret(1)), "Secret(<redacted>)");
    }
}
