//! What a save rewrites in PostgreSQL: only the rows of the fields it changed, and the
//! session's header row, never the other values.

use std::collections::BTreeMap;
use std::time::Duration;

use rocket_typed_session::store::{Changes, PostgresStore, SessionStore, SqlOptions};

use crate::support::postgres::shared_postgres;

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

#[rocket::async_test]
async fn changing_one_of_a_hundred_values_rewrites_only_its_row_and_the_header() {
    let pool = sqlx::PgPool::connect(&shared_postgres().url()).await.unwrap();
    let store = PostgresStore::new(pool.clone(), SqlOptions::default()).unwrap();
    let key = "traffic:large-session";
    let record = (0..100).map(|i| (format!("big.f{i:03}"), vec![i as u8; 1024])).collect();
    assert!(store.create(key, &record, TTL).await.unwrap());
    let before = writers(&pool, key).await;

    let changes = Changes { set: [("big.f042".to_owned(), vec![9; 1024])].into(), remove: vec![] };
    assert!(store.update(key, &changes, TTL).await.unwrap());
    let rewritten = rewritten_since(&before, &writers(&pool, key).await);
    assert_eq!(rewritten, ["", "big.f042"], "the header and the changed value only");
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
