//! SQLite: the database is a file of this process, so an operation is a short transaction
//! (`BEGIN IMMEDIATE`, taking the write lock up front, so two writers queue instead of
//! failing midway) rather than one statement; nothing crosses a network.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr, Sqlite, Transaction};

use super::{ddl, missing_columns, pool_options, SqlOptions, Table, Times, CLEANUP_BATCH};
use crate::store::{Changes, Error, Loaded, Record, Regenerated, SessionStore};

const STORE: &str = "sqlite";

/// Rows one insert carries: four parameters each, well under SQLite's limit of 32766.
const ROWS_PER_STATEMENT: usize = 500;

/// Sessions in an SQLite database file (`session_type = "sqlite"`), one row per stored value,
/// with the same guarantees as the other stores: creates never overwrite, updates never
/// resurrect, an expired session is never read, and expired rows are deleted in the
/// background.
///
/// ```no_run
/// use rocket_typed_session::store::{SqlOptions, SqliteStore};
/// use rocket_typed_session::SessionFairing;
///
/// let store = SqliteStore::open("sqlite://sessions.db", SqlOptions::default()).unwrap();
/// let fairing = SessionFairing::with_store(store);
/// ```
pub struct SqliteStore {
    pool: SqlitePool,
    statements: Statements,
    table: Table,
}

impl SqliteStore {
    /// Sessions in the table `options.table` of the database `pool` opens.
    ///
    /// # Errors
    /// The table name is not a plain identifier.
    pub fn new(pool: SqlitePool, options: SqlOptions) -> Result<Self, String> {
        let table = Table::new(options, false)?;
        Ok(SqliteStore { pool, statements: Statements::for_table(&table.name), table })
    }

    /// Opens (creating if missing) the database file `url` names, in WAL mode, waiting up to
    /// `options.timeout` for another writer's lock.
    ///
    /// # Errors
    /// The URL cannot be parsed, or the table name is not a plain identifier.
    pub fn open(url: &str, options: SqlOptions) -> Result<Self, String> {
        let connect: SqliteConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(options.timeout);
        let pool = pool_options(&options).connect_lazy_with(connect);
        SqliteStore::new(pool, options)
    }

    /// The statements that create the table `table` and its expiry index, for a migration
    /// tool of your own; `store/sql/sqlite.sql` in the crate holds them for `sessions`.
    pub fn ddl(table: &str) -> String {
        ddl(table, "BLOB", "INTEGER")
    }

    async fn ready(&self) -> Result<(), Error> {
        self.table
            .ensure(STORE, |create| async move {
                if create {
                    let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                    sqlx::raw_sql(AssertSqlSafe(SqliteStore::ddl(&self.table.name)))
                        .execute(&mut *transaction)
                        .await?;
                    transaction.commit().await?;
                    return Ok(Vec::new());
                }
                let check = format!("SELECT name FROM pragma_table_info('{}')", self.table.name);
                let present: Vec<String> =
                    sqlx::query_scalar(AssertSqlSafe(check)).fetch_all(&self.pool).await?;
                Ok(missing_columns(&present))
            })
            .await
    }

    async fn run<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, Error> {
        self.ready().await?;
        self.table.bounded(STORE, operation).await
    }

    /// The values of the live session under `key`; empty when there is none.
    async fn live(
        &self,
        transaction: &mut Transaction<'static, Sqlite>,
        key: &str,
        now: i64,
    ) -> Result<Record, sqlx::Error> {
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(self.statements.load.clone())
            .bind(key)
            .bind(now)
            .fetch_all(&mut **transaction)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Whether a live session is under `key`: its header alone is read.
    async fn exists(
        &self,
        transaction: &mut Transaction<'static, Sqlite>,
        key: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(self.statements.exists.clone())
            .bind(key)
            .bind(now)
            .fetch_one(&mut **transaction)
            .await
    }

    /// Replaces whatever rows `key` has with `record` under a header expiring at `expiry`.
    async fn put(
        &self,
        transaction: &mut Transaction<'static, Sqlite>,
        key: &str,
        record: &Record,
        expiry: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(self.statements.delete_all.clone())
            .bind(key)
            .execute(&mut **transaction)
            .await?;
        sqlx::query(self.statements.head.clone())
            .bind(key)
            .bind(expiry)
            .execute(&mut **transaction)
            .await?;
        self.upsert(transaction, key, record.iter()).await
    }

    /// Writes `values` under `key`, replacing rows of the same fields, a few hundred rows a
    /// statement.
    async fn upsert<'v>(
        &self,
        transaction: &mut Transaction<'static, Sqlite>,
        key: &str,
        values: impl Iterator<Item = (&'v String, &'v Vec<u8>)>,
    ) -> Result<(), sqlx::Error> {
        let values: Vec<_> = values.collect();
        for chunk in values.chunks(ROWS_PER_STATEMENT) {
            let rows = vec!["(?, ?, ?, 0)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO {} (id, field, value, expires_at) VALUES {rows} \
                 ON CONFLICT (id, field) DO UPDATE SET value = excluded.value",
                self.table.name
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (field, value) in chunk {
                query = query.bind(key).bind(field.as_str()).bind(value.as_slice());
            }
            query.execute(&mut **transaction).await?;
        }
        Ok(())
    }
}

struct Statements {
    load: SqlStr,
    exists: SqlStr,
    touch: SqlStr,
    head: SqlStr,
    remove: SqlStr,
    extend: SqlStr,
    drop_if_empty: SqlStr,
    delete_all: SqlStr,
    delete_returning: SqlStr,
    cleanup: SqlStr,
}

impl Statements {
    fn for_table(t: &str) -> Statements {
        let sql = |text: String| AssertSqlSafe(text).into_sql_str();
        Statements {
            load: sql(format!(
                "SELECT field, value FROM {t} WHERE id = ?1 AND field <> '' AND EXISTS \
                 (SELECT 1 FROM {t} WHERE id = ?1 AND field = '' AND expires_at > ?2)"
            )),
            exists: sql(format!(
                "SELECT EXISTS (SELECT 1 FROM {t} WHERE id = ?1 AND field = '' AND expires_at > ?2)"
            )),
            // Only the header row moves; the values stay where they are.
            touch: sql(format!(
                "UPDATE {t} SET expires_at = ?3 WHERE id = ?1 AND field = '' AND expires_at > ?2 \
                 AND (expires_at > ?3 OR expires_at < ?4)"
            )),
            head: sql(format!(
                "INSERT INTO {t} (id, field, value, expires_at) VALUES (?1, '', X'', ?2)"
            )),
            // A record without fields no longer exists.
            drop_if_empty: sql(format!(
                "DELETE FROM {t} WHERE id = ?1 AND field = '' AND NOT EXISTS \
                 (SELECT 1 FROM {t} WHERE id = ?1 AND field <> '')"
            )),
            remove: sql(format!("DELETE FROM {t} WHERE id = ?1 AND field = ?2")),
            extend: sql(format!("UPDATE {t} SET expires_at = ?2 WHERE id = ?1 AND field = ''")),
            delete_all: sql(format!("DELETE FROM {t} WHERE id = ?1")),
            delete_returning: sql(format!(
                "DELETE FROM {t} WHERE id = ?1 RETURNING field = '' AND expires_at > ?2"
            )),
            cleanup: sql(format!(
                "DELETE FROM {t} WHERE id IN \
                 (SELECT id FROM {t} WHERE field = '' AND expires_at <= ?1 LIMIT ?2)"
            )),
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let times = Times::for_ttl(touch.unwrap_or_default());
        let loaded = self
            .run(async {
                let mut expiry_reset = false;
                let mut transaction = self.pool.begin().await?;
                if touch.is_some() {
                    let touched = sqlx::query(self.statements.touch.clone())
                        .bind(key)
                        .bind(times.now)
                        .bind(times.expiry)
                        .bind(times.due_before)
                        .execute(&mut *transaction)
                        .await?;
                    expiry_reset = touched.rows_affected() > 0;
                }
                let record = self.live(&mut transaction, key, times.now).await?;
                transaction.commit().await?;
                Ok((!record.is_empty()).then_some(Loaded { record, expiry_reset }))
            })
            .await?;
        Ok(loaded)
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let times = Times::for_ttl(ttl);
        self.run(async {
            let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            if self.exists(&mut transaction, key, times.now).await? {
                return Ok(false);
            }
            // Rows an expired session left behind go with the put.
            self.put(&mut transaction, key, fields, times.expiry).await?;
            transaction.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let times = Times::for_ttl(ttl);
        self.run(async {
            let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            if !self.exists(&mut transaction, key, times.now).await? {
                return Ok(false);
            }
            for field in &changes.remove {
                sqlx::query(self.statements.remove.clone())
                    .bind(key)
                    .bind(field)
                    .execute(&mut *transaction)
                    .await?;
            }
            self.upsert(&mut transaction, key, changes.set.iter()).await?;
            sqlx::query(self.statements.extend.clone())
                .bind(key)
                .bind(times.expiry)
                .execute(&mut *transaction)
                .await?;
            sqlx::query(self.statements.drop_if_empty.clone())
                .bind(key)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let query = sqlx::query_scalar(self.statements.delete_returning.clone())
            .bind(key)
            .bind(super::now_ms());
        let live: Vec<bool> = self.run(query.fetch_all(&self.pool)).await?;
        Ok(live.contains(&true))
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        let times = Times::for_ttl(ttl);
        self.run(async {
            let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            if self.exists(&mut transaction, new, times.now).await? {
                return Ok(Regenerated::TargetTaken);
            }
            let mut record = self.live(&mut transaction, old, times.now).await?;
            if record.is_empty() {
                return Ok(Regenerated::SourceGone);
            }
            changes.apply_to(&mut record);
            sqlx::query(self.statements.delete_all.clone())
                .bind(old)
                .execute(&mut *transaction)
                .await?;
            self.put(&mut transaction, new, &record, times.expiry).await?;
            transaction.commit().await?;
            Ok(Regenerated::Moved)
        })
        .await
    }

    async fn cleanup(&self) -> Result<(), Error> {
        loop {
            let query = sqlx::query(self.statements.cleanup.clone())
                .bind(super::now_ms())
                .bind(CLEANUP_BATCH);
            let deleted = self.run(query.execute(&self.pool)).await?;
            if deleted.rows_affected() < CLEANUP_BATCH as u64 {
                return Ok(());
            }
        }
    }

    /// Creates or checks the table at launch, so that a mismatch stops it there.
    async fn ping(&self) -> Option<Result<(), Error>> {
        Some(self.ready().await)
    }

    fn describe(&self) -> String {
        let file = self.pool.connect_options().get_filename().display().to_string();
        format!("SQLite in {file}, table {}", self.table.name)
    }
}
