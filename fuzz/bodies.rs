//! What each fuzz target checks of one input, shared by the targets (`fuzz_targets/`) and by
//! the test that replays the saved corpus on every `cargo test` (`tests/fuzz_corpus`), so a
//! regression on an input fuzzing once found fails CI without cargo-fuzz.

use rocket_typed_session::__fuzz::{sign, verify_signed};
use rocket_typed_session::codec::Format;
use rocket_typed_session::data::Fields;
use rocket_typed_session::store::Record;
use rocket_typed_session::{Session, SessionData, SessionId, SessionMap};
use serde::{Deserialize, Serialize};

/// A cookie value from a client: parsing never panics, and accepts only ids that are exactly
/// what generation produces.
pub fn cookie_id(value: &str) {
    for length in [16, 32, 64] {
        if let Some(id) = SessionId::parse(value, length) {
            assert_eq!(id.expose(), value);
            assert_eq!(SessionId::parse(id.expose(), length).as_ref(), Some(&id));
            let _ = id.storage_key("session:");
        }
    }
}

/// A signed cookie value from a client: verification never panics, and accepts nothing but
/// what the signer produced.
pub fn signed_id(value: &str) {
    if let Some(id) = verify_signed(value) {
        // Forging a signature by chance is not expected; a hit means the verifier is broken,
        // unless the input is the genuine signature of that id.
        assert_eq!(sign(&id), value, "accepted a value the signer did not produce");
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Address {
    street: String,
    number: u32,
    notes: Vec<Option<String>>,
}

#[derive(Session, Default)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<u32>,
    coupon: Option<String>,
    address: Option<Address>,
    anything: serde_json::Value,
}

/// A record read back from a store: decoding through a derived struct and the dynamic map
/// never panics, whatever the bytes. The input is split at 0xfe bytes into up to four
/// values, one per field, and the rest into map entries.
pub fn record_decode(data: &[u8]) {
    let mut parts = data.split(|b| *b == 0xfe);
    let mut record = Record::new();
    for field in ["cart.items", "cart.coupon", "cart.address", "cart.anything"] {
        if let Some(bytes) = parts.next() {
            record.insert(field.to_owned(), bytes.to_vec());
        }
    }
    for part in parts {
        record.insert(format!("map.{}", part.len()), part.to_vec());
    }
    let _ = Cart::decode(&Fields::new(&record, Format::Msgpack));
    let map = SessionMap::decode(&Fields::new(&record, Format::Json));
    for key in map.keys() {
        let _ = map.get::<serde_json::Value>(key);
        let _ = map.get::<Vec<String>>(key);
    }
}
