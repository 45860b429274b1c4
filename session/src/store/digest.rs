//! The digest that turns secrets (ids, user names) and keys into names.

/// `prefix` followed by the BLAKE3 digest of `text` in lowercase hex (64 characters): how ids,
/// users and store keys become names that reveal nothing and that no input can shape.
///
/// BLAKE3 rather than SHA-256: the id's digest is computed on every request that carries a
/// session cookie, and BLAKE3 hashes an id in a fraction of SHA-256's instructions, with the
/// same preimage resistance (256-bit output).
pub(crate) fn prefixed_digest_hex(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 64);
    out.push_str(prefix);
    out.push_str(&blake3::hash(text.as_bytes()).to_hex());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_prefix_and_the_hex_blake3_digest() {
        let expected = blake3::hash(b"abc").to_hex();
        assert_eq!(prefixed_digest_hex("session:", "abc"), format!("session:{expected}"));
    }
}
