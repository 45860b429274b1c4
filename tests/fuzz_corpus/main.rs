//! The fuzz targets' saved inputs, replayed as ordinary tests: every file under
//! `fuzz/seeds/<target>/` (committed seeds), `fuzz/artifacts/<target>/` (inputs that once
//! crashed a target, committed once the bug is fixed) and, where fuzzing ran on this machine,
//! `fuzz/corpus/<target>/` goes through the target's own body, so a regression on any of
//! them fails `cargo test` without cargo-fuzz.

#[path = "../../fuzz/bodies.rs"]
mod bodies;

use std::path::{Path, PathBuf};

use rocket_typed_session::__fuzz::sign;
use rocket_typed_session::SessionId;

/// Every saved input of `target`, with its path; there must be seeds.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut found = Vec::new();
    for dir in ["seeds", "artifacts", "corpus"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            found.push((path, bytes));
        }
    }
    assert!(!found.is_empty(), "no saved inputs for {target} under {}", fuzz.display());
    found.sort();
    found
}

/// Runs `body` on each input of `target`, naming the input that fails.
fn replay(target: &str, body: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    for (path, bytes) in inputs(target) {
        let outcome = std::panic::catch_unwind(|| body(&bytes));
        assert!(outcome.is_ok(), "{target} fails on {}", path.display());
    }
}

/// What libFuzzer hands a `&str` target: only inputs that are UTF-8.
fn as_text(body: fn(&str)) -> impl Fn(&[u8]) + std::panic::RefUnwindSafe {
    move |bytes| {
        if let Ok(text) = std::str::from_utf8(bytes) {
            body(text);
        }
    }
}

#[test]
fn the_cookie_id_corpus_replays_cleanly() {
    replay("cookie_id", as_text(bodies::cookie_id));
}

#[test]
fn the_signed_id_corpus_replays_cleanly() {
    replay("signed_id", as_text(bodies::signed_id));
}

#[test]
fn the_signed_id_body_accepts_the_signers_own_output() {
    // The corpus holds forgeries only; this reaches the body's accepting branch.
    bodies::signed_id(&sign(&SessionId::generate(32)));
}

#[test]
fn the_record_decode_corpus_replays_cleanly() {
    replay("record_decode", bodies::record_decode);
}
