//! How one stored value is turned into bytes and back.
//!
//! Every value starts with one tag byte naming its format, so a store can hold values written
//! in msgpack and in json side by side: switching `session_serialization_format` changes how
//! new values are written and never breaks the ones already stored.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const TAG_MSGPACK: u8 = 0x01;
const TAG_JSON: u8 = 0x02;

/// The deepest nesting a stored value may have: deeper input is refused before it can
/// exhaust the stack. serde_json's own limit is the same.
pub const MAX_DEPTH: usize = 128;

/// The format new values are written in (`session_serialization_format`). Both are always
/// readable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// MessagePack with named struct fields: compact, the default.
    #[default]
    Msgpack,
    /// JSON: larger, but readable in a store's own tools.
    Json,
}

/// A value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The value's `Serialize` implementation failed in this format (for example a map with
    /// non-string keys in json).
    #[error("cannot encode the value as {format:?}: {message}")]
    Encode {
        /// The format that was asked for.
        format: Format,
        /// What the serializer said.
        message: String,
    },
    /// The stored bytes do not hold a value of the requested type.
    #[error("cannot decode the stored value: {0}")]
    Decode(String),
    /// The stored bytes start with no known format tag.
    #[error("the stored value has no known format tag")]
    UnknownTag,
}

/// Encodes `value` in `format`, prefixed with the format's tag byte.
///
/// # Errors
/// [`Error::Encode`] when the value's `Serialize` implementation fails in that format.
pub fn encode<T: Serialize + ?Sized>(format: Format, value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_into(format, value, &mut out)?;
    Ok(out)
}

/// Encodes `value` as [`encode`] does, into `out`, replacing what it held and reusing its
/// buffer. On error `out` holds no valid value.
///
/// # Errors
/// [`Error::Encode`] when the value's `Serialize` implementation fails in that format.
pub fn encode_into<T: Serialize + ?Sized>(
    format: Format,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let encode_error = |message: String| Error::Encode { format, message };
    out.clear();
    match format {
        Format::Msgpack => {
            out.push(TAG_MSGPACK);
            rmp_serde::encode::write_named(out, value).map_err(|e| encode_error(e.to_string()))
        }
        Format::Json => {
            out.push(TAG_JSON);
            serde_json::to_writer(out, value).map_err(|e| encode_error(e.to_string()))
        }
    }
}

/// Decodes bytes written by [`encode`] in either format.
///
/// Bounded whatever the bytes: nesting past [`MAX_DEPTH`] is refused, and a length that
/// claims more bytes than are present fails before anything that size is allocated.
///
/// # Errors
/// [`Error::UnknownTag`] for bytes with no known tag, [`Error::Decode`] when the payload is
/// not a `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&TAG_MSGPACK, payload)) => {
            let mut deserializer = rmp_serde::Deserializer::from_read_ref(payload);
            deserializer.set_max_depth(MAX_DEPTH);
            T::deserialize(&mut deserializer).map_err(|e| Error::Decode(e.to_string()))
        }
        Some((&TAG_JSON, payload)) => {
            serde_json::from_slice(payload).map_err(|e| Error::Decode(e.to_string()))
        }
        _ => Err(Error::UnknownTag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Item {
        id: u32,
        name: String,
        tags: Vec<String>,
    }

    fn item() -> Item {
        Item { id: 7, name: "seven".into(), tags: vec!["a".into(), "b".into()] }
    }

    #[test]
    fn msgpack_round_trips_a_struct() {
        let bytes = encode(Format::Msgpack, &item()).unwrap();
        assert_eq!(bytes[0], TAG_MSGPACK);
        assert_eq!(decode::<Item>(&bytes).unwrap(), item());
    }

    #[test]
    fn json_round_trips_a_struct() {
        let bytes = encode(Format::Json, &item()).unwrap();
        assert_eq!(bytes[0], TAG_JSON);
        assert_eq!(&bytes[1..], br#"{"id":7,"name":"seven","tags":["a","b"]}"#);
        assert_eq!(decode::<Item>(&bytes).unwrap(), item());
    }

    #[test]
    fn encoding_into_a_used_buffer_replaces_what_it_held() {
        let mut out = encode(Format::Json, &"a much longer value than the next").unwrap();
        encode_into(Format::Msgpack, &item(), &mut out).unwrap();
        assert_eq!(out, encode(Format::Msgpack, &item()).unwrap());
    }

    #[test]
    fn a_value_of_another_type_is_a_decode_error() {
        let bytes = encode(Format::Msgpack, &"text").unwrap();
        assert!(matches!(decode::<u64>(&bytes), Err(Error::Decode(_))));
    }

    #[test]
    fn untagged_or_empty_bytes_are_rejected() {
        assert!(matches!(decode::<u64>(b""), Err(Error::UnknownTag)));
        assert!(matches!(decode::<u64>(b"{}"), Err(Error::UnknownTag)));
    }

    #[test]
    fn truncated_payloads_are_decode_errors() {
        for format in [Format::Msgpack, Format::Json] {
            let bytes = encode(format, &item()).unwrap();
            assert!(decode::<Item>(&bytes[..bytes.len() / 2]).is_err());
        }
    }

    /// `depth` arrays, each holding the next, around a null; built as bytes, since a value
    /// that deep could not even be dropped without overflowing the stack.
    fn nested(depth: usize, format: Format) -> Vec<u8> {
        match format {
            Format::Msgpack => {
                let mut bytes = vec![TAG_MSGPACK];
                bytes.extend(std::iter::repeat_n(0x91, depth));
                bytes.push(0xc0);
                bytes
            }
            Format::Json => {
                let mut bytes = vec![TAG_JSON];
                bytes.extend(std::iter::repeat_n(b'[', depth));
                bytes.extend_from_slice(b"null");
                bytes.extend(std::iter::repeat_n(b']', depth));
                bytes
            }
        }
    }

    #[test]
    fn values_nested_past_the_limit_are_refused_in_both_formats() {
        for format in [Format::Msgpack, Format::Json] {
            assert!(decode::<serde_json::Value>(&nested(MAX_DEPTH - 2, format)).is_ok());
            let deep = nested(100_000, format);
            assert!(matches!(decode::<serde_json::Value>(&deep), Err(Error::Decode(_))));
        }
    }

    #[test]
    fn huge_claimed_lengths_are_refused() {
        // msgpack: a str32, an array32 and a bin32 each claiming 4 GiB, with no bytes behind.
        // tests/allocations watches the same decodes allocate nothing of that size.
        for claim in [
            [0xdb, 0xff, 0xff, 0xff, 0xff],
            [0xdd, 0xff, 0xff, 0xff, 0xff],
            [0xc6, 0xff, 0xff, 0xff, 0xff],
        ] {
            let mut bytes = vec![TAG_MSGPACK];
            bytes.extend_from_slice(&claim);
            assert!(decode::<serde_json::Value>(&bytes).is_err());
            assert!(decode::<Vec<u8>>(&bytes).is_err());
            assert!(decode::<String>(&bytes).is_err());
        }
    }

    #[test]
    fn json_refuses_maps_with_non_string_keys() {
        let map = BTreeMap::from([((1, 2), 3)]);
        assert!(matches!(encode(Format::Json, &map), Err(Error::Encode { .. })));
    }
}
