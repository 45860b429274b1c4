//! The table at launch: created when missing, checked when the app may not create it.

use rocket_typed_session::store::{
    MysqlStore, PostgresStore, SessionStore, SqlOptions, SqliteStore,
};
use sqlx::AssertSqlSafe;

use crate::support::mariadb::shared_mariadb;
use crate::support::postgres::shared_postgres;
use crate::{app_with, options_with_table, sqlite_url};

async fn a_missing_table_stops_the_launch_on(store: &str, url: &str) {
    let keys = [("session_sql_create_table", "false"), ("session_sql_table", "absent_sessions")];
    let mut all = vec![("session_type", store), ("session_sql_url", url)];
    all.extend_from_slice(&keys);
    let rocket = crate::support::app::configured(&all);
    let error = rocket::local::asynchronous::Client::untracked(rocket).await.err();
    let kind = error.as_ref().map(|error| error.kind());
    assert!(
        matches!(kind, Some(rocket::error::ErrorKind::FailedFairings(_))),
        "the launch went on without the table: {error:?}"
    );
}

#[rocket::async_test]
async fn a_missing_table_stops_the_launch_when_the_app_may_not_create_it_on_postgres() {
    a_missing_table_stops_the_launch_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn a_missing_table_stops_the_launch_when_the_app_may_not_create_it_on_mysql() {
    a_missing_table_stops_the_launch_on("mysql", &shared_mariadb().url()).await;
}

async fn a_created_table_then_passes_the_check_on(store: &str, url: &str) {
    app_with(store, url, &[("session_sql_table", "checked_sessions")]).await;
    let keys = [("session_sql_table", "checked_sessions"), ("session_sql_create_table", "false")];
    let app = app_with(store, url, &keys).await;
    assert!(app.get("/cart/add/1", None).await.session_cookie().is_some());
}

#[rocket::async_test]
async fn a_created_table_then_passes_the_check_on_postgres() {
    a_created_table_then_passes_the_check_on("postgres", &shared_postgres().url()).await;
}

#[rocket::async_test]
async fn a_created_table_then_passes_the_check_on_mysql() {
    a_created_table_then_passes_the_check_on("mysql", &shared_mariadb().url()).await;
}

#[rocket::async_test]
async fn a_schema_without_the_touch_function_is_refused_by_name_on_postgres() {
    let pool = sqlx::PgPool::connect(&shared_postgres().url()).await.unwrap();
    let ddl = PostgresStore::ddl("untouched_sessions");
    sqlx::raw_sql(AssertSqlSafe(ddl)).execute(&pool).await.unwrap();
    sqlx::query("DROP FUNCTION untouched_sessions_touch").execute(&pool).await.unwrap();
    let options = SqlOptions { create_table: false, ..options_with_table("untouched_sessions") };
    let store = PostgresStore::new(pool, options).unwrap();
    let error = store.load("k", None).await.expect_err("a schema without the function");
    let message = format!("{error}: {:?}", std::error::Error::source(&error));
    assert!(message.contains("lacks function untouched_sessions_touch"), "{message}");
}

#[rocket::async_test]
async fn a_schema_qualified_table_works_on_postgres() {
    let url = shared_postgres().url();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("CREATE SCHEMA IF NOT EXISTS app").execute(&pool).await.unwrap();
    let store = PostgresStore::new(pool, options_with_table("app.sessions")).unwrap();
    assert!(matches!(store.ping().await, Some(Ok(()))));
    let record = [("a.x".to_owned(), vec![1u8])].into();
    assert!(store.create("k", &record, std::time::Duration::from_secs(60)).await.unwrap());
}

#[rocket::async_test]
async fn a_database_qualified_table_works_on_mysql() {
    let url = shared_mariadb().url();
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    let store = MysqlStore::new(pool, options_with_table("app.qualified_sessions")).unwrap();
    assert!(matches!(store.ping().await, Some(Ok(()))));
    let record = [("a.x".to_owned(), vec![1u8])].into();
    assert!(store.create("k", &record, std::time::Duration::from_secs(60)).await.unwrap());
}

#[rocket::async_test]
async fn a_table_name_that_is_not_an_identifier_is_refused() {
    let options = options_with_table("sessions; DROP TABLE users");
    assert!(SqliteStore::open(&sqlite_url(), options).is_err());
    let options = options_with_table("a.b");
    assert!(SqliteStore::open(&sqlite_url(), options).is_err(), "no schemas in SQLite");
}

#[test]
fn the_shipped_ddl_files_are_what_ddl_returns() {
    assert_eq!(
        PostgresStore::ddl("sessions"),
        include_str!("../../session/src/store/sql/postgres.sql")
    );
    assert_eq!(
        SqliteStore::ddl("sessions"),
        include_str!("../../session/src/store/sql/sqlite.sql")
    );
    assert_eq!(MysqlStore::ddl("sessions"), include_str!("../../session/src/store/sql/mysql.sql"));
}

#[rocket::async_test]
async fn a_table_with_rowids_from_an_earlier_ddl_keeps_working_on_sqlite() {
    let url = sqlite_url();
    let store = SqliteStore::open(&url, options_with_table("rowid_sessions")).unwrap();
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
    let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap();
    let with_rowids = SqliteStore::ddl("rowid_sessions").replace(" WITHOUT ROWID", "");
    sqlx::raw_sql(AssertSqlSafe(with_rowids)).execute(&pool).await.unwrap();
    let record = [("a.x".to_owned(), vec![1u8]), ("a.y".to_owned(), vec![2u8])].into();
    assert!(store.create("k", &record, std::time::Duration::from_secs(60)).await.unwrap());
    let loaded = store.load("k", None).await.unwrap().expect("the session is live");
    assert_eq!(*loaded.record, record);
    let rowids: i64 = sqlx::query_scalar("SELECT count(rowid) FROM rowid_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rowids, 3, "the header and two values, in the table as it was made");
}
