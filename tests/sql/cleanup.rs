//! The expiry sweep of the SQL stores: a database keeps an expired session's rows until
//! `cleanup` deletes them (the fairing calls it every `session_cleanup_n_requests`). It
//! takes every row of each expired session, however many sessions that is, and nothing of a
//! live one.

use std::time::Duration;

use rocket_typed_session::store::{MysqlStore, PostgresStore, Record, SessionStore, SqliteStore};
use sqlx::mysql::MySqlPool;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::AssertSqlSafe;

use crate::support::mariadb::shared_mariadb;
use crate::support::postgres::shared_postgres;
use crate::{options_with_table, sqlite_url};

/// A session that outlives the test.
const LIVE: Duration = Duration::from_secs(600);
/// A session expired by the time the sweep runs.
const BRIEF: Duration = Duration::from_millis(1);
/// Past every `BRIEF` session's expiry, on the databases' millisecond clock.
const EXPIRED_BY_NOW: Duration = Duration::from_millis(20);
/// One more than a sweep's statement deletes, so that a sweep must go on past its first.
const MORE_THAN_A_BATCH: usize = 1001;

/// The connection a test counts a table's rows through, beside its store's own.
enum Database {
    Postgres(PgPool),
    Mysql(MySqlPool),
    Sqlite(SqlitePool),
}

impl Database {
    async fn rows(&self, table: &str) -> i64 {
        let count = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match self {
            Database::Postgres(pool) => sqlx::query_scalar(count).fetch_one(pool).await,
            Database::Mysql(pool) => sqlx::query_scalar(count).fetch_one(pool).await,
            Database::Sqlite(pool) => sqlx::query_scalar(count).fetch_one(pool).await,
        }
        .expect("the table can be counted")
    }
}

/// A store on its own table `table` of `dialect`'s test database, and a way to count its
/// rows.
async fn store_on(dialect: &str, table: &str) -> (Box<dyn SessionStore>, Database) {
    let options = options_with_table(table);
    match dialect {
        "postgres" => {
            let pool = PgPool::connect(&shared_postgres().url()).await.unwrap();
            let store = PostgresStore::new(pool.clone(), options).unwrap();
            (Box::new(store), Database::Postgres(pool))
        }
        "mysql" => {
            let pool = MySqlPool::connect(&shared_mariadb().url()).await.unwrap();
            let store = MysqlStore::new(pool.clone(), options).unwrap();
            (Box::new(store), Database::Mysql(pool))
        }
        _ => {
            let file: SqliteConnectOptions = sqlite_url().parse().unwrap();
            let pool = SqlitePool::connect_with(file.create_if_missing(true)).await.unwrap();
            let store = SqliteStore::new(pool.clone(), options).unwrap();
            (Box::new(store), Database::Sqlite(pool))
        }
    }
}

fn fields(names: &[&str]) -> Record {
    names.iter().map(|name| (format!("cleanup.{name}"), vec![1])).collect()
}

async fn create(store: &dyn SessionStore, key: &str, fields: &Record, ttl: Duration) {
    assert!(store.create(key, fields, ttl).await.unwrap(), "{key} is new");
}

async fn expired_sessions_go_and_a_live_one_stays(dialect: &str) {
    let table = "cleanup_swept";
    let (store, database) = store_on(dialect, table).await;
    let two = fields(&["a", "b"]);
    for n in 0..3 {
        create(&*store, &format!("expired:{n}"), &two, BRIEF).await;
    }
    create(&*store, "live", &two, LIVE).await;
    tokio::time::sleep(EXPIRED_BY_NOW).await;

    store.cleanup().await.unwrap();

    assert_eq!(database.rows(table).await, 3, "the live session's header and its two values");
    let live = store.load("live", None).await.unwrap().expect("the live session");
    assert_eq!(*live.record, two);
}

async fn a_sweep_goes_on_past_its_first_batch(dialect: &str) {
    let table = "cleanup_batches";
    let (store, database) = store_on(dialect, table).await;
    let one = fields(&["a"]);
    for n in 0..MORE_THAN_A_BATCH {
        create(&*store, &format!("expired:{n}"), &one, BRIEF).await;
    }
    tokio::time::sleep(EXPIRED_BY_NOW).await;

    store.cleanup().await.unwrap();

    assert_eq!(database.rows(table).await, 0);
}

#[rocket::async_test]
async fn cleanup_removes_expired_sessions_and_keeps_a_live_one_on_postgres() {
    expired_sessions_go_and_a_live_one_stays("postgres").await;
}

#[rocket::async_test]
async fn cleanup_removes_expired_sessions_and_keeps_a_live_one_on_mysql() {
    expired_sessions_go_and_a_live_one_stays("mysql").await;
}

#[rocket::async_test]
async fn cleanup_removes_expired_sessions_and_keeps_a_live_one_on_sqlite() {
    expired_sessions_go_and_a_live_one_stays("sqlite").await;
}

#[rocket::async_test]
async fn cleanup_removes_more_expired_sessions_than_one_statement_takes_on_postgres() {
    a_sweep_goes_on_past_its_first_batch("postgres").await;
}

#[rocket::async_test]
async fn cleanup_removes_more_expired_sessions_than_one_statement_takes_on_mysql() {
    a_sweep_goes_on_past_its_first_batch("mysql").await;
}

#[rocket::async_test]
async fn cleanup_removes_more_expired_sessions_than_one_statement_takes_on_sqlite() {
    a_sweep_goes_on_past_its_first_batch("sqlite").await;
}
