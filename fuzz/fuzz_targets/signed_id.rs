//! See `bodies::signed_id`.
#![no_main]

#[path = "../bodies.rs"]
#[allow(dead_code)] // Each target uses one body of the three.
mod bodies;

libfuzzer_sys::fuzz_target!(|value: &str| bodies::signed_id(value));
