//! [`SessionMap`]: a dynamic, Flask-style key → value session namespace.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{self, Format};
use crate::data::{decode_logged, FieldSink, Fields, SessionData};

/// A session namespace of arbitrary keys, each its own stored value: the direct equivalent of
/// Flask's `session['key'] = 'value'`. Stored under the namespace `map`.
///
/// Values are encoded when inserted and decoded when read, so `get` can ask for any type.
///
/// ```
/// use rocket::get;
/// use rocket_typed_session::{Session, SessionMap};
///
/// #[get("/set")]
/// fn set(mut session: Session<SessionMap>) -> &'static str {
///     session.insert("key", "value").expect("a string always encodes");
///     "ok"
/// }
///
/// #[get("/get")]
/// fn get(session: Session<SessionMap>) -> String {
///     session.get::<String>("key").unwrap_or_else(|| "not set".into())
/// }
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SessionMap {
    values: BTreeMap<String, Vec<u8>>,
    format: Format,
}

impl SessionMap {
    /// The value under `key` as a `T`; `None` when absent or when the stored value is not a
    /// `T` (logged once per key).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        decode_logged(&format!("{}.{key}", Self::NAMESPACE), self.values.get(key)?)
    }

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// # Errors
    /// When `value` cannot be encoded in the configured format (for example a map with
    /// non-string keys in json); the map is then left unchanged.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), codec::Error> {
        let bytes = codec::encode(self.format, value)?;
        self.values.insert(key.into(), bytes);
        Ok(())
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        self.values.remove(key).is_some()
    }

    /// Removes `key` and returns its value as a `T`: a one-time ("flash") message.
    pub fn take<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.get(key);
        self.values.remove(key);
        value
    }

    /// Whether a value is stored under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl SessionData for SessionMap {
    const NAMESPACE: &'static str = "map";

    fn decode(fields: &Fields<'_>) -> Self {
        let values = fields
            .namespace(Self::NAMESPACE)
            .map(|(key, bytes)| (key.to_owned(), bytes.to_vec()))
            .collect();
        SessionMap { values, format: fields.format() }
    }

    fn encode(&self, sink: &mut FieldSink<'_>) -> Result<(), codec::Error> {
        for (key, bytes) in &self.values {
            sink.raw(format!("{}.{key}", Self::NAMESPACE), bytes.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Record;

    fn round_trip(map: &SessionMap, format: Format) -> SessionMap {
        let mut record = Record::new();
        map.encode(&mut FieldSink::new(&mut record, format)).unwrap();
        SessionMap::decode(&Fields::new(&record, format))
    }

    #[test]
    fn inserted_values_read_back_as_their_type() {
        let mut map = SessionMap::default();
        map.insert("name", "ada").unwrap();
        map.insert("visits", &3u32).unwrap();
        assert_eq!(map.get::<String>("name").as_deref(), Some("ada"));
        assert_eq!(map.get::<u32>("visits"), Some(3));
        assert_eq!(map.get::<u32>("name"), None);
    }

    #[test]
    fn each_key_is_its_own_stored_value() {
        let mut map = SessionMap::default();
        map.insert("a", &1).unwrap();
        map.insert("b", &2).unwrap();
        let mut record = Record::new();
        map.encode(&mut FieldSink::new(&mut record, Format::Msgpack)).unwrap();
        assert_eq!(record.keys().collect::<Vec<_>>(), ["map.a", "map.b"]);
    }

    #[test]
    fn survives_a_round_trip_through_a_record() {
        let mut map = SessionMap::default();
        map.insert("k", &vec![1, 2, 3]).unwrap();
        let back = round_trip(&map, Format::Json);
        assert_eq!(back.get::<Vec<i32>>("k"), Some(vec![1, 2, 3]));
    }

    #[test]
    fn take_returns_the_value_once() {
        let mut map = SessionMap::default();
        map.insert("flash", "saved").unwrap();
        assert_eq!(map.take::<String>("flash").as_deref(), Some("saved"));
        assert_eq!(map.take::<String>("flash"), None);
        assert!(map.is_empty());
    }

    #[test]
    fn remove_reports_presence() {
        let mut map = SessionMap::default();
        map.insert("k", &1).unwrap();
        assert!(map.remove("k"));
        assert!(!map.remove("k"));
    }
}
