//! `session_memory_capacity` bounds the embedded store: past it, sessions are evicted.

use crate::support::app::configured;
use crate::support::App;

/// A record of about a kilobyte: its value, its key and the reserved fields a write stores.
const VALUE_BYTES: usize = 1000;
const CAPACITY: usize = 64 * 1024;
/// Six times what the capacity holds.
const SESSIONS: usize = 6 * CAPACITY / VALUE_BYTES;

fn value_of(session: usize) -> String {
    format!("{session:0>width$}", width = VALUE_BYTES)
}

#[rocket::async_test]
async fn a_full_memory_store_evicts_sessions_to_stay_within_its_capacity() {
    let capacity = CAPACITY.to_string();
    let app = App::launch(configured(&[("session_memory_capacity", &capacity)])).await;
    let mut cookies = Vec::new();
    for session in 0..SESSIONS {
        let reply = app.get(&format!("/map/set/key/{}", value_of(session)), None).await;
        cookies.push(reply.session_cookie().expect("each write makes a session"));
    }

    let mut kept = 0;
    for (session, cookie) in cookies.iter().enumerate() {
        let body = app.get("/map/get/key", Some(cookie)).await.body;
        if body != "not set" {
            assert_eq!(body, value_of(session), "an evicted store keeps whole records only");
            kept += 1;
        }
    }
    // The store settles its bookkeeping in batches, so a few past the capacity may still
    // read back; a store that ignored the capacity would keep all of them.
    assert!(kept > 0, "the store kept nothing");
    assert!(kept <= SESSIONS / 3, "{kept} of {SESSIONS} sessions of 1 KB kept in 64 KiB");
}
