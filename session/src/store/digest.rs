//! The digest that turns secrets (ids, user names) and keys into names.

use sha2::{Digest, Sha256};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `prefix` followed by the SHA-256 of `text` in lowercase hex (64 characters): how ids,
/// users and store keys become names that reveal nothing and that no input can shape.
pub(crate) fn prefixed_sha256_hex(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 64);
    out.push_str(prefix);
    for byte in Sha256::digest(text.as_bytes()) {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    out
}
