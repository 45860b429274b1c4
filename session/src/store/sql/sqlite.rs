//! SQLite: the database is a file of this process, so an operation is a short transaction
//! (`BEGIN IMMEDIATE`, taking the write lock up front, so two writers queue instead of
//! failing midway) rather than one statement; nothing crosses a network.

use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::Connection;
use sqlx::{AssertSqlSafe, SqlStr, Sqlite, Transaction};

use super::framed::live_values;
use super::pool::{on_connection, Connections};
use super::{ddl, missing_columns, peeked, SqlOptions, Table, Times, CLEANUP_BATCH};
use crate::store::limit::time_left;
use crate::store::{Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore};

const STORE: &str = "sqlite";

/// The Unix epoch in Julian days.
const UNIX_EPOCH_JULIAN_DAY: f64 = 2_440_587.5;

const MS_PER_DAY: f64 = 86_400_000.0;

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
    connections: Connections<Sqlite>,
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
        Ok(SqliteStore::on(Connections::Shared(pool), table))
    }

    fn on(connections: Connections<Sqlite>, table: Table) -> Self {
        SqliteStore { connections, statements: Statements::for_table(&table.name), table }
    }

    /// Opens (creating if missing) the database file `url` names, in WAL mode, waiting up to
    /// `options.timeout` for another writer's lock, on at most `options.connections`
    /// connections the store opens as it needs them and keeps.
    ///
    /// Commits are not synced to disk one by one (`synchronous = NORMAL`, SQLite's advice for
    /// WAL): a crash of the process loses nothing, a power failure may lose the last saves
    /// before a checkpoint, never the database's consistency. That is the durability a Redis
    /// server without `appendfsync always` gives sessions. For a sync on every commit, open
    /// the pool yourself and pass it to [`SqliteStore::new`].
    ///
    /// # Errors
    /// The URL cannot be parsed, or the table name is not a plain identifier.
    pub fn open(url: &str, options: SqlOptions) -> Result<Self, String> {
        let connect: SqliteConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.timeout);
        let size = options.connections;
        let table = Table::new(options, false)?;
        // The store's own connections rather than an sqlx pool, whose checkout and return
        // (a task spawned per operation) cost more than a read's own work.
        let connections = Connections::own(connect, size, table.suspicion());
        Ok(SqliteStore::on(connections, table))
    }

    /// The statements that create the table `table` and its expiry index, for a migration
    /// tool of your own; `store/sql/sqlite.sql` in the crate holds them for `sessions`.
    pub fn ddl(table: &str) -> String {
        // Without rowid, a session's rows sit together in the primary key's b-tree: a read
        // is one range scan instead of a seek into the key's index and one into the table per
        // row.
        ddl(table, "BLOB", "INTEGER", " WITHOUT ROWID")
    }

    async fn ready(&self) -> Result<(), Error> {
        self.table
            .ensure(STORE, |create| async move {
                on_connection!(self.connections, |c| async move {
                    let encoding: String =
                        sqlx::query_scalar("PRAGMA encoding").fetch_one(&mut *c).await?;
                    if encoding != "UTF-8" {
                        let message = format!(
                            "the database's text encoding is {encoding}; the session store \
                             needs UTF-8, SQLite's default (give it a database of its own)"
                        );
                        return Err(sqlx::Error::Configuration(message.into()));
                    }
                    if create {
                        let mut transaction = c.begin_with("BEGIN IMMEDIATE").await?;
                        sqlx::raw_sql(AssertSqlSafe(SqliteStore::ddl(&self.table.name)))
                            .execute(&mut *transaction)
                            .await?;
                        transaction.commit().await?;
                        return Ok(Vec::new());
                    }
                    let check =
                        format!("SELECT name FROM pragma_table_info('{}')", self.table.name);
                    let present: Vec<String> =
                        sqlx::query_scalar(AssertSqlSafe(check)).fetch_all(&mut *c).await?;
                    Ok(missing_columns(&present))
                })
                .await
            })
            .await
    }

    /// Runs `operation` within the bound, once the table is ready.
    async fn run<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, Error> {
        self.table.run(STORE, self.ready(), operation).await
    }

    /// The values of the live session under `key`; empty when there is none.
    async fn live(
        &self,
        transaction: &mut Transaction<'_, Sqlite>,
        key: &str,
        now: i64,
    ) -> Result<Record, sqlx::Error> {
        let row = sqlx::query_as(self.statements.session.clone())
            .bind(key)
            .fetch_one(&mut **transaction)
            .await?;
        Ok(live_values(row, now).map(|(record, _)| record).unwrap_or_default())
    }

    /// Whether a live session is under `key`: its header alone is read.
    async fn exists(
        &self,
        transaction: &mut Transaction<'_, Sqlite>,
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
        transaction: &mut Transaction<'_, Sqlite>,
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

    /// The common save, values set and none removed, as one statement: the writer's lock is
    /// held for one step, not for a transaction's several, which is what bounds how many
    /// writes SQLite takes a second. The header is upserted with the values, all only where
    /// it is live; a row coming back says it was.
    ///
    /// The statement carries a deadline, as the network stores' saves do (see
    /// `store/fence.rs`): one the app gave up on while it waited for another writer's lock
    /// would otherwise run once it got the lock, and replace a newer write. SQLite reads
    /// this machine's clock, so the deadline is in its wall clock, checked once the lock is
    /// held. The other writes are transactions and need none: one given up on goes no
    /// further than the statement under way, and is rolled back.
    async fn update_in_one_statement(
        &self,
        key: &str,
        values: &Record,
        times: Times,
    ) -> Result<bool, Error> {
        let rows: Vec<String> =
            (0..values.len()).map(|i| format!("(?{}, ?{})", 6 + 2 * i, 7 + 2 * i)).collect();
        let deadline = times.now.saturating_add(super::millis(time_left(self.table.timeout)));
        // In Julian days, SQLite's own measure, so that the statement reads the clock and
        // does no arithmetic; a double resolves it to well under a millisecond.
        let deadline = UNIX_EPOCH_JULIAN_DAY + deadline as f64 / MS_PER_DAY;
        // The header is rewritten only when its expiry is due to move (the touch interval
        // rule), so that most saves write the changed values alone.
        let sql = format!(
            "INSERT INTO {t} (id, field, value, expires_at) \
             SELECT ?1, v.column1, v.column2, CASE WHEN v.column1 = '' THEN ?3 ELSE 0 END \
             FROM (VALUES ('', X''){more}) AS v \
             WHERE EXISTS (SELECT 1 FROM {t} WHERE id = ?1 AND field = '' AND expires_at > ?2) \
             AND julianday() <= ?5 \
             ON CONFLICT (id, field) DO UPDATE SET value = excluded.value, \
             expires_at = excluded.expires_at \
             WHERE {t}.field <> '' OR {t}.expires_at > ?3 OR {t}.expires_at < ?4 RETURNING 1",
            t = self.table.name,
            more = rows.iter().map(|row| format!(", {row}")).collect::<String>()
        );
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(key)
            .bind(times.now)
            .bind(times.expiry)
            .bind(times.due_before)
            .bind(deadline);
        for (field, value) in values {
            query = query.bind(field.as_str()).bind(value.as_slice());
        }
        let written: Vec<i64> =
            self.run(on_connection!(self.connections, |c| query.fetch_all(c))).await?;
        // A save refused as late comes back as one whose session ended; no one reads which,
        // as the request's bound ends at the deadline.
        Ok(!written.is_empty())
    }

    /// Writes `values` under `key`, replacing rows of the same fields, a few hundred rows a
    /// statement.
    async fn upsert<'v>(
        &self,
        transaction: &mut Transaction<'_, Sqlite>,
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
    session: SqlStr,
    peek: SqlStr,
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
        let sql = super::statement;
        Statements {
            // One row however many values: each row sqlx hands over costs a copy of its
            // columns and a message from the connection's thread, several times what SQLite
            // spends framing the values into one blob. `||` and `group_concat` keep the
            // bytes as they are in a UTF-8 database (`ready` refuses others). Value rows
            // hold the expiry 0, so the largest is the header's, and 0 (long past) without one.
            session: sql(format!(
                "SELECT max(expires_at), group_concat(\
                 CASE WHEN field <> '' THEN \
                 octet_length(field) || ':' || field || octet_length(value) || ':' || value END, '') \
                 FROM {t} WHERE id = ?1"
            )),
            peek: sql(format!(
                "SELECT id, field, value, expires_at FROM {t} \
                 WHERE id IN (SELECT value FROM json_each(?1))"
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
            remove: sql(format!(
                "DELETE FROM {t} WHERE id = ?1 AND field IN (SELECT value FROM json_each(?2))"
            )),
            extend: sql(format!(
                "UPDATE {t} SET expires_at = ?3 WHERE id = ?1 AND field = '' AND expires_at > ?2"
            )),
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
    /// One statement reads the session's rows, header included (a statement sees one
    /// snapshot); only when the header's expiry is due does a second one move it, so that a
    /// read takes no write lock.
    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        let listed = serde_json::to_string(keys).expect("a list of strings always encodes");
        let query = sqlx::query_as(self.statements.peek.clone()).bind(listed);
        Ok(peeked(keys, self.run(on_connection!(self.connections, |c| query.fetch_all(c))).await?))
    }

    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let times = Times::for_ttl(touch.unwrap_or_default());
        let query = sqlx::query_as(self.statements.session.clone()).bind(key);
        let row = self.run(on_connection!(self.connections, |c| query.fetch_one(c))).await?;
        let Some((record, expires_at)) = live_values(row, times.now) else {
            return Ok(None);
        };
        let due = expires_at > times.expiry || expires_at < times.due_before;
        let mut expiry_reset = false;
        if touch.is_some() && due {
            let query = sqlx::query(self.statements.touch.clone())
                .bind(key)
                .bind(times.now)
                .bind(times.expiry)
                .bind(times.due_before);
            expiry_reset = self
                .run(on_connection!(self.connections, |c| query.execute(c)))
                .await?
                .rows_affected()
                > 0;
        }
        Ok(Some(Loaded { record: Arc::new(record), expiry_reset }))
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let times = Times::for_ttl(ttl);
        self.run(on_connection!(self.connections, |c| async {
            let mut transaction = c.begin_with("BEGIN IMMEDIATE").await?;
            if self.exists(&mut transaction, key, times.now).await? {
                return Ok(false);
            }
            // Rows an expired session left behind go with the put.
            self.put(&mut transaction, key, fields, times.expiry).await?;
            transaction.commit().await?;
            Ok(true)
        }))
        .await
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let times = Times::for_ttl(ttl);
        // A row written says the record is live, so the statement needs a value to write.
        let fits_one_statement = (1..ROWS_PER_STATEMENT).contains(&changes.set.len());
        if changes.remove.is_empty() && fits_one_statement {
            return self.update_in_one_statement(key, &changes.set, times).await;
        }
        self.run(on_connection!(self.connections, |c| async {
            let mut transaction = c.begin_with("BEGIN IMMEDIATE").await?;
            // Moving the expiry of a live header is the existence check too.
            let extended = sqlx::query(self.statements.extend.clone())
                .bind(key)
                .bind(times.now)
                .bind(times.expiry)
                .execute(&mut *transaction)
                .await?;
            if extended.rows_affected() == 0 {
                return Ok(false);
            }
            self.upsert(&mut transaction, key, changes.set.iter()).await?;
            if !changes.remove.is_empty() {
                let names = serde_json::to_string(&changes.remove).unwrap_or_default();
                sqlx::query(self.statements.remove.clone())
                    .bind(key)
                    .bind(names)
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query(self.statements.drop_if_empty.clone())
                    .bind(key)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            Ok(true)
        }))
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let query = sqlx::query_scalar(self.statements.delete_returning.clone())
            .bind(key)
            .bind(super::now_ms());
        let live: Vec<bool> =
            self.run(on_connection!(self.connections, |c| query.fetch_all(c))).await?;
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
        self.run(on_connection!(self.connections, |c| async {
            let mut transaction = c.begin_with("BEGIN IMMEDIATE").await?;
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
        }))
        .await
    }

    async fn cleanup(&self) -> Result<(), Error> {
        loop {
            let query = sqlx::query(self.statements.cleanup.clone())
                .bind(super::now_ms())
                .bind(CLEANUP_BATCH);
            let deleted = self.run(on_connection!(self.connections, |c| query.execute(c))).await?;
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
        let file = self.connections.connect_options();
        let file = file.get_filename().display().to_string();
        format!("SQLite in {file}, table {}", self.table.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rocket::async_test]
    async fn an_opened_database_keeps_wal_and_syncs_at_checkpoints_only() {
        let (_dir, url) = temporary_database();
        let store = SqliteStore::open(&url, SqlOptions::default()).unwrap();
        let mut c = store.connections.acquire().await.unwrap();
        let journal: String =
            sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *c).await.unwrap();
        assert_eq!(journal, "wal");
        let synchronous: i64 =
            sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *c).await.unwrap();
        assert_eq!(synchronous, 1, "NORMAL; FULL (2) would sync the log on every commit");
    }

    fn temporary_database() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
        (dir, url)
    }

    fn one_value(value: &str) -> Record {
        [("field".to_owned(), value.as_bytes().to_vec())].into_iter().collect()
    }

    /// Takes SQLite's writer lock from a connection of its own, as another process would.
    async fn writer_lock(url: &str) -> sqlx::SqliteConnection {
        let mut holder = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();
        holder
    }

    /// An update of `field` to "late" that the app gives up on after `left`, behind a writer's
    /// lock released after `held`; then what `field` holds.
    async fn update_behind_a_lock(left: Duration, held: Duration) -> Option<Vec<u8>> {
        let (_dir, url) = temporary_database();
        let options = SqlOptions { timeout: Duration::from_secs(5), ..SqlOptions::default() };
        let store = SqliteStore::open(&url, options).unwrap();
        let ttl = Duration::from_secs(60);
        assert!(store.create("key", &one_value("first"), ttl).await.unwrap());
        let mut holder = writer_lock(&url).await;

        let changes = Changes { set: one_value("late"), remove: Vec::new() };
        let update = crate::save::within(left, store.update("key", &changes, ttl));
        let release = async {
            rocket::tokio::time::sleep(held).await;
            sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
        };
        let (updated, ()) = rocket::tokio::join!(update, release);
        if updated.is_none() {
            // Given up on; the statement may still be waiting for the lock.
            rocket::tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let loaded = store.load("key", None).await.unwrap().expect("the session is live");
        loaded.record.get("field").cloned()
    }

    #[rocket::async_test]
    async fn an_update_that_gets_the_writer_lock_after_its_deadline_writes_nothing() {
        let field = update_behind_a_lock(Duration::from_millis(50), Duration::from_millis(300));
        assert_eq!(field.await.as_deref(), Some(&b"first"[..]));
    }

    #[rocket::async_test]
    async fn an_update_that_gets_the_writer_lock_before_its_deadline_writes() {
        let field = update_behind_a_lock(Duration::from_secs(4), Duration::from_millis(300));
        assert_eq!(field.await.as_deref(), Some(&b"late"[..]));
    }

    #[rocket::async_test]
    async fn values_of_any_bytes_read_back_as_they_were_written() {
        let (_dir, url) = temporary_database();
        let store = SqliteStore::open(&url, SqlOptions::default()).unwrap();
        let record: Record = [
            ("12:34", b"5:x:6:".to_vec()),
            ("empty", Vec::new()),
            ("bytes", vec![0, 255, b':', 0xc3, 0x28, 0]),
            ("ünïcode ✓", "välue".as_bytes().to_vec()),
            ("large", vec![b'7'; 70_000]),
        ]
        .into_iter()
        .map(|(field, value)| (field.to_owned(), value))
        .collect();
        assert!(store.create("key", &record, Duration::from_secs(60)).await.unwrap());
        let loaded = store.load("key", None).await.unwrap().expect("the session is live");
        assert_eq!(*loaded.record, record);
    }

    #[rocket::async_test]
    async fn a_database_in_utf16_is_refused_at_launch_by_its_encoding() {
        let (_dir, url) = temporary_database();
        let store = SqliteStore::open(&url, SqlOptions::default()).unwrap();
        let mut c = store.connections.acquire().await.unwrap();
        sqlx::query("PRAGMA encoding = 'UTF-16le'").execute(&mut *c).await.unwrap();
        sqlx::query("CREATE TABLE other (x)").execute(&mut *c).await.unwrap();
        drop(c);
        let error = store.ping().await.unwrap().unwrap_err().to_string();
        assert!(error.contains("encoding is UTF-16le") && error.contains("UTF-8"), "{error}");
    }
}
