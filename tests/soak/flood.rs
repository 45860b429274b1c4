//! A flood of requests that must not grow the memory store: anonymous visitors, cookies with
//! well-formed ids nobody issued, and garbage cookies. `SOAK_FLOOD` sets how many (20,000 in
//! CI; the long form sends 1,000,000).

use std::sync::Arc;
use std::time::Instant;

use rocket_typed_session::store::MemoryStore;
use rocket_typed_session::{SessionFairing, SessionId};

use crate::app::Instance;
use crate::support::http::{Connection, CookieChange};
use crate::{rss_kib, setting};

const CONNECTIONS: u64 = 8;

/// Sends `count` requests of the three kinds over keep-alive connections; returns how many
/// were not answered 200 or were given a session cookie.
async fn flood(port: u16, count: u64) -> u64 {
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        tasks.push(rocket::tokio::spawn(async move {
            let mut client = Connection::open(port).await.expect("the app accepts connections");
            let mut wrong = 0;
            for i in (connection..count).step_by(CONNECTIONS as usize) {
                let cookie = match i % 3 {
                    0 => None,
                    1 => Some(SessionId::generate(32).expose().to_owned()),
                    _ => Some(format!("garbage-{i}!")),
                };
                let response = client.get("/read", cookie.as_deref()).await.expect("an answer");
                let minted = matches!(response.cookie, CookieChange::Set(_));
                wrong += u64::from(response.status != 200 || minted);
            }
            wrong
        }));
    }
    let mut wrong = 0;
    for task in tasks {
        wrong += task.await.expect("a flood connection");
    }
    wrong
}

#[rocket::async_test]
async fn a_flood_of_anonymous_and_unknown_id_requests_leaves_the_memory_store_empty() {
    // Whichever test runs first installs the process's logger, before any Rocket does.
    crate::logs::keep_errors();
    let store = Arc::new(MemoryStore::with_capacity(64 << 20));
    let instance = Instance::launch_with(SessionFairing::with_store(store.clone()), &[]);
    let count = setting("SOAK_FLOOD", 20_000);
    let rss_before = rss_kib();
    let started = Instant::now();

    let failed = flood(instance.port, count).await;

    let elapsed = started.elapsed();
    println!(
        "flood: {count} requests in {:.1} s ({:.0}/s), RSS {rss_before} -> {} KiB, {} sessions stored",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        rss_kib(),
        store.len()
    );
    assert_eq!(failed, 0, "requests not answered 200, or given a session");
    assert_eq!(store.len(), 0, "the flood stored sessions");
}
