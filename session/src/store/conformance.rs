//! The conformance suite: the semantics of [`SessionStore`] that the fairing relies on, one
//! public async function per behaviour, and [`conformance_suite!`](crate::conformance_suite)
//! to run them all as tests. Every built-in store passes it; run it against your own store
//! in your tests (cargo feature `conformance`):
//!
//! ```no_run
//! # #[cfg(feature = "memory")] mod suite {
//! use rocket_typed_session::store::MemoryStore;
//!
//! // One `#[rocket::async_test]` per behaviour, each given a fresh store.
//! rocket_typed_session::conformance_suite!(async { MemoryStore::default() });
//! # }
//! # fn main() {}
//! ```
//!
//! Each behaviour uses keys of its own, so a store shared between the tests (one server, one
//! directory) is fine. The expiry behaviours sleep for up to three seconds of real time.

use std::time::Duration;

use crate::store::{Changes, Loaded, Record, Regenerated, SessionStore};

/// The lifetime records get unless a behaviour needs another.
pub const TTL: Duration = Duration::from_secs(60);

/// A key no other test uses, so that stores shared between tests stay independent.
fn key_space() -> impl Fn(&str) -> String {
    let space = crate::SessionId::generate(16).storage_key("conformance:");
    move |name| format!("{space}:{name}")
}

/// A record of `(key, value)` pairs.
pub fn record(entries: &[(&str, &[u8])]) -> Record {
    entries.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect()
}

/// The fields stored under `key`, read without touching the expiry.
pub async fn fields_of(store: &impl SessionStore, key: &str) -> Option<Record> {
    store.load(key, None).await.unwrap().map(|loaded| Record::clone(&loaded.record))
}

/// Changes that set `set` and remove `remove`.
pub fn changes(set: &[(&str, &[u8])], remove: &[&str]) -> Changes {
    Changes { set: record(set), remove: remove.iter().map(|k| k.to_string()).collect() }
}

/// Load of a missing key is none.
pub async fn load_of_a_missing_key_is_none(store: impl SessionStore) {
    let k = key_space();
    assert_eq!(fields_of(&store, &k("missing")).await, None);
}

/// Created record loads back.
pub async fn created_record_loads_back(store: impl SessionStore) {
    let k = key_space();
    let fields = record(&[("a.x", b"\x01one"), ("a.y", b"\x01two")]);
    assert!(store.create(&k("1"), &fields, TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, Some(fields));
}

/// Create never overwrites.
pub async fn create_never_overwrites(store: impl SessionStore) {
    let k = key_space();
    let first = record(&[("a.x", b"first")]);
    assert!(store.create(&k("1"), &first, TTL).await.unwrap());
    assert!(!store.create(&k("1"), &record(&[("a.x", b"second")]), TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, Some(first));
}

/// Update sets and removes only the given fields.
pub async fn update_sets_and_removes_only_the_given_fields(store: impl SessionStore) {
    let k = key_space();
    store
        .create(&k("1"), &record(&[("a.x", b"1"), ("a.y", b"2"), ("a.z", b"3")]), TTL)
        .await
        .unwrap();
    let update = changes(&[("a.x", b"9"), ("b.n", b"4")], &["a.z"]);
    assert!(store.update(&k("1"), &update, TTL).await.unwrap());
    let expected = record(&[("a.x", b"9"), ("a.y", b"2"), ("b.n", b"4")]);
    assert_eq!(fields_of(&store, &k("1")).await, Some(expected));
}

/// Update of a missing key writes nothing.
pub async fn update_of_a_missing_key_writes_nothing(store: impl SessionStore) {
    let k = key_space();
    assert!(!store.update(&k("gone"), &changes(&[("a.x", b"1")], &[]), TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("gone")).await, None);
}

/// Delete removes the record, says it was there, and tolerates a missing key.
pub async fn delete_removes_the_record_and_tolerates_a_missing_key(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(store.delete(&k("1")).await.unwrap(), "a live record was deleted");
    assert_eq!(fields_of(&store, &k("1")).await, None);
    assert!(!store.delete(&k("1")).await.unwrap(), "nothing was left to delete");
}

/// Regenerate moves the record with its changes.
pub async fn regenerate_moves_the_record_with_its_changes(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("old"), &record(&[("a.x", b"1"), ("a.y", b"2")]), TTL).await.unwrap();
    let update = changes(&[("a.x", b"9")], &["a.y"]);
    let moved = store.regenerate(&k("old"), &k("new"), &update, TTL).await.unwrap();
    assert_eq!(moved, Regenerated::Moved);
    assert_eq!(fields_of(&store, &k("old")).await, None);
    assert_eq!(fields_of(&store, &k("new")).await, Some(record(&[("a.x", b"9")])));
}

/// Regenerate of a missing key creates nothing.
pub async fn regenerate_of_a_missing_key_creates_nothing(store: impl SessionStore) {
    let k = key_space();
    let outcome = store.regenerate(&k("gone"), &k("new"), &Changes::default(), TTL).await.unwrap();
    assert_eq!(outcome, Regenerated::SourceGone);
    assert_eq!(fields_of(&store, &k("new")).await, None);
}

/// Regenerate onto a taken key changes nothing.
pub async fn regenerate_onto_a_taken_key_changes_nothing(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("old"), &record(&[("a.x", b"old")]), TTL).await.unwrap();
    store.create(&k("new"), &record(&[("a.x", b"other")]), TTL).await.unwrap();
    let outcome = store.regenerate(&k("old"), &k("new"), &Changes::default(), TTL).await.unwrap();
    assert_eq!(outcome, Regenerated::TargetTaken);
    assert_eq!(fields_of(&store, &k("old")).await, Some(record(&[("a.x", b"old")])));
    assert_eq!(fields_of(&store, &k("new")).await, Some(record(&[("a.x", b"other")])));
}

/// Peek reads each live record in the order of the keys, and `None` for a missing one.
pub async fn peek_reads_each_key_in_order(store: impl SessionStore) {
    let k = key_space();
    let (one, two) = (record(&[("a.x", b"1")]), record(&[("a.x", b"2"), ("b.y", b"3")]));
    store.create(&k("1"), &one, TTL).await.unwrap();
    store.create(&k("2"), &two, TTL).await.unwrap();
    let keys = [k("2"), k("missing"), k("1")];
    let peeked = store.peek(&keys).await.unwrap();
    let records: Vec<_> = peeked.into_iter().map(|p| p.map(|p| Record::clone(&p.record))).collect();
    assert_eq!(records, [Some(two), None, Some(one)]);
    assert!(store.peek(&[]).await.unwrap().is_empty());
}

/// Peek tells at most the ttl as the time left, and never a record that expired.
pub async fn peek_tells_the_time_left_and_skips_expired_records(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("live"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    store.create(&k("brief"), &record(&[("a.x", b"1")]), Duration::from_millis(300)).await.unwrap();
    tokio_sleep(Duration::from_millis(700)).await;
    let peeked = store.peek(&[k("live"), k("brief")]).await.unwrap();
    let left = peeked[0].as_ref().expect("the live record").expires_in;
    assert!(left.is_none_or(|left| left <= TTL && left > TTL / 2), "{left:?}");
    assert_eq!(peeked[1], None);
}

/// Peek resets no expiry.
pub async fn peek_resets_nothing(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), SHORT_TTL).await.unwrap();
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    store.peek(&[k("1")]).await.unwrap();
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert_eq!(fields_of(&store, &k("1")).await, None, "the peek extended the ttl");
}

/// Records expire after their ttl.
pub async fn records_expire_after_their_ttl(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), Duration::from_millis(300)).await.unwrap();
    tokio_sleep(Duration::from_millis(700)).await;
    assert_eq!(fields_of(&store, &k("1")).await, None);
}

/// Long enough that a busy machine's scheduling delays cannot decide these tests; the
/// sleeps leave 800 ms of margin on each side.
const SHORT_TTL: Duration = Duration::from_millis(2000);
const MOST_OF_SHORT_TTL: Duration = Duration::from_millis(1200);

/// A touching load extends the ttl.
pub async fn a_touching_load_extends_the_ttl(store: impl SessionStore) {
    let k = key_space();
    let ttl = SHORT_TTL;
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert!(store.load(&k("1"), Some(ttl)).await.unwrap().is_some());
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert!(fields_of(&store, &k("1")).await.is_some(), "the touch did not extend the ttl");
}

/// Whether a touching load of `key` with `ttl` reset the expiry.
async fn touch(store: &impl SessionStore, key: &str, ttl: Duration) -> bool {
    let loaded: Loaded = store.load(key, Some(ttl)).await.unwrap().expect("the record exists");
    loaded.expiry_reset
}

/// A touching load within the touch interval leaves the expiry.
pub async fn a_touching_load_within_the_touch_interval_leaves_the_expiry(store: impl SessionStore) {
    let k = key_space();
    // A 64th of a minute: nearly a second between the create and the load.
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(!touch(&store, &k("1"), TTL).await);
}

/// A touching load after the touch interval resets the expiry.
pub async fn a_touching_load_after_the_touch_interval_resets_the_expiry(store: impl SessionStore) {
    let k = key_space();
    // A 64th of 32 s is 500 ms: wide enough that a loaded machine's delay between the two
    // touches below stays inside it.
    let ttl = Duration::from_secs(32);
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(Duration::from_millis(600)).await;
    assert!(touch(&store, &k("1"), ttl).await);
    assert!(!touch(&store, &k("1"), ttl).await, "the reset just done is within the interval");
}

/// A touching load with a new ttl resets the expiry.
pub async fn a_touching_load_with_a_new_ttl_resets_the_expiry(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(touch(&store, &k("1"), SHORT_TTL).await);
    tokio_sleep(SHORT_TTL + Duration::from_millis(800)).await;
    assert_eq!(fields_of(&store, &k("1")).await, None, "the shorter ttl was not applied");
}

/// A load answered at once, by a store that answers that way, finds what a load finds, and
/// resets the expiry when a load would.
pub async fn a_load_answered_at_once_finds_what_a_load_finds(store: impl SessionStore) {
    let k = key_space();
    let fields = record(&[("a.x", b"1")]);
    store.create(&k("1"), &fields, TTL).await.unwrap();
    let Some(found) = store.load_now(&k("1"), None) else {
        return; // The store always goes through `load`.
    };
    assert_eq!(found.unwrap().map(|loaded| Record::clone(&loaded.record)), Some(fields));
    let missing = store.load_now(&k("missing"), None).expect("answered at once");
    assert!(missing.unwrap().is_none());
    let touched = store.load_now(&k("1"), Some(SHORT_TTL)).expect("answered at once");
    assert!(touched.unwrap().expect("the record exists").expiry_reset, "a new ttl applies");
}

/// A load without touch resets nothing.
pub async fn a_load_without_touch_resets_nothing(store: impl SessionStore) {
    let k = key_space();
    // Past the touch interval of a 32 s ttl (500 ms), where a touching load would reset it;
    // the ttl is long enough that no delay of a loaded machine lets the record expire first.
    let ttl = Duration::from_secs(32);
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(Duration::from_millis(600)).await;
    assert!(!store.load(&k("1"), None).await.unwrap().unwrap().expiry_reset);
}

/// An update resets the ttl.
pub async fn an_update_resets_the_ttl(store: impl SessionStore) {
    let k = key_space();
    let ttl = SHORT_TTL;
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert!(store.update(&k("1"), &changes(&[("a.x", b"2")], &[]), ttl).await.unwrap());
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert!(fields_of(&store, &k("1")).await.is_some(), "the update did not reset the ttl");
}

/// An update within the touch interval leaves the expiry where the last reset put it, so the
/// next touching load past the interval resets it and says so: that is when a rolling cookie
/// is re-sent.
pub async fn an_update_within_the_touch_interval_leaves_the_expiry(store: impl SessionStore) {
    let k = key_space();
    // A touch interval of a second (the most it is): the update half-way through it; the load
    // after it has passed, though within one interval of the update.
    let ttl = Duration::from_secs(64);
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(Duration::from_millis(500)).await;
    assert!(store.update(&k("1"), &changes(&[("a.x", b"2")], &[]), ttl).await.unwrap());
    tokio_sleep(Duration::from_millis(600)).await;
    assert!(touch(&store, &k("1"), ttl).await, "the update moved the expiry");
}

/// Keys are independent.
pub async fn keys_are_independent(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    store.create(&k("2"), &record(&[("a.x", b"2")]), TTL).await.unwrap();
    store.delete(&k("1")).await.unwrap();
    assert_eq!(fields_of(&store, &k("2")).await, Some(record(&[("a.x", b"2")])));
}

/// Binary values survive unchanged.
pub async fn binary_values_survive_unchanged(store: impl SessionStore) {
    let k = key_space();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let fields = record(&[("a.bin", &all_bytes), ("a.empty", b"")]);
    store.create(&k("1"), &fields, TTL).await.unwrap();
    assert_eq!(fields_of(&store, &k("1")).await, Some(fields));
}

/// Field names outside ASCII, which some stores frame by their length in bytes, come back
/// whole from a plain load and a touching one.
pub async fn names_outside_ascii_survive_both_loads(store: impl SessionStore) {
    let k = key_space();
    let fields = record(&[("a.naïve", b"1"), ("a.日本語", b"22"), ("a.☃:2", b"3:x")]);
    store.create(&k("1"), &fields, TTL).await.unwrap();
    assert_eq!(fields_of(&store, &k("1")).await, Some(fields.clone()));
    let loaded = store.load(&k("1"), Some(TTL)).await.unwrap().expect("the record");
    assert_eq!(*loaded.record, fields);
}

/// A touching load, which some stores answer in another shape than a plain one, gives back
/// values of any bytes, names with digits and colons, empty values and large ones as written.
pub async fn binary_values_survive_a_touching_load(store: impl SessionStore) {
    let k = key_space();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let large = vec![b'7'; 70_000];
    let fields = record(&[
        ("a.bin", &all_bytes),
        ("a.12:3", b"4:56"),
        ("a.empty", b""),
        ("a.large", &large),
    ]);
    store.create(&k("1"), &fields, TTL).await.unwrap();
    let loaded = store.load(&k("1"), Some(TTL)).await.unwrap().expect("the record");
    assert_eq!(*loaded.record, fields);
}

/// An update that removes every field ends the record.
pub async fn an_update_that_removes_every_field_ends_the_record(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(store.update(&k("1"), &changes(&[], &["a.x"]), TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, None);
}

/// Thousands of fields fit in one write.
pub async fn thousands_of_fields_fit_in_one_write(store: impl SessionStore) {
    let k = key_space();
    let fields: Record =
        (0..10_000).map(|i| (format!("a.f{i}"), vec![1, (i % 256) as u8])).collect();
    assert!(store.create(&k("1"), &fields, TTL).await.unwrap());
    let update = Changes { set: fields.clone(), remove: vec![] };
    assert!(store.update(&k("1"), &update, TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, Some(fields));
}

async fn tokio_sleep(duration: Duration) {
    rocket::tokio::time::sleep(duration).await;
}

/// Expands to one `#[rocket::async_test]` per behaviour of
/// [`store::conformance`](crate::store::conformance), each on a fresh store from `$make`, an
/// async expression (cargo feature `conformance`).
///
/// ```no_run
/// # #[cfg(feature = "memory")] mod suite {
/// rocket_typed_session::conformance_suite!(async {
///     rocket_typed_session::store::MemoryStore::default()
/// });
/// # }
/// # fn main() {}
/// ```
#[macro_export]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            load_of_a_missing_key_is_none,
            created_record_loads_back,
            create_never_overwrites,
            update_sets_and_removes_only_the_given_fields,
            update_of_a_missing_key_writes_nothing,
            delete_removes_the_record_and_tolerates_a_missing_key,
            regenerate_moves_the_record_with_its_changes,
            regenerate_of_a_missing_key_creates_nothing,
            regenerate_onto_a_taken_key_changes_nothing,
            records_expire_after_their_ttl,
            a_touching_load_extends_the_ttl,
            a_touching_load_within_the_touch_interval_leaves_the_expiry,
            a_touching_load_after_the_touch_interval_resets_the_expiry,
            a_touching_load_with_a_new_ttl_resets_the_expiry,
            a_load_without_touch_resets_nothing,
            a_load_answered_at_once_finds_what_a_load_finds,
            an_update_resets_the_ttl,
            an_update_within_the_touch_interval_leaves_the_expiry,
            keys_are_independent,
            binary_values_survive_unchanged,
            binary_values_survive_a_touching_load,
            names_outside_ascii_survive_both_loads,
            an_update_that_removes_every_field_ends_the_record,
            thousands_of_fields_fit_in_one_write,
            peek_reads_each_key_in_order,
            peek_tells_the_time_left_and_skips_expired_records,
            peek_resets_nothing,
        );
    };
    (@tests $make:expr; $($name:ident,)*) => {
        $(
            #[$crate::__private::async_test]
            async fn $name() {
                $crate::store::conformance::$name($make.await).await;
            }
        )*
    };
}
