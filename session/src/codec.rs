//! How one stored value is turned into bytes and back.
//!
//! Every value starts with one tag byte naming its format, so a store can hold values written
//! in msgpack and in json side by side: switching `session_serialization_format` changes how
//! new values are written and never breaks the ones already stored.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const TAG_MSGPACK: u8 = 0x01;
const TAG_JSON: u8 = 0x02;

/// The format new values are written in (`session_serialization_format`). Both are always
/// readable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
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
    let encode_error = |message: String| Error::Encode { format, message };
    match format {
        Format::Msgpack => {
            let mut out = vec![TAG_MSGPACK];
            rmp_serde::encode::write_named(&mut out, value)
                .map_err(|e| encode_error(e.to_string()))?;
            Ok(out)
        }
        Format::Json => {
            let mut out = vec![TAG_JSON];
            serde_json::to_writer(&mut out, value).map_err(|e| encode_error(e.to_string()))?;
            Ok(out)
        }
    }
}

/// Decodes bytes written by [`encode`] in either format.
///
/// # Errors
/// [`Error::UnknownTag`] for bytes with no known tag, [`Error::Decode`] when the payload is
/// not a `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&TAG_MSGPACK, payload)) => {
            rmp_serde::from_slice(payload).map_err(|e| Error::Decode(e.to_string()))
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

    #[test]
    fn json_refuses_maps_with_non_string_keys() {
        let map = BTreeMap::from([((1, 2), 3)]);
        assert!(matches!(encode(Format::Json, &map), Err(Error::Encode { .. })));
    }
}
