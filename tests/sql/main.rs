//! The SQL stores: the conformance suite on PostgreSQL (a private cluster), MariaDB (a private
//! server) and SQLite (a file in a temporary directory), the app through the fairing, the
//! schema at launch, and the servers stopped, paused and restarted under the app.

#[path = "../support/mod.rs"]
mod support;

mod app;
mod cleanup;
mod describe;
mod outage;
mod plans;
mod races;
mod rows;
mod schema;
#[cfg(feature = "sql-tls")]
mod tls;
mod traffic;

use rocket_typed_session::store::SqlOptions;

use support::mariadb::shared_mariadb;
use support::postgres::shared_postgres;
use support::App;

mod postgres {
    use rocket_typed_session::store::{PostgresStore, SqlOptions};

    rocket_typed_session::conformance_suite!(async {
        PostgresStore::open(&super::shared_postgres().url(), SqlOptions::default()).unwrap()
    });
}

mod mysql {
    use rocket_typed_session::store::{MysqlStore, SqlOptions};

    rocket_typed_session::conformance_suite!(async {
        MysqlStore::open(&super::shared_mariadb().url(), SqlOptions::default()).unwrap()
    });
}

mod sqlite {
    use rocket_typed_session::store::{SqlOptions, SqliteStore};

    rocket_typed_session::conformance_suite!(async {
        SqliteStore::open(&super::sqlite_url(), SqlOptions::default()).unwrap()
    });
}

/// A database file in this process's own temporary directory, shared by the tests that
/// only need one.
fn sqlite_url() -> String {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    format!("sqlite://{}", dir.path().join("sessions.db").display())
}

/// The test app with `session_type` and `session_sql_url` set, and `keys` merged in.
async fn app_with(store: &str, url: &str, keys: &[(&str, &str)]) -> App {
    let mut all = vec![("session_type", store), ("session_sql_url", url)];
    all.extend_from_slice(keys);
    App::launch(support::app::configured(&all)).await
}

/// Default options with another table, so a test can own its table.
fn options_with_table(table: &str) -> SqlOptions {
    SqlOptions { table: table.to_owned(), ..SqlOptions::default() }
}
