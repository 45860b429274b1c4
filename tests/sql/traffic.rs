//! What the SQL stores send and rewrite: a read is one round trip and a write two; a save
//! rewrites only the rows of the fields it changed, and the session's header row only when
//! its expiry is due to move, and sends only those.

use std::collections::BTreeMap;
use std::time::Duration;

use rocket::http::Status;
use rocket_typed_session::store::{
    Changes, MysqlStore, PostgresStore, SessionStore, SqlOptions, SqliteStore,
};

use sqlx::AssertSqlSafe;

use crate::support::mariadb::shared_mariadb;
use crate::support::postgres::shared_postgres;
use crate::support::proxy::CountingProxy;
use crate::support::App;
use crate::{app_with, options_with_table};

const TTL: Duration = Duration::from_secs(600);

/// Each row's field and the transaction that last wrote it.
async fn writers(pool: &sqlx::PgPool, key: &str) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT field, xmin::text FROM sessions WHERE id = $1")
            .bind(key)
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter().collect()
}

/// The fields whose rows another transaction wrote than in `before`.
fn rewritten_since(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let changed = after.iter().filter(|(field, xmin)| before.get(*field) != Some(*xmin));
    changed.map(|(field, _)| field.clone()).collect()
}

/// The rows an update of `changed` rewrites in a session of `count` values of `size` bytes,
/// created with `ttl` and updated with [`TTL`].
async fn rows_an_update_rewrites(
    key: &str,
    count: usize,
    size: usize,
    ttl: Duration,
) -> Vec<String> {
    let pool = sqlx::PgPool::connect(&shared_postgres().url()).await.unwrap();
    let store = PostgresStore::new(pool.clone(), SqlOptions::default()).unwrap();
    let record = (0..count).map(|i| (format!("big.f{i:03}"), vec![i as u8; size])).collect();
    assert!(store.create(key, &record, ttl).await.unwrap());
    let before = writers(&pool, key).await;
    let changes =
        Changes { set: [("big.f003".to_owned(), vec![255; size])].into(), remove: vec![] };
    assert!(store.update(key, &changes, TTL).await.unwrap());
    rewritten_since(&before, &writers(&pool, key).await)
}

#[rocket::async_test]
async fn changing_one_of_a_hundred_values_rewrites_only_its_row() {
    let rewritten = rows_an_update_rewrites("traffic:large-session", 100, 1024, TTL).await;
    assert_eq!(rewritten, ["big.f003"], "the changed value only: the expiry is not yet due");
}

#[rocket::async_test]
async fn a_save_past_the_touch_interval_also_moves_the_header() {
    let rewritten =
        rows_an_update_rewrites("traffic:header-due", 10, 512, Duration::from_secs(1)).await;
    assert_eq!(rewritten, ["", "big.f003"], "the header and the changed value");
}

/// The rows an update of one value writes on SQLite, created with `ttl` and updated with
/// [`TTL`], as the one connection's `total_changes()` counts them.
async fn rows_an_update_writes_on_sqlite(ttl: Duration) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("sessions.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await;
    let pool = pool.unwrap();
    let store = SqliteStore::new(pool.clone(), SqlOptions::default()).unwrap();
    let record = (0..10).map(|i| (format!("big.f{i}"), vec![1; 512])).collect();
    assert!(store.create("traffic", &record, ttl).await.unwrap());
    let changes_so_far = || sqlx::query_scalar::<_, i64>("SELECT total_changes()").fetch_one(&pool);
    let before = changes_so_far().await.unwrap();
    let changes = Changes { set: [("big.f3".to_owned(), vec![2; 512])].into(), remove: vec![] };
    assert!(store.update("traffic", &changes, TTL).await.unwrap());
    changes_so_far().await.unwrap() - before
}

#[rocket::async_test]
async fn on_sqlite_a_save_writes_the_changed_row_alone_until_the_expiry_is_due() {
    assert_eq!(rows_an_update_writes_on_sqlite(TTL).await, 1);
    assert_eq!(rows_an_update_writes_on_sqlite(Duration::from_secs(1)).await, 2, "and the header");
}

/// The fields whose rows an update of one value writes on MariaDB, in a table of its own
/// with a session created with `ttl` and updated with [`TTL`], as an `AFTER UPDATE` trigger
/// logs them (an upsert that finds its row fires it too).
async fn rows_an_update_writes_on_mysql(table: &str, ttl: Duration) -> Vec<String> {
    let pool = sqlx::MySqlPool::connect(&shared_mariadb().url()).await.unwrap();
    let store = MysqlStore::new(pool.clone(), options_with_table(table)).unwrap();
    let record = (0..10).map(|i| (format!("big.f{i}"), vec![1; 512])).collect();
    assert!(store.create("traffic", &record, ttl).await.unwrap());
    let logged = format!(
        "CREATE TABLE {table}_log (field VARCHAR(255) NOT NULL); \
         CREATE TRIGGER {table}_logged AFTER UPDATE ON {table} \
         FOR EACH ROW INSERT INTO {table}_log VALUES (NEW.field)"
    );
    sqlx::raw_sql(AssertSqlSafe(logged)).execute(&pool).await.unwrap();
    let changes = Changes { set: [("big.f3".to_owned(), vec![2; 512])].into(), remove: vec![] };
    assert!(store.update("traffic", &changes, TTL).await.unwrap());
    let log = format!("SELECT field FROM {table}_log ORDER BY field");
    sqlx::query_scalar(AssertSqlSafe(log)).fetch_all(&pool).await.unwrap()
}

#[rocket::async_test]
async fn on_mysql_a_save_writes_the_changed_row_alone_until_the_expiry_is_due() {
    let written = rows_an_update_writes_on_mysql("header_idle", TTL).await;
    assert_eq!(written, ["big.f3"]);
    let written = rows_an_update_writes_on_mysql("header_due", Duration::from_secs(1)).await;
    assert_eq!(written, ["", "big.f3"], "and the header");
}

#[rocket::async_test]
async fn a_touching_read_rewrites_only_the_header() {
    let pool = sqlx::PgPool::connect(&shared_postgres().url()).await.unwrap();
    let store = PostgresStore::new(pool.clone(), SqlOptions::default()).unwrap();
    let key = "traffic:touched";
    let record = (0..10).map(|i| (format!("big.f{i}"), vec![1; 512])).collect();
    assert!(store.create(key, &record, Duration::from_secs(1)).await.unwrap());
    let before = writers(&pool, key).await;
    let loaded = store.load(key, Some(TTL)).await.unwrap().expect("live");
    assert!(loaded.expiry_reset, "a longer lifetime resets the expiry");
    let rewritten = rewritten_since(&before, &writers(&pool, key).await);
    assert_eq!(rewritten, [""]);
}

/// The app on `store` through a counting relay to the server at `url` (listening on
/// `port`), with one connection so that every request reuses the one already open, and
/// its statements already prepared by a first read and write.
async fn app_through_a_relay(store: &str, url: &str, port: u16) -> (App, CountingProxy, String) {
    let proxy = CountingProxy::start(port);
    let app = app_with(store, &proxy.url_for(url, port), &[("session_sql_pool_size", "1")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    app.get("/map/set/key/other", Some(&cookie)).await;
    app.get("/map/get/key", Some(&cookie)).await;
    (app, proxy, cookie)
}

/// A read request costs one round trip and a write two (the load, then the save); neither
/// asks the server whether the connection is alive first.
async fn round_trips_of_a_read_and_a_write_on(store: &str, url: &str, port: u16) {
    let (app, proxy, cookie) = app_through_a_relay(store, url, port).await;
    proxy.reset();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "other");
    let read = proxy.round_trips();
    proxy.reset();
    assert_eq!(app.get("/map/set/key/third", Some(&cookie)).await.status, Status::Ok);
    let write = proxy.round_trips();
    println!("{store}: a read takes {read} round trip(s), a write {write}");
    assert_eq!((read, write), (1, 2));
}

#[rocket::async_test]
async fn a_read_is_one_round_trip_and_a_write_two_on_postgres() {
    let server = shared_postgres();
    round_trips_of_a_read_and_a_write_on("postgres", &server.url(), server.port).await;
}

#[rocket::async_test]
async fn a_read_is_one_round_trip_and_a_write_two_on_mysql() {
    let server = shared_mariadb();
    round_trips_of_a_read_and_a_write_on("mysql", &server.url(), server.port).await;
}

/// Changing one value of a hundred 1 KB values sends that value and the statement, not the
/// session: a few kilobytes (MySQL's hex literals double the value), where a whole-record
/// store would send over 100 KB.
async fn bytes_sent_to_change_one_large_value(
    store: impl SessionStore,
    proxy: &CountingProxy,
) -> u64 {
    let key = "traffic:bytes";
    let record = (0..100).map(|i| (format!("big.f{i:03}"), vec![i as u8; 1024])).collect();
    assert!(store.create(key, &record, TTL).await.unwrap());
    let changes = Changes { set: [("big.f042".to_owned(), vec![9; 1024])].into(), remove: vec![] };
    assert!(store.update(key, &changes, TTL).await.unwrap(), "a warm-up, preparing the statement");
    proxy.reset();
    assert!(store.update(key, &changes, TTL).await.unwrap());
    proxy.sent()
}

#[rocket::async_test]
async fn changing_one_of_a_hundred_values_sends_a_few_kilobytes_on_postgres() {
    let server = shared_postgres();
    let proxy = CountingProxy::start(server.port);
    let store = PostgresStore::open(&proxy.url_for(&server.url(), server.port), single()).unwrap();
    let sent = bytes_sent_to_change_one_large_value(store, &proxy).await;
    println!("postgres: changing one 1 KB value of 100 sends {sent} bytes");
    assert!(sent < 4096, "sent {sent} bytes");
}

#[rocket::async_test]
async fn changing_one_of_a_hundred_values_sends_a_few_kilobytes_on_mysql() {
    let server = shared_mariadb();
    let proxy = CountingProxy::start(server.port);
    let store = MysqlStore::open(&proxy.url_for(&server.url(), server.port), single()).unwrap();
    let sent = bytes_sent_to_change_one_large_value(store, &proxy).await;
    println!("mysql: changing one 1 KB value of 100 sends {sent} bytes");
    assert!(sent < 4096, "sent {sent} bytes");
}

fn single() -> SqlOptions {
    SqlOptions { connections: 1, ..SqlOptions::default() }
}
