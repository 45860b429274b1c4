//! How PostgreSQL finds a session: by its primary key, never by a scan of the expiry index,
//! even in a new table without statistics, where a generic plan once picked that index and
//! read every live session's header to find one; and with one plan kept per statement, not
//! a new one for every read once sessions differ in size.

use std::time::Duration;

use rocket_typed_session::store::{Changes, PostgresStore, SessionStore};
use sqlx::postgres::PgPoolOptions;

use crate::options_with_table;
use crate::support::postgres::{shared_postgres, PostgresServer};

const TTL: Duration = Duration::from_secs(600);

/// How many times each index of `table` has been scanned, as `(index, scans)`.
async fn index_scans(pool: &sqlx::PgPool, table: &str) -> Vec<(String, i64)> {
    // Counts reach the statistics when a backend goes idle after this, at the latest.
    sqlx::query("SELECT pg_stat_force_next_flush()").execute(pool).await.unwrap();
    sqlx::query_as(
        "SELECT indexrelname::text, idx_scan FROM pg_stat_user_indexes \
         WHERE relname = $1 ORDER BY indexrelname",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[rocket::async_test]
async fn a_new_table_s_reads_and_writes_find_a_session_by_its_key_alone() {
    let table = "plans_sessions";
    let url = shared_postgres().url();
    // One connection, so that the store's statements and the statistics share a backend.
    let pool = PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let store = PostgresStore::new(pool.clone(), options_with_table(table)).unwrap();
    let record = [("plans.value".to_owned(), vec![1; 16])].into();
    for i in 0..10 {
        assert!(store.create(&format!("plans:{i}"), &record, TTL).await.unwrap());
    }
    let changes = Changes { set: [("plans.value".to_owned(), vec![2; 16])].into(), remove: vec![] };
    // Past the first five executions, after which PostgreSQL may settle on a generic plan.
    for _ in 0..12 {
        assert!(store.load("plans:3", Some(TTL)).await.unwrap().is_some());
        assert!(store.load("plans:3", None).await.unwrap().is_some());
        assert!(store.update("plans:3", &changes, TTL).await.unwrap());
    }
    let scans = index_scans(&pool, table).await;
    assert_eq!(scans[0].0, "plans_sessions_expires_at");
    assert_eq!(scans[0].1, 0, "the expiry index is for the cleanup alone: {scans:?}");
    assert!(scans[1].1 >= 36, "every operation by primary key: {scans:?}");
}

/// The plans and executions PostgreSQL counted for each statement that ran `calls` times or
/// more, as `(plans, calls, statement)`.
async fn plans_per_statement(pool: &sqlx::PgPool, calls: i64) -> Vec<(i64, i64, String)> {
    sqlx::query_as(
        "SELECT plans, calls, query FROM pg_stat_statements WHERE calls >= $1 \
         AND query LIKE '%uneven_sessions%'",
    )
    .bind(calls)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[rocket::async_test]
async fn reads_and_saves_reuse_their_plan_when_sessions_differ_in_size() {
    let server = PostgresServer::start_with(
        "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on",
    );
    let pool = PgPoolOptions::new().max_connections(1).connect(&server.url()).await.unwrap();
    sqlx::query("CREATE EXTENSION pg_stat_statements").execute(&pool).await.unwrap();
    let store = PostgresStore::new(pool.clone(), options_with_table("uneven_sessions")).unwrap();
    let small = [("small.value".to_owned(), vec![1; 16])].into();
    let large = (0..100).map(|i| (format!("large.f{i}"), vec![2; 512])).collect();
    for i in 0..30 {
        assert!(store.create(&format!("small:{i}"), &small, TTL).await.unwrap());
    }
    for i in 0..3 {
        assert!(store.create(&format!("large:{i}"), &large, TTL).await.unwrap());
    }
    sqlx::query("ANALYZE uneven_sessions").execute(&pool).await.unwrap();
    let changes = Changes { set: [("small.value".to_owned(), vec![3; 16])].into(), remove: vec![] };
    for i in 0..20 {
        let key = format!("small:{i}");
        assert!(store.load(&key, Some(TTL)).await.unwrap().is_some());
        assert!(store.load(&key, None).await.unwrap().is_some());
        assert!(store.update(&key, &changes, TTL).await.unwrap());
    }
    let statements = plans_per_statement(&pool, 20).await;
    assert!(statements.len() >= 3, "two loads and a save at least: {statements:?}");
    for (plans, calls, statement) in statements {
        // The first five runs are planned for their values, then one general plan serves.
        assert!(plans <= 6, "{plans} plans for {calls} runs of {statement}");
    }
}
