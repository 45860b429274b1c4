//! The store conformance suite: the semantics of `SessionStore` every backend must have.
//! `conformance_suite!(make_store)` expands to one test per behaviour, where `make_store` is
//! an async expression giving a fresh, empty store.

use std::time::Duration;

use rocket_typed_session::store::{Changes, Loaded, Record, Regenerated, SessionStore};

pub const TTL: Duration = Duration::from_secs(60);

/// A key no other test uses, so that stores shared between tests stay independent.
fn key_space() -> impl Fn(&str) -> String {
    let space = rocket_typed_session::SessionId::generate(16).storage_key("conformance:");
    move |name| format!("{space}:{name}")
}

pub fn record(entries: &[(&str, &[u8])]) -> Record {
    entries.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect()
}

/// The fields stored under `key`, read without touching the expiry.
pub async fn fields_of(store: &impl SessionStore, key: &str) -> Option<Record> {
    store.load(key, None).await.unwrap().map(|loaded| loaded.record)
}

pub fn changes(set: &[(&str, &[u8])], remove: &[&str]) -> Changes {
    Changes { set: record(set), remove: remove.iter().map(|k| k.to_string()).collect() }
}

pub async fn load_of_a_missing_key_is_none(store: impl SessionStore) {
    let k = key_space();
    assert_eq!(fields_of(&store, &k("missing")).await, None);
}

pub async fn created_record_loads_back(store: impl SessionStore) {
    let k = key_space();
    let fields = record(&[("a.x", b"\x01one"), ("a.y", b"\x01two")]);
    assert!(store.create(&k("1"), &fields, TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, Some(fields));
}

pub async fn create_never_overwrites(store: impl SessionStore) {
    let k = key_space();
    let first = record(&[("a.x", b"first")]);
    assert!(store.create(&k("1"), &first, TTL).await.unwrap());
    assert!(!store.create(&k("1"), &record(&[("a.x", b"second")]), TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, Some(first));
}

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

pub async fn update_of_a_missing_key_writes_nothing(store: impl SessionStore) {
    let k = key_space();
    assert!(!store.update(&k("gone"), &changes(&[("a.x", b"1")], &[]), TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("gone")).await, None);
}

pub async fn delete_removes_the_record_and_tolerates_a_missing_key(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    store.delete(&k("1")).await.unwrap();
    assert_eq!(fields_of(&store, &k("1")).await, None);
    store.delete(&k("1")).await.unwrap();
}

pub async fn regenerate_moves_the_record_with_its_changes(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("old"), &record(&[("a.x", b"1"), ("a.y", b"2")]), TTL).await.unwrap();
    let update = changes(&[("a.x", b"9")], &["a.y"]);
    let moved = store.regenerate(&k("old"), &k("new"), &update, TTL).await.unwrap();
    assert_eq!(moved, Regenerated::Moved);
    assert_eq!(fields_of(&store, &k("old")).await, None);
    assert_eq!(fields_of(&store, &k("new")).await, Some(record(&[("a.x", b"9")])));
}

pub async fn regenerate_of_a_missing_key_creates_nothing(store: impl SessionStore) {
    let k = key_space();
    let outcome = store.regenerate(&k("gone"), &k("new"), &Changes::default(), TTL).await.unwrap();
    assert_eq!(outcome, Regenerated::SourceGone);
    assert_eq!(fields_of(&store, &k("new")).await, None);
}

pub async fn regenerate_onto_a_taken_key_changes_nothing(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("old"), &record(&[("a.x", b"old")]), TTL).await.unwrap();
    store.create(&k("new"), &record(&[("a.x", b"other")]), TTL).await.unwrap();
    let outcome = store.regenerate(&k("old"), &k("new"), &Changes::default(), TTL).await.unwrap();
    assert_eq!(outcome, Regenerated::TargetTaken);
    assert_eq!(fields_of(&store, &k("old")).await, Some(record(&[("a.x", b"old")])));
    assert_eq!(fields_of(&store, &k("new")).await, Some(record(&[("a.x", b"other")])));
}

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

pub async fn a_touching_load_within_the_touch_interval_leaves_the_expiry(store: impl SessionStore) {
    let k = key_space();
    // A 64th of a minute: nearly a second between the create and the load.
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(!touch(&store, &k("1"), TTL).await);
}

pub async fn a_touching_load_after_the_touch_interval_resets_the_expiry(store: impl SessionStore) {
    let k = key_space();
    // A 64th of 640 ms is 10 ms.
    let ttl = Duration::from_millis(640);
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(Duration::from_millis(60)).await;
    assert!(touch(&store, &k("1"), ttl).await);
    assert!(!touch(&store, &k("1"), ttl).await, "the reset just done is within the interval");
}

pub async fn a_touching_load_with_a_new_ttl_resets_the_expiry(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(touch(&store, &k("1"), SHORT_TTL).await);
    tokio_sleep(SHORT_TTL + Duration::from_millis(800)).await;
    assert_eq!(fields_of(&store, &k("1")).await, None, "the shorter ttl was not applied");
}

pub async fn a_load_without_touch_resets_nothing(store: impl SessionStore) {
    let k = key_space();
    let ttl = Duration::from_millis(640);
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(Duration::from_millis(60)).await;
    assert!(!store.load(&k("1"), None).await.unwrap().unwrap().expiry_reset);
}

pub async fn an_update_resets_the_ttl(store: impl SessionStore) {
    let k = key_space();
    let ttl = SHORT_TTL;
    store.create(&k("1"), &record(&[("a.x", b"1")]), ttl).await.unwrap();
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert!(store.update(&k("1"), &changes(&[("a.x", b"2")], &[]), ttl).await.unwrap());
    tokio_sleep(MOST_OF_SHORT_TTL).await;
    assert!(fields_of(&store, &k("1")).await.is_some(), "the update did not reset the ttl");
}

pub async fn keys_are_independent(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    store.create(&k("2"), &record(&[("a.x", b"2")]), TTL).await.unwrap();
    store.delete(&k("1")).await.unwrap();
    assert_eq!(fields_of(&store, &k("2")).await, Some(record(&[("a.x", b"2")])));
}

pub async fn binary_values_survive_unchanged(store: impl SessionStore) {
    let k = key_space();
    let all_bytes: Vec<u8> = (0..=255).collect();
    let fields = record(&[("a.bin", &all_bytes), ("a.empty", b"")]);
    store.create(&k("1"), &fields, TTL).await.unwrap();
    assert_eq!(fields_of(&store, &k("1")).await, Some(fields));
}

pub async fn an_update_that_removes_every_field_ends_the_record(store: impl SessionStore) {
    let k = key_space();
    store.create(&k("1"), &record(&[("a.x", b"1")]), TTL).await.unwrap();
    assert!(store.update(&k("1"), &changes(&[], &["a.x"]), TTL).await.unwrap());
    assert_eq!(fields_of(&store, &k("1")).await, None);
}

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

/// One `#[rocket::async_test]` per conformance behaviour, each on a fresh store from `$make`.
#[macro_export]
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
            an_update_resets_the_ttl,
            keys_are_independent,
            binary_values_survive_unchanged,
            an_update_that_removes_every_field_ends_the_record,
            thousands_of_fields_fit_in_one_write,
        );
    };
    (@tests $make:expr; $($name:ident,)*) => {
        $(
            #[rocket::async_test]
            async fn $name() {
                $crate::support::conformance::$name($make.await).await;
            }
        )*
    };
}
