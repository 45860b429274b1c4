//! What `#[derive(Session)]` implements: [`SessionData`], and the field readers and writers the
//! generated code uses.
//!
//! Each field of a session struct is its own stored value under the key `namespace.field`, so a
//! request rewrites only the fields it changed, and a field that no longer decodes costs only
//! that field.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Mutex, OnceLock, RwLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{self, Format};
use crate::store::lock::{lock, read, write};
use crate::store::{Changes, Record};

/// A typed view of one namespace of a session, taken as [`Session<T>`](struct@crate::Session).
///
/// Implement it with `#[derive(Session)]`; implementing it by hand is possible but rarely
/// needed (see [`SessionMap`](crate::SessionMap) for an example).
///
/// ```
/// use rocket_typed_session::{Session, SessionData};
///
/// #[derive(Session, Default)]
/// #[session(namespace = "cart")]
/// struct Cart {
///     items: Vec<u32>,
///     #[session(rename = "code")]
///     coupon: Option<String>,
///     #[session(skip)]
///     cache: Option<u64>,
/// }
///
/// assert_eq!(<Cart as SessionData>::NAMESPACE, "cart");
/// ```
pub trait SessionData: Default + Send + 'static {
    /// The namespace this type's fields are stored under: keys are `NAMESPACE.field`. It is
    /// never empty, never contains `.` and never starts with `__`.
    const NAMESPACE: &'static str;

    /// Builds the value from a loaded record. A field that is missing or no longer decodes
    /// takes its default; this never fails.
    fn decode(fields: &Fields<'_>) -> Self;

    /// Writes every stored field of the value into `sink`.
    ///
    /// # Errors
    /// When a field cannot be encoded in the configured format.
    fn encode(&self, sink: &mut FieldSink<'_>) -> Result<(), codec::Error>;
}

/// Read access to a loaded session record, handed to [`SessionData::decode`].
pub struct Fields<'a> {
    record: &'a Record,
    format: Format,
}

impl<'a> Fields<'a> {
    /// A reader over `record`; `format` is the one new values will be written in.
    pub fn new(record: &'a Record, format: Format) -> Self {
        Fields { record, format }
    }

    /// Decodes the value stored under `key`. `None` when it is absent or does not decode as a
    /// `T`; the latter is logged once per key, without the session id.
    pub fn value<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        decode_logged(key, self.record.get(key)?)
    }

    /// The raw values of every key under `name`, as `(field, bytes)`.
    pub fn namespace<'n>(
        &self,
        name: &'n str,
    ) -> impl Iterator<Item = (&'a str, &'a [u8])> + use<'a, 'n> {
        namespace(self.record, name).map(move |(key, value)| (&key[name.len() + 1..], &value[..]))
    }

    /// The format new values are written in.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// The fields of namespace `name`, found among the keys that start with `name` (they sit
/// together in the sorted record) without building a key to search for.
pub(crate) fn namespace<'r, 'n>(
    record: &'r Record,
    name: &'n str,
) -> impl Iterator<Item = (&'r String, &'r Vec<u8>)> + use<'r, 'n> {
    record
        .range::<str, _>((Bound::Included(name), Bound::Unbounded))
        .take_while(move |(key, _)| key.starts_with(name))
        .filter(move |(key, _)| in_namespace(key, name))
}

/// Whether `key` is a field of namespace `namespace`.
pub(crate) fn in_namespace(key: &str, namespace: &str) -> bool {
    key.strip_prefix(namespace).is_some_and(|rest| rest.starts_with('.'))
}

/// Write access for [`SessionData::encode`]: collects the values of one namespace.
///
/// A value whose key is already in the record replaces it in place, reusing its buffer: a
/// guard's save rewrites the fields a request loaded without allocating them anew.
///
/// When the library saves a guard, a value equal to the one its field reads as when absent
/// (its default) is removed instead of stored: a missing field already reads as its default,
/// so storing it would only keep a session alive that holds nothing.
pub struct FieldSink<'a> {
    out: Out<'a>,
    format: Format,
    replaced: usize,
    /// The encoded defaults of the namespace being written, when they are left out.
    defaults: Option<&'a Record>,
    /// Where a value for a key not in the record is encoded first, so that a default costs
    /// no allocation.
    scratch: Vec<u8>,
}

/// What a value is first encoded into: most fields take fewer bytes, so one allocation
/// replaces a buffer grown from 8 bytes three or four times.
const SCRATCH_BYTES: usize = 64;

/// Where a sink's values go.
enum Out<'a> {
    /// Into a record, replacing what it held.
    Record(&'a mut Record),
    /// Compared with a loaded record: only what differs from it is kept, as changes.
    Changes { loaded: &'a Record, changes: &'a mut Changes },
}

impl<'a> FieldSink<'a> {
    /// A sink that writes every value into `out`, encoding in `format`.
    pub fn new(out: &'a mut Record, format: Format) -> Self {
        FieldSink::writing_to(Out::Record(out), format, None)
    }

    fn writing_to(out: Out<'a>, format: Format, defaults: Option<&'a Record>) -> Self {
        FieldSink { out, format, replaced: 0, defaults, scratch: Vec::new() }
    }

    /// A sink that leaves out every value equal to its encoding in `defaults`.
    pub(crate) fn without_defaults(
        out: &'a mut Record,
        format: Format,
        defaults: &'a Record,
    ) -> Self {
        FieldSink::writing_to(Out::Record(out), format, Some(defaults))
    }

    /// A sink that compares each value with `loaded` and gathers in `changes` only the ones
    /// that differ: set where the value is new or changed, removed where it went back to its
    /// default. A guard's save of a field or two then copies nothing else.
    pub(crate) fn diffing(
        loaded: &'a Record,
        changes: &'a mut Changes,
        format: Format,
        defaults: &'a Record,
    ) -> Self {
        FieldSink::writing_to(Out::Changes { loaded, changes }, format, Some(defaults))
    }

    /// Encodes `value` in the configured format and stores it under `key`.
    ///
    /// # Errors
    /// When `value` cannot be encoded in the configured format.
    pub fn value<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), codec::Error> {
        let defaults = self.defaults;
        if let Out::Record(out) = &mut self.out {
            if let Some(bytes) = out.get_mut(key) {
                self.replaced += 1;
                codec::encode_into(self.format, value, bytes)?;
                if is_default(defaults, key, bytes) {
                    out.remove(key);
                }
                return Ok(());
            }
        }
        let mut bytes = std::mem::take(&mut self.scratch);
        if bytes.capacity() == 0 {
            bytes.reserve(SCRATCH_BYTES);
        }
        codec::encode_into(self.format, value, &mut bytes)?;
        if let Some(unused) = self.put(key, bytes) {
            self.scratch = unused;
        }
        Ok(())
    }

    /// Stores already encoded bytes under `key`.
    pub fn raw(&mut self, key: String, bytes: Vec<u8>) {
        if let Out::Record(out) = &mut self.out {
            if out.contains_key(&key) {
                self.replaced += 1;
            }
        }
        self.put(&key, bytes);
    }

    /// Puts `bytes` under `key`, or takes the key out if they are its default; hands the
    /// bytes back when they were not kept.
    fn put(&mut self, key: &str, bytes: Vec<u8>) -> Option<Vec<u8>> {
        let default = is_default(self.defaults, key, &bytes);
        match &mut self.out {
            Out::Record(out) if default => {
                out.remove(key);
                Some(bytes)
            }
            Out::Record(out) => {
                out.insert(key.to_owned(), bytes);
                None
            }
            Out::Changes { loaded, changes } => {
                let before = loaded.get(key);
                self.replaced += usize::from(before.is_some());
                match before {
                    Some(old) if !default && *old == bytes => Some(bytes),
                    Some(_) if default => {
                        changes.remove.push(key.to_owned());
                        Some(bytes)
                    }
                    None if default => Some(bytes),
                    _ => {
                        changes.set.insert(key.to_owned(), bytes);
                        None
                    }
                }
            }
        }
    }

    /// How many of the values written replaced one already in the record (or, when diffing,
    /// one the loaded record holds).
    pub(crate) fn replaced(&self) -> usize {
        self.replaced
    }
}

/// Whether `bytes` are the encoding of `key`'s default, when `defaults` are left out.
fn is_default(defaults: Option<&Record>, key: &str, bytes: &[u8]) -> bool {
    defaults.and_then(|defaults| defaults.get(key)).is_some_and(|default| **default == *bytes)
}

/// The encoding, in `format`, of each field of `T` as it reads when absent; computed once per
/// type and format in a process, then shared.
pub(crate) fn defaults_of<T: SessionData>(format: Format) -> &'static Record {
    // Looked up on every save: a fast hash of a type id rather than SipHash.
    type Registry = RwLock<HashMap<(TypeId, Format), &'static Record, foldhash::fast::FixedState>>;
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(Default::default);
    let key = (TypeId::of::<T>(), format);
    if let Some(defaults) = read(registry).get(&key) {
        return defaults;
    }
    let absent = T::decode(&Fields::new(&Record::new(), format));
    let mut encoded = Record::new();
    // A default that cannot be encoded is simply never left out.
    if absent.encode(&mut FieldSink::new(&mut encoded, format)).is_err() {
        encoded.clear();
    }
    let mut registry = write(registry);
    // Leaked once per session type and format: a few small records for the process's life.
    registry.entry(key).or_insert_with(|| Box::leak(Box::new(encoded)))
}

/// Whether `value` holds nothing but defaults: saved, it would store no field.
pub(crate) fn at_defaults<T: SessionData>(value: &T, format: Format) -> bool {
    let mut encoded = Record::new();
    let written = value.encode(&mut FieldSink::without_defaults(
        &mut encoded,
        format,
        defaults_of::<T>(format),
    ));
    written.is_ok() && encoded.is_empty()
}

/// Decodes tagged bytes, logging a failure once per key so that a type change in a deployed
/// struct is visible without flooding the log on every request.
pub(crate) fn decode_logged<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Option<T> {
    match codec::decode(bytes) {
        Ok(value) => Some(value),
        Err(error) => {
            if first_failure_of(key) {
                log::warn!("session field `{key}` no longer decodes, using its default: {error}");
            }
            None
        }
    }
}

fn first_failure_of(key: &str) -> bool {
    // Bounded, so that keys of a user-controlled map cannot grow it without limit.
    const MAX_REMEMBERED: usize = 1024;
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = lock(SEEN.get_or_init(Default::default));
    if seen.contains(key) {
        return false;
    }
    if seen.len() < MAX_REMEMBERED {
        seen.insert(key.to_owned());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(entries: &[(&str, Vec<u8>)]) -> Record {
        entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn value_decodes_a_present_key() {
        let rec = record(&[("a.x", codec::encode(Format::Json, &5u8).unwrap())]);
        assert_eq!(Fields::new(&rec, Format::Msgpack).value::<u8>("a.x"), Some(5));
    }

    #[test]
    fn value_is_none_for_a_missing_key_or_another_type() {
        let rec = record(&[("a.x", codec::encode(Format::Json, &"s").unwrap())]);
        let fields = Fields::new(&rec, Format::Msgpack);
        assert_eq!(fields.value::<u8>("a.y"), None);
        assert_eq!(fields.value::<u8>("a.x"), None);
    }

    #[test]
    fn namespace_lists_only_that_namespace() {
        let rec =
            record(&[("a.x", vec![1]), ("ab.y", vec![2]), ("a.z", vec![3]), ("b.x", vec![4])]);
        let fields = Fields::new(&rec, Format::Msgpack);
        let listed: Vec<_> = fields.namespace("a").collect();
        assert_eq!(listed, vec![("x", &[1u8][..]), ("z", &[3u8][..])]);
    }

    #[derive(Default)]
    struct Prefs {
        theme: String,
    }

    impl SessionData for Prefs {
        const NAMESPACE: &'static str = "prefs";

        fn decode(fields: &Fields<'_>) -> Self {
            Prefs { theme: fields.value("prefs.theme").unwrap_or_else(|| "dark".into()) }
        }

        fn encode(&self, sink: &mut FieldSink<'_>) -> Result<(), codec::Error> {
            sink.value("prefs.theme", &self.theme)
        }
    }

    #[test]
    fn defaults_are_what_an_absent_field_reads_as_encoded_once_per_format() {
        let first = defaults_of::<Prefs>(Format::Json);
        assert_eq!(codec::decode::<String>(&first["prefs.theme"]).unwrap(), "dark");
        assert!(std::ptr::eq(first, defaults_of::<Prefs>(Format::Json)), "computed once");
        assert!(!std::ptr::eq(first, defaults_of::<Prefs>(Format::Msgpack)));
    }

    #[test]
    fn a_sink_without_defaults_removes_a_value_set_back_to_its_default() {
        let defaults = defaults_of::<Prefs>(Format::Msgpack);
        let mut out = record(&[("prefs.theme", codec::encode(Format::Msgpack, "light").unwrap())]);
        let dark = Prefs { theme: "dark".into() };
        dark.encode(&mut FieldSink::without_defaults(&mut out, Format::Msgpack, defaults)).unwrap();
        assert!(out.is_empty(), "{out:?}");
        assert!(at_defaults(&dark, Format::Msgpack));
        assert!(!at_defaults(&Prefs { theme: "light".into() }, Format::Msgpack));
    }

    #[test]
    fn sink_encodes_in_its_format() {
        let mut out = Record::new();
        FieldSink::new(&mut out, Format::Json).value("a.x", &[1, 2]).unwrap();
        assert_eq!(codec::decode::<Vec<u8>>(&out["a.x"]).unwrap(), vec![1, 2]);
        assert_eq!(out["a.x"][1..], *b"[1,2]");
    }
}
