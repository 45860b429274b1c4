//! A save racing a logout: the logout wins or the save waits for it, and the session never
//! comes back, not even as rows a read would skip.

use std::time::Duration;

use rocket_typed_session::store::{Changes, PostgresStore, SessionStore, SqlOptions};
use sqlx::Connection;

use crate::support::postgres::shared_postgres;

const TTL: Duration = Duration::from_secs(600);

/// The rows stored under `key`, whatever a read would make of them.
async fn rows_under(pool: &sqlx::PgPool, key: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sessions WHERE id = $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[rocket::async_test]
async fn a_save_waiting_on_a_logout_writes_nothing_once_it_commits() {
    let url = shared_postgres().url();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let store = PostgresStore::new(pool.clone(), SqlOptions::default()).unwrap();
    let key = "races:save-behind-logout";
    let record = [("a.x".to_owned(), b"1".to_vec())].into();
    assert!(store.create(key, &record, TTL).await.unwrap());

    let mut logout = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut transaction = logout.begin().await.unwrap();
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(key)
        .execute(&mut *transaction)
        .await
        .unwrap();
    // An existing field and a new one: the save must neither revive the one nor add the other.
    let set = [("a.x".to_owned(), b"2".to_vec()), ("a.y".to_owned(), b"3".to_vec())].into();
    let changes = Changes { set, remove: vec![] };
    let save = rocket::tokio::spawn(async move { store.update(key, &changes, TTL).await });
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!save.is_finished(), "the save went ahead of the logout holding the session");
    transaction.commit().await.unwrap();

    assert!(!save.await.unwrap().unwrap(), "the save found the session it raced alive");
    assert_eq!(rows_under(&pool, key).await, 0, "the save left rows of the ended session");
}
