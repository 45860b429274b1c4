//! See `bodies::record_decode`.
#![no_main]

#[path = "../bodies.rs"]
#[allow(dead_code)] // Each target uses one body of the three.
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::record_decode(data));
