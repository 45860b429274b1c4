//! What the launch log says of each SQL store (`sessions: …, answering`): where it is and
//! which table it uses, enough to tell a misdirected store; never the URL's password.

use rocket_typed_session::store::{MysqlStore, PostgresStore, SessionStore, SqliteStore};

use crate::options_with_table;

#[test]
fn a_postgres_store_is_described_by_its_server_database_and_table_without_the_password() {
    let url = "postgres://app:hunter2@db.internal:6432/shop";
    let store = PostgresStore::open(url, options_with_table("web_sessions")).unwrap();
    assert_eq!(store.describe(), "PostgreSQL at db.internal:6432/shop, table web_sessions");
}

#[test]
fn a_mysql_store_is_described_by_its_server_database_and_table_without_the_password() {
    let url = "mysql://app:hunter2@db.internal:3307/shop";
    let store = MysqlStore::open(url, options_with_table("web_sessions")).unwrap();
    assert_eq!(store.describe(), "MySQL at db.internal:3307/shop, table web_sessions");
}

#[test]
fn a_sqlite_store_is_described_by_its_file_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sessions.db");
    let url = format!("sqlite://{}", file.display());
    let store = SqliteStore::open(&url, options_with_table("web_sessions")).unwrap();
    assert_eq!(store.describe(), format!("SQLite in {}, table web_sessions", file.display()));
}
