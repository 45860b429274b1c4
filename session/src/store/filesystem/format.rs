//! The session file: what a file holds and how it is checked when read back.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::store::{record_size, Record};

const MAGIC: &[u8; 5] = b"RTSF1";
const CHECKSUM_LEN: usize = 32;

/// A parsed session file.
pub(super) struct Stored {
    pub(super) ttl: Duration,
    pub(super) record: Record,
}

/// `MAGIC`, ttl in ms (u64), field count (u32), then per field its key and value, each
/// prefixed with a u32 length; then the SHA-256 of all of it. All integers little-endian.
pub(super) fn encode(stored: &Stored) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + record_size(&stored.record));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&u64::try_from(stored.ttl.as_millis()).unwrap_or(u64::MAX).to_le_bytes());
    out.extend_from_slice(&len32(stored.record.len()).to_le_bytes());
    for (key, value) in &stored.record {
        for part in [key.as_bytes(), value.as_slice()] {
            out.extend_from_slice(&len32(part.len()).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    let checksum = Sha256::digest(&out);
    out.extend_from_slice(&checksum);
    out
}

fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Parses what [`encode`] wrote; `None` for anything else, whatever the bytes.
pub(super) fn decode(bytes: &[u8]) -> Option<Stored> {
    let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, checksum) = bytes.split_at(body_len);
    if Sha256::digest(body).as_slice() != checksum {
        return None;
    }
    let mut reader = Reader(body.strip_prefix(MAGIC.as_slice())?);
    let ttl = Duration::from_millis(u64::from_le_bytes(reader.take(8)?.try_into().ok()?));
    let count = u32::from_le_bytes(reader.take(4)?.try_into().ok()?);
    let mut record = Record::new();
    for _ in 0..count {
        let key = String::from_utf8(reader.part()?.to_vec()).ok()?;
        record.insert(key, reader.part()?.to_vec());
    }
    reader.0.is_empty().then_some(Stored { ttl, record })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn part(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        self.take(usize::try_from(len).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Stored {
        let record = [("a.x".to_owned(), vec![1, 2, 3]), ("b.y".to_owned(), vec![])].into();
        Stored { ttl: Duration::from_secs(60), record }
    }

    #[test]
    fn files_round_trip() {
        let back = decode(&encode(&stored())).unwrap();
        assert_eq!((back.ttl, back.record), (stored().ttl, stored().record));
    }

    #[test]
    fn every_truncation_is_rejected() {
        let bytes = encode(&stored());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_none(), "accepted {len} bytes");
        }
    }

    #[test]
    fn a_flipped_byte_is_rejected() {
        let mut bytes = encode(&stored());
        bytes[10] ^= 0x40;
        assert!(decode(&bytes).is_none());
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(decode(b"").is_none());
        assert!(decode(&[0xff; 100]).is_none());
    }
}
