//! A read returns a session as one row, its values gathered by an aggregate that MySQL cuts
//! at 1,024 bytes unless told otherwise (MariaDB at 1 MiB): a larger session still reads
//! whole, whatever the connection's own limit.

use std::time::Duration;

use rocket_typed_session::store::{MysqlStore, Record, SessionStore};
use sqlx::mysql::MySqlPoolOptions;

use crate::options_with_table;
use crate::support::mariadb::shared_mariadb;

const TTL: Duration = Duration::from_secs(600);

#[rocket::async_test]
async fn a_session_over_mysql_s_default_aggregate_limit_reads_whole() {
    // MariaDB's connections, set to MySQL's default.
    let pool = MySqlPoolOptions::new()
        .after_connect(|connection, _| {
            Box::pin(async move {
                sqlx::raw_sql("SET SESSION group_concat_max_len = 1024")
                    .execute(connection)
                    .await?;
                Ok(())
            })
        })
        .connect(&shared_mariadb().url())
        .await
        .unwrap();
    let store = MysqlStore::new(pool, options_with_table("aggregate_sessions")).unwrap();
    let record: Record =
        [("big.a".to_owned(), vec![b'a'; 1500]), ("big.b".to_owned(), vec![b'b'; 1500])].into();
    assert!(store.create("aggregate:1", &record, TTL).await.unwrap());
    for touch in [None, Some(TTL)] {
        let loaded = store.load("aggregate:1", touch).await.unwrap().expect("the session");
        assert_eq!(*loaded.record, record, "touch: {touch:?}");
    }
}
