//! A record read back from a store: decoding through a derived struct and the dynamic map
//! never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocket_typed_session::codec::Format;
use rocket_typed_session::data::Fields;
use rocket_typed_session::store::Record;
use rocket_typed_session::{Session, SessionData, SessionMap};
use serde::{Deserialize, Serialize};

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

fuzz_target!(|data: &[u8]| {
    // Split the input into up to four values, one per field, at 0xfe bytes.
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
});
