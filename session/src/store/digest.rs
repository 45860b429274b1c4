//! The digest that turns secrets (ids, user names) and keys into names.

/// `prefix` followed by the BLAKE3 digest of `text` in lowercase hex (64 characters): how ids,
/// users and store keys become names that reveal nothing and that no input can shape.
///
/// BLAKE3 rather than SHA-256: the id's digest is computed on every request that carries a
/// session cookie, and BLAKE3 hashes an id in a fraction of SHA-256's instructions, with the
/// same preimage resistance (256-bit output).
pub(crate) fn prefixed_digest_hex(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 64);
    push_prefixed_digest_hex(&mut out, prefix, text);
    out
}

/// Appends `prefix` and the digest of `text` to `out`, as [`prefixed_digest_hex`] spells them.
pub(crate) fn push_prefixed_digest_hex(out: &mut String, prefix: &str, text: &str) {
    // Two digits a byte, looked up whole: `blake3::Hash::to_hex` builds its string a
    // character at a time at about twice the cost, on every request with a session. One
    // buffer of known size, which `push_hex`'s general loop costs about 80 more than.
    let mut hex = [0; 64];
    write_hex(&mut hex, blake3::hash(text.as_bytes()).as_bytes());
    out.push_str(prefix);
    out.push_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"));
}

/// Appends `bytes` in lowercase hex, as a MySQL hex literal needs them. Two digits a byte,
/// looked up whole, and appended a buffer at a time: through `fmt` a byte at a time, the
/// literals cost the MySQL store more than anything else it did.
#[cfg(feature = "mysql")]
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const CHUNK: usize = 32;
    out.reserve(bytes.len() * 2);
    for chunk in bytes.chunks(CHUNK) {
        let mut digits = [0; 2 * CHUNK];
        write_hex(&mut digits, chunk);
        let digits = &digits[..2 * chunk.len()];
        out.push_str(std::str::from_utf8(digits).expect("hex digits are ASCII"));
    }
}

/// Writes the hex digits of `bytes` at the start of `digits`, two a byte.
fn write_hex(digits: &mut [u8], bytes: &[u8]) {
    for (pair, &byte) in digits.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
}

/// The two lowercase hex digits of every byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_prefix_and_the_hex_blake3_digest() {
        let expected = blake3::hash(b"abc").to_hex();
        assert_eq!(prefixed_digest_hex("session:", "abc"), format!("session:{expected}"));
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn every_byte_is_written_as_its_two_lowercase_hex_digits() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut out = String::from("X'");
        push_hex(&mut out, &bytes);
        let expected: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(out, format!("X'{expected}"));
    }
}
