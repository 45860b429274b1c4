//! What a session costs in heap allocations: a request that reads a stored session allocates
//! only a fixed handful beyond the same request without a session guard, and nothing that
//! grows with the record. Counted by a global allocator, per thread, on a current-thread
//! runtime, so nothing else running can add to the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rocket::http::Cookie;
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_typed_session::store::{MemoryStore, SessionStore};
use rocket_typed_session::{Session, SessionFairing, SessionMap};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// The largest size asked for since [`largest_allocation_of`] last reset it.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// The largest single allocation `run` asked for on this thread.
fn largest_allocation_of<T>(run: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = run();
    (result, LARGEST.with(Cell::get))
}

/// Fields whose decoding allocates nothing, so that every allocation counted is the
/// library's.
#[derive(rocket_typed_session::Session, Default)]
struct Counters {
    a: u64,
    b: u64,
    c: u64,
}

#[get("/plain")]
fn plain() -> &'static str {
    "ok"
}

#[get("/read")]
fn read(counters: Session<Counters>) -> &'static str {
    if counters.a + counters.b + counters.c > 0 {
        "ok"
    } else {
        "empty"
    }
}

#[get("/write")]
fn write(mut counters: Session<Counters>) -> &'static str {
    counters.a += 1;
    counters.b = 2;
    counters.c = 3;
    "ok"
}

/// Forty more fields in another namespace, which a read of `Counters` must not copy.
#[get("/grow")]
fn grow(mut map: Session<SessionMap>) -> &'static str {
    for key in 0..40 {
        map.insert(format!("key{key}"), &key).unwrap();
    }
    "ok"
}

/// Allocations of one request to `path` carrying `cookie`, after one like it warmed up.
async fn counted(client: &Client, path: &str, cookie: &str) -> u64 {
    let send = || client.get(path.to_owned()).cookie(Cookie::new("session", cookie.to_owned()));
    send().dispatch().await.into_string().await;
    let before = allocations();
    let body = send().dispatch().await.into_string().await;
    let after = allocations();
    assert_eq!(body.as_deref(), Some("ok"));
    after - before
}

/// A client of the test app, and the cookie of a stored session whose counters are set.
async fn client_with_session() -> (Client, String) {
    client_with_session_in(SessionFairing::new()).await
}

/// [`client_with_session`] with the sessions `fairing` keeps.
async fn client_with_session_in(fairing: SessionFairing) -> (Client, String) {
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    };
    let rocket =
        rocket::custom(config).attach(fairing).mount("/", routes![plain, read, write, grow]);
    let client = Client::untracked(rocket).await.unwrap();
    let response = client.get("/write").dispatch().await;
    let cookie = response.cookies().get("session").expect("a session").value().to_owned();
    drop(response);
    (client, cookie)
}

/// Taken by each test that counts a request's allocations, for its whole run: building a
/// Rocket (`rocket::custom`) turns Rocket's process-wide logging on until the instance has
/// launched, so a test building its app while another counts would add log lines to that
/// count.
fn alone() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

fn current_thread() -> rocket::tokio::runtime::Runtime {
    rocket::tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The allocations a read of a stored session adds to the same request without a session
/// guard: Rocket's boxed guard future and its request-local slot for the session state,
/// which any async guard keeping request-local state costs, and one of ours, the id with its
/// storage key. The memory store answers without a future, and the record is shared with
/// it, not copied. (Keeping the id inline spared that allocation but cost more instructions
/// than it saved, in the copies of a larger request state.) This holds the count: a change
/// that allocates more on every read fails here.
const READ_ALLOCATIONS: u64 = 3;

#[test]
fn a_read_allocates_a_fixed_handful_beyond_a_route_without_a_session() {
    let _alone = alone();
    current_thread().block_on(async {
        let (client, cookie) = client_with_session().await;
        let plain = counted(&client, "/plain", &cookie).await;
        let read = counted(&client, "/read", &cookie).await;
        let extra = read - plain;
        eprintln!(
            "a session read allocates {extra} times beyond a plain route ({read} vs {plain})"
        );
        assert!(extra <= READ_ALLOCATIONS, "{extra} allocations, the bound is {READ_ALLOCATIONS}");
    });
}

#[test]
fn a_read_allocates_nothing_more_for_a_larger_record() {
    let (small, large) = counted_before_and_after_growing("/read");
    assert_eq!(large, small, "40 more fields were copied");
}

#[test]
fn a_store_shared_in_an_arc_costs_a_read_no_more_allocations_than_one_owned() {
    let _alone = alone();
    current_thread().block_on(async {
        let (owned, cookie) =
            client_with_session_in(SessionFairing::with_store(MemoryStore::default())).await;
        let owned = counted(&owned, "/read", &cookie).await;
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::default());
        let (shared, cookie) = client_with_session_in(SessionFairing::with_store(store)).await;
        assert_eq!(counted(&shared, "/read", &cookie).await, owned);
    });
}

#[test]
fn a_write_allocates_nothing_more_for_a_larger_record() {
    let (small, large) = counted_before_and_after_growing("/write");
    eprintln!("a write of one field allocates {small} times, {large} with 40 more fields");
    assert_eq!(large, small, "the 40 fields the write left alone were copied");
}

/// The allocations of a request to `path`, on a session of three fields and again once it
/// holds 40 more in another namespace.
fn counted_before_and_after_growing(path: &str) -> (u64, u64) {
    let _alone = alone();
    current_thread().block_on(async {
        let (client, cookie) = client_with_session().await;
        let small = counted(&client, path, &cookie).await;
        let grown = client.get("/grow").cookie(Cookie::new("session", cookie.clone()));
        assert_eq!(grown.dispatch().await.into_string().await.as_deref(), Some("ok"));
        (small, counted(&client, path, &cookie).await)
    })
}

/// The most a decode reserves on a length's word: serde caps a sequence's preallocation at
/// 1 MiB, whatever length the input claims.
const LARGEST_RESERVATION: usize = 1 << 20;

/// Stored bytes that claim a 4 GiB string, array or byte string with nothing behind the
/// claim: the decoder must refuse them without first reserving what they claim.
#[test]
fn a_huge_claimed_length_is_refused_without_allocating_it() {
    use rocket_typed_session::codec::decode;

    const TAG_MSGPACK: u8 = 0x01;
    for marker in [0xdb, 0xdd, 0xc6] {
        let stored = [TAG_MSGPACK, marker, 0xff, 0xff, 0xff, 0xff];
        let decodes = [
            largest_allocation_of(|| decode::<String>(&stored).is_err()),
            largest_allocation_of(|| decode::<Vec<u8>>(&stored).is_err()),
            largest_allocation_of(|| decode::<Vec<u64>>(&stored).is_err()),
            largest_allocation_of(|| decode::<serde_json::Value>(&stored).is_err()),
        ];
        for (refused, largest) in decodes {
            assert!(refused, "marker {marker:#x} decoded");
            assert!(
                largest <= LARGEST_RESERVATION,
                "marker {marker:#x}: an allocation of {largest} bytes"
            );
        }
    }
}
