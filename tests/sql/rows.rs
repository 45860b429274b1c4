//! What a read makes of the rows it finds: the MySQL read returns a session's header row
//! with its values and decides itself whether they make a session.

use std::time::Duration;

use rocket_typed_session::store::{MysqlStore, SessionStore};
use sqlx::mysql::MySqlPool;

use crate::options_with_table;
use crate::support::mariadb::shared_mariadb;

const TTL: Duration = Duration::from_secs(600);

/// A live header whose values are all gone (left by hand, say, or by an older version) is
/// no session, as a record without fields is none on every store.
#[rocket::async_test]
async fn a_live_header_without_values_is_no_session_on_mysql() {
    let table = "header_only_sessions";
    let pool = MySqlPool::connect(&shared_mariadb().url()).await.unwrap();
    let store = MysqlStore::new(pool.clone(), options_with_table(table)).unwrap();
    let record = [("rows.value".to_owned(), vec![1; 4])].into();
    assert!(store.create("rows:1", &record, TTL).await.unwrap());
    let statement = format!("DELETE FROM {table} WHERE id = 'rows:1' AND field <> ''");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&pool).await.unwrap();
    assert!(store.load("rows:1", None).await.unwrap().is_none());
    assert!(store.load("rows:1", Some(TTL)).await.unwrap().is_none());
}
