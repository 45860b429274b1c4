//! Micro-benchmarks of what every session request runs: ids (draw, parse, digest), one
//! field's encoding and decoding in both formats, the diff a save computes, and the memory
//! store's load and update.
//!
//! `cargo bench -p rocket_typed_session_bench`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rocket_typed_session::codec::{self, Format};
use rocket_typed_session::store::{Changes, MemoryStore, Record, SessionStore};
use rocket_typed_session::SessionId;
use serde::{Deserialize, Serialize};

/// A typical stored field: a cart's items with a note.
#[derive(Serialize, Deserialize)]
struct Cart {
    items: Vec<u32>,
    note: String,
}

fn cart() -> Cart {
    Cart { items: (0..10).collect(), note: "leave at the door".into() }
}

fn ids(c: &mut Criterion) {
    let id = SessionId::generate(32);
    let cookie = id.expose().to_owned();
    c.bench_function("id/generate", |b| b.iter(|| SessionId::generate(black_box(32))));
    c.bench_function("id/parse", |b| b.iter(|| SessionId::parse(black_box(&cookie), 32)));
    c.bench_function("id/digest", |b| b.iter(|| black_box(&id).storage_key("session:")));
}

fn fields(c: &mut Criterion) {
    let value = cart();
    for format in [Format::Msgpack, Format::Json] {
        let name = format!("{format:?}").to_lowercase();
        let bytes = codec::encode(format, &value).expect("a cart encodes");
        c.bench_with_input(BenchmarkId::new("field/encode", &name), &format, |b, format| {
            b.iter(|| codec::encode(*format, black_box(&value)))
        });
        c.bench_with_input(BenchmarkId::new("field/decode", &name), &bytes, |b, bytes| {
            b.iter(|| codec::decode::<Cart>(black_box(bytes)))
        });
    }
}

fn diff(c: &mut Criterion) {
    let loaded: Record = (0..50)
        .map(|i| (format!("app.field{i:02}"), codec::encode(Format::Msgpack, &cart()).unwrap()))
        .collect();
    let mut one_changed = loaded.clone();
    one_changed.insert("app.field25".into(), codec::encode(Format::Msgpack, &0u8).unwrap());
    c.bench_function("diff/50 fields, none changed", |b| {
        b.iter(|| Changes::between(black_box(&loaded), black_box(&loaded)))
    });
    c.bench_function("diff/50 fields, one changed", |b| {
        b.iter(|| Changes::between(black_box(&loaded), black_box(&one_changed)))
    });
}

/// The memory store's share of a request: a rolling read, and a one-field update.
fn memory_store(c: &mut Criterion) {
    let runtime = rocket::tokio::runtime::Builder::new_current_thread().build().unwrap();
    let store = MemoryStore::default();
    let ttl = std::time::Duration::from_secs(3600);
    let record: Record = (0..3).map(|i| (format!("profile.f{i}"), vec![i; 16])).collect();
    runtime.block_on(store.create("key", &record, ttl)).unwrap();
    let changes = Changes { set: [("profile.f1".into(), vec![9; 16])].into(), remove: vec![] };
    c.bench_function("memory store/rolling load", |b| {
        b.iter(|| runtime.block_on(store.load(black_box("key"), Some(ttl))))
    });
    c.bench_function("memory store/update one field", |b| {
        b.iter(|| runtime.block_on(store.update(black_box("key"), &changes, ttl)))
    });
}

criterion_group!(hot_path, ids, fields, diff, memory_store);
criterion_main!(hot_path);
