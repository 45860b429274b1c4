//! Properties over arbitrary input: values survive both codecs, and no bytes from a client or
//! a store make anything panic.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use rocket_typed_session::codec::{self, Format};
use rocket_typed_session::data::Fields;
use rocket_typed_session::store::{Changes, FilesystemStore, Record, SessionStore};
use rocket_typed_session::{Session, SessionData, SessionId, SessionMap};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Value {
    name: String,
    count: u64,
    ratio: i32,
    tags: Vec<String>,
    nested: Option<BTreeMap<String, Vec<u8>>>,
}

#[derive(Session, Default, Debug)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<u32>,
    coupon: Option<String>,
    owner: Option<Value>,
}

fn value() -> impl Strategy<Value = Value> {
    (
        ".{0,40}",
        any::<u64>(),
        any::<i32>(),
        prop::collection::vec(".{0,10}", 0..5),
        prop::option::of(prop::collection::btree_map(
            ".{0,8}",
            prop::collection::vec(any::<u8>(), 0..16),
            0..4,
        )),
    )
        .prop_map(|(name, count, ratio, tags, nested)| Value {
            name,
            count,
            ratio,
            tags,
            nested,
        })
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Msgpack), Just(Format::Json)]
}

/// Small records over a few keys, so that two of them share, change and drop fields.
fn record() -> impl Strategy<Value = Record> {
    prop::collection::btree_map("[a-e]", prop::collection::vec(any::<u8>(), 0..3), 0..6)
}

proptest! {
    #[test]
    fn the_changes_between_two_records_turn_the_first_into_the_second(
        loaded in record(),
        now in record(),
    ) {
        let changes = Changes::between(&loaded, &now);
        let mut applied = loaded.clone();
        changes.apply_to(&mut applied);
        prop_assert_eq!(&applied, &now);
        // Nothing unchanged is written, nothing kept is removed.
        prop_assert!(changes.set.iter().all(|(key, value)| loaded.get(key) != Some(value)));
        prop_assert!(changes.remove.iter().all(|key| !now.contains_key(key)));
    }

    #[test]
    fn every_value_round_trips_in_both_codecs(value in value(), format in format()) {
        let bytes = codec::encode(format, &value).unwrap();
        prop_assert_eq!(codec::decode::<Value>(&bytes).unwrap(), value);
    }

    #[test]
    fn arbitrary_stored_bytes_never_panic_a_decode(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = codec::decode::<Value>(&bytes);
        let _ = codec::decode::<serde_json::Value>(&bytes);
        let _ = codec::decode::<String>(&bytes);
        let _ = codec::decode::<Vec<u64>>(&bytes);
    }

    #[test]
    fn arbitrary_records_decode_into_a_derived_struct_without_panicking(
        items in prop::collection::vec(any::<u8>(), 0..64),
        coupon in prop::collection::vec(any::<u8>(), 0..64),
        owner in prop::collection::vec(any::<u8>(), 0..128),
        tag in prop_oneof![Just(0x01u8), Just(0x02u8), any::<u8>()],
    ) {
        let with_tag = |mut bytes: Vec<u8>| { bytes.insert(0, tag); bytes };
        let record: Record = [
            ("cart.items".to_owned(), with_tag(items)),
            ("cart.coupon".to_owned(), with_tag(coupon)),
            ("cart.owner".to_owned(), with_tag(owner)),
        ].into();
        let _ = Cart::decode(&Fields::new(&record, Format::Msgpack));
        let _ = SessionMap::decode(&Fields::new(&record, Format::Json));
    }

    #[test]
    fn arbitrary_cookie_text_parses_only_as_a_well_formed_id(text in ".{0,100}") {
        if let Some(id) = SessionId::parse(&text, 32) {
            prop_assert_eq!(id.expose(), text.as_str());
            prop_assert_eq!(text.len(), 43);
        }
    }

    /// Random text almost never has an id's shape, so the property above almost never reaches
    /// the checks past the length: these are ids one edit away from well-formed, judged
    /// against base64 itself (canonical exactly when it decodes to 32 bytes and encodes back
    /// to the same text).
    #[test]
    fn text_one_edit_from_an_id_parses_exactly_when_it_is_canonical_base64url(
        bytes in prop::array::uniform32(any::<u8>()),
        at in 0usize..44,
        edit in 0u8..3,
        with in prop_oneof![
            prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()).prop_map(char::from),
            prop::sample::select(b"+/=.:; %\0\n".to_vec()).prop_map(char::from),
            any::<char>(),
        ],
    ) {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let mut chars: Vec<char> = URL_SAFE_NO_PAD.encode(bytes).chars().collect();
        let at = at.min(chars.len() - usize::from(edit != 1));
        match edit {
            0 => chars[at] = with,
            1 => chars.insert(at, with),
            _ => drop(chars.remove(at)),
        }
        let text: String = chars.into_iter().collect();
        let canonical = URL_SAFE_NO_PAD
            .decode(&text)
            .is_ok_and(|decoded| decoded.len() == 32 && URL_SAFE_NO_PAD.encode(&decoded) == text);
        let parsed = SessionId::parse(&text, 32);
        prop_assert_eq!(parsed.is_some(), canonical, "{:?}", text);
        if let Some(id) = parsed {
            prop_assert_eq!(id.expose(), text.as_str());
        }
    }

    #[test]
    fn arbitrary_session_files_read_as_absent(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let runtime = rocket::tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = FilesystemStore::open(dir.path(), 10).unwrap();
            let fields: Record = [("a.x".to_owned(), vec![1])].into();
            store.create("s:1", &fields, Duration::from_secs(60)).await.unwrap();
            let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
            std::fs::write(&file, &bytes).unwrap();
            prop_assert_eq!(store.load("s:1", None).await.unwrap(), None);
            Ok(())
        })?;
    }
}
