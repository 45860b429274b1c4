//! MySQL and MariaDB: neither can modify data in a CTE, so a write is a transaction, sent as
//! one batch of statements (one round trip) whose steps are gated on what its first step
//! found and locked. Statements in a batch cannot take parameters, so every value goes in as
//! a hex literal, which no input can break out of. A batch that does not finish (an error
//! midway, a timeout) may leave its transaction open, so its connection is closed rather
//! than reused: the server then rolls the transaction back.

use std::sync::Arc;
use std::time::Duration;

use rocket::futures::TryStreamExt;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlQueryResult, MySqlRow};
use sqlx::{AssertSqlSafe, Either, Row};

use super::pool::{on_connection, Connections};
use super::{bare_name, missing_columns, peeked, SqlOptions, Table, Times, CLEANUP_BATCH};
use crate::store::digest::push_hex;
use crate::store::fence::{too_late, ServerClock};
use crate::store::{Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore};

const STORE: &str = "mysql";

/// The server's time in Unix milliseconds, as the reads sample it and the saves' deadlines
/// compare it (see `fence.rs`): `SYSDATE`, not `NOW`, is read when evaluated, after a lock
/// was waited for, not when the statement began.
const SERVER_MS: &str = "UNIX_TIMESTAMP(SYSDATE(3)) * 1000";

/// How every write batch starts. Read committed: a lookup of a missing key (a logged-out
/// session, a new id) then locks no gap of the index, where concurrent logins inserting
/// next to each other would deadlock; what must not race is serialized by the header row's
/// own lock instead.
const BEGIN: &str = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION;";

/// Sessions in MySQL or MariaDB (`session_type = "mysql"`), one row per stored value.
///
/// Every operation is one round trip: a load is one statement (with rolling expiry, the
/// header's touch and the read in one batch); a create, update or regeneration is one
/// transaction sent as a single batch that locks the session's header first, so a logout
/// racing it wins or waits and is never undone. Ids and field names are binary columns, so
/// they compare byte for byte whatever the server's collation.
///
/// ```no_run
/// use rocket_typed_session::store::{MysqlStore, SqlOptions};
/// use rocket_typed_session::SessionFairing;
///
/// # async fn run() -> Result<(), sqlx::Error> {
/// let pool = sqlx::MySqlPool::connect("mysql://app@db/app").await?;
/// let store = MysqlStore::new(pool, SqlOptions::default()).expect("a valid table name");
/// let fairing = SessionFairing::with_store(store);
/// # Ok(()) }
/// ```
pub struct MysqlStore {
    connections: Connections<MySql>,
    table: Table,
    server_clock: ServerClock,
}

impl MysqlStore {
    fn on(connections: Connections<MySql>, table: Table) -> Self {
        MysqlStore { connections, table, server_clock: ServerClock::new() }
    }

    /// Sessions in the table `options.table` (or `database.table`) of the database `pool`
    /// reaches. The pool's own settings apply, `options.connections` aside; sqlx pings each
    /// connection as it returns to its pool, one more round trip per operation, which
    /// [`MysqlStore::open`]'s own connections save.
    ///
    /// # Errors
    /// The table name is not one or two plain identifiers.
    pub fn new(pool: MySqlPool, options: SqlOptions) -> Result<Self, String> {
        Ok(MysqlStore::on(Connections::Shared(pool), Table::new(options, true)?))
    }

    /// Connects lazily to the database at `url`: a database that is down at launch does not
    /// stop the app, and sessions work once it answers.
    ///
    /// # Errors
    /// The URL cannot be parsed, or the table name is not one or two plain identifiers.
    pub fn open(url: &str, options: SqlOptions) -> Result<Self, String> {
        let connect: MySqlConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let size = options.connections;
        let table = Table::new(options, true)?;
        let connections = Connections::own(connect, size, table.suspicion());
        Ok(MysqlStore::on(connections, table))
    }

    /// The statement that creates the table `table` with its expiry index, for a migration
    /// tool of your own; `store/sql/mysql.sql` in the crate holds it for `sessions`.
    pub fn ddl(table: &str) -> String {
        let index = bare_name(table);
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (\n    id VARBINARY(128) NOT NULL,\n    \
             field VARBINARY(255) NOT NULL,\n    value LONGBLOB NOT NULL,\n    \
             expires_at BIGINT NOT NULL,\n    PRIMARY KEY (id, field),\n    \
             KEY {index}_expires_at (field, expires_at)\n) ENGINE = InnoDB;\n"
        )
    }

    async fn ready(&self) -> Result<(), Error> {
        self.table
            .ensure(STORE, |create| async move {
                // One statement, atomic on its own: instances starting together do not
                // collide (MySQL cannot put DDL in a transaction).
                if create {
                    self.send(MysqlStore::ddl(&self.table.name)).await?;
                    return Ok(Vec::new());
                }
                self.missing_columns().await
            })
            .await
    }

    async fn missing_columns(&self) -> Result<Vec<String>, sqlx::Error> {
        let (schema, table) = match self.table.name.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, self.table.name.as_str()),
        };
        let query = sqlx::query_scalar(
            "SELECT CAST(column_name AS BINARY) FROM information_schema.columns \
             WHERE table_schema = coalesce(?, database()) AND table_name = ?",
        )
        .bind(schema)
        .bind(table);
        let names: Vec<Vec<u8>> = on_connection!(self.connections, |c| query.fetch_all(c)).await?;
        let present: Vec<String> =
            names.into_iter().map(|name| String::from_utf8_lossy(&name).into_owned()).collect();
        Ok(missing_columns(&present))
    }

    /// Runs the write `batch` and returns its rows.
    async fn batch(&self, batch: String) -> Result<Vec<MySqlRow>, Error> {
        self.ready().await?;
        self.table.bounded(STORE, self.send(batch)).await
    }

    /// Sends `batch` on a connection of its own; a connection whose batch did not finish is
    /// closed, never handed to the next caller mid-transaction.
    async fn send(&self, batch: String) -> Result<Vec<MySqlRow>, sqlx::Error> {
        let sql = AssertSqlSafe(batch);
        on_connection!(self.connections, |c| sqlx::raw_sql(sql).fetch_all(c)).await
    }

    /// Sends `batch` as [`send`](Self::send) does, and returns each statement's outcome with
    /// its rows, in order.
    async fn send_reading_counts(&self, batch: String) -> Result<Vec<Answer>, sqlx::Error> {
        let sql = AssertSqlSafe(batch);
        on_connection!(self.connections, |c| sqlx::raw_sql(sql).fetch_many(c).try_collect()).await
    }

    /// The first column of the batch's last row, where the batch reports what it found.
    async fn count(&self, batch: String) -> Result<i64, Error> {
        let rows = self.batch(batch).await?;
        let row = rows.last().ok_or_else(|| decode("the batch reported nothing"))?;
        row.try_get::<i64, _>(0).map_err(|e| decode(&e.to_string()))
    }
}

/// `bytes` as a MySQL hex literal, `X'…'`.
fn hex(bytes: &[u8]) -> String {
    let mut literal = String::with_capacity(bytes.len() * 2 + 3);
    literal.push_str("X'");
    push_hex(&mut literal, bytes);
    literal.push('\'');
    literal
}

/// The statements of one operation on one session, with its key and times filled in.
struct Batch<'a> {
    table: &'a str,
    key: String,
    times: Times,
}

impl<'a> Batch<'a> {
    fn new(table: &'a str, key: &str, times: Times) -> Self {
        Batch { table, key: hex(key.as_bytes()), times }
    }

    /// Counts `key`'s live header into `@variable`, locking it: a logout deleting the
    /// session waits for this transaction, or has already won. Past `deadline` (the server's
    /// Unix milliseconds, [`SERVER_MS`]; 0 for none) a live header counts -1, too late to
    /// write.
    fn lock_live(&self, variable: &str, key: &str, deadline: i64) -> String {
        let count = match deadline {
            0 => "count(*)".to_owned(),
            _ => format!("IF(count(*) > 0 AND {SERVER_MS} > {deadline}, -1, count(*))"),
        };
        format!(
            "SELECT {count} INTO @{variable} FROM {} WHERE id = {key} AND field = '' \
             AND expires_at > {} FOR UPDATE;",
            self.table, self.times.now
        )
    }

    /// Takes `key` for a new session into `@rts_claimed` (1 or 0): inserts its header, or
    /// revives an expired one and drops that session's leftover values; a live header is
    /// left as it was. The header's value, which no load reads, takes `nonce`, so that the
    /// batch can tell its own header from one that was there. One upsert takes the row's
    /// exclusive lock at once: concurrent creates of one key queue instead of deadlocking
    /// on shared locks, as a separate check and write would.
    fn claim(&self, key: &str, nonce: &str) -> String {
        format!(
            "INSERT INTO {t} (id, field, value, expires_at) VALUES ({key}, '', {nonce}, {expiry}) \
             ON DUPLICATE KEY UPDATE value = IF(expires_at <= {now}, VALUES(value), value), \
             expires_at = IF(expires_at <= {now}, VALUES(expires_at), expires_at); \
             SET @rts_revived = row_count() = 2; \
             SELECT count(*) INTO @rts_claimed FROM {t} WHERE id = {key} AND field = '' \
             AND value = {nonce}; \
             DELETE FROM {t} WHERE @rts_revived = 1 AND id = {key} AND field <> '';",
            t = self.table,
            expiry = self.times.expiry,
            now = self.times.now
        )
    }

    /// Deletes `key`'s rows of `fields` where `condition` holds.
    fn remove(&self, key: &str, fields: &[String], condition: &str) -> String {
        if fields.is_empty() {
            return String::new();
        }
        let names: Vec<String> = fields.iter().map(|f| hex(f.as_bytes())).collect();
        format!(
            "DELETE FROM {} WHERE {condition} AND id = {key} AND field IN ({});",
            self.table,
            names.join(", ")
        )
    }

    /// Writes `values` as `key`'s rows where `condition` holds, replacing rows of the same
    /// fields. Each row is its own gated `SELECT` without a table: the rows in a derived
    /// table under one gate cost MariaDB a temporary table on every write (8% of an update
    /// batch's server instructions for one value).
    fn put(&self, key: &str, values: &Record, condition: &str) -> String {
        if values.is_empty() {
            return String::new();
        }
        // The cast keeps values over 64 KiB whole: MariaDB 10.11 types a union of bare hex
        // literals so that it keeps such a value's length modulo 65,536.
        let rows: Vec<String> = values
            .iter()
            .map(|(field, value)| {
                format!(
                    "SELECT {key}, {}, CAST({} AS BINARY), 0 FROM DUAL WHERE {condition}",
                    hex(field.as_bytes()),
                    hex(value)
                )
            })
            .collect();
        format!(
            "INSERT INTO {} (id, field, value, expires_at) {} \
             ON DUPLICATE KEY UPDATE value = VALUES(value);",
            self.table,
            rows.join(" UNION ALL ")
        )
    }

    /// Reads every row of the session, its header's among them, whose expiry tells the
    /// reader whether the session is live: one range of the primary key, where a condition on
    /// the header in a subquery cost MariaDB half as much again per read.
    ///
    /// With `clock`, a last statement reads the server's time for the saves' deadlines (see
    /// `fence.rs`), about once a second.
    fn load(&self, clock: bool) -> String {
        format!(
            "SELECT field, value, expires_at FROM {t} WHERE id = {k};{clock}",
            t = self.table,
            k = self.key,
            clock =
                if clock { format!(" SELECT CAST({SERVER_MS} AS SIGNED);") } else { String::new() },
        )
    }

    /// Moves the header's expiry when due, then reads: only the header row is written. The
    /// first statement matches the header only when it moves the expiry, so its count of
    /// rows tells whether it did, with no variable to set and select.
    fn load_touching(&self, clock: bool) -> String {
        let Times { now, expiry, due_before } = self.times;
        format!(
            "UPDATE {t} SET expires_at = {expiry} WHERE id = {k} AND field = '' \
             AND expires_at > {now} AND (expires_at > {expiry} OR expires_at < {due_before}); \
             {load}",
            t = self.table,
            k = self.key,
            load = self.load(clock),
        )
    }

    fn create(&self, fields: &Record, nonce: &str) -> String {
        format!(
            "{BEGIN} {claim} {put} COMMIT; SELECT @rts_claimed;",
            claim = self.claim(&self.key, nonce),
            put = self.put(&self.key, fields, "@rts_claimed = 1")
        )
    }

    /// The header goes when the last value does, as a record without fields ends; only an
    /// update that removes values can leave none, so only such a one counts them.
    ///
    /// Past `deadline`, `@rts_live` is -1 (see `lock_live`): nothing is written, and the batch
    /// reports the save too late.
    fn update(&self, changes: &Changes, deadline: i64) -> String {
        format!(
            "{BEGIN} {lock} {remove} {put} {end_if_empty} \
             UPDATE {t} SET expires_at = {expiry} WHERE @rts_live = 1 AND id = {k} AND field = '' \
               AND (expires_at > {expiry} OR expires_at < {due_before}); \
             COMMIT; SELECT @rts_live;",
            lock = self.lock_live("rts_live", &self.key, deadline),
            remove = self.remove(&self.key, &changes.remove, "@rts_live = 1"),
            put = self.put(&self.key, &changes.set, "@rts_live = 1"),
            end_if_empty =
                if changes.remove.is_empty() { String::new() } else { self.end_if_empty() },
            t = self.table,
            k = self.key,
            expiry = self.times.expiry,
            due_before = self.times.due_before
        )
    }

    /// Deletes the live session's header if it has no values left.
    fn end_if_empty(&self) -> String {
        format!(
            "SELECT count(*) INTO @rts_left FROM {t} WHERE id = {k} AND field <> ''; \
             DELETE FROM {t} WHERE @rts_live = 1 AND @rts_left = 0 AND id = {k} AND field = '';",
            t = self.table,
            k = self.key,
        )
    }

    /// Reports whether the header was live, then deletes every row.
    fn delete(&self) -> String {
        format!(
            "DELETE FROM {t} WHERE id = {k} AND field = '' AND expires_at > {now}; \
             SET @rts_live = row_count(); DELETE FROM {t} WHERE id = {k}; SELECT @rts_live;",
            t = self.table,
            k = self.key,
            now = self.times.now
        )
    }

    /// Claims `new` (a live session there stays untouched), moves the live session's values
    /// to it and applies the changes; when the old session is gone, or the move too late
    /// (`deadline`, as for [`update`](Self::update)), the claim is undone.
    fn regenerate(&self, new: &str, changes: &Changes, nonce: &str, deadline: i64) -> String {
        let new = hex(new.as_bytes());
        let go = "@rts_go = 1";
        format!(
            "{BEGIN} {claim} {live} \
             SET @rts_go = @rts_claimed = 1 AND @rts_live = 1; \
             DELETE FROM {t} WHERE @rts_claimed = 1 AND @rts_live <> 1 AND id = {new} AND field = ''; \
             UPDATE {t} SET id = {new} WHERE {go} AND id = {old} AND field <> ''; \
             DELETE FROM {t} WHERE {go} AND id = {old} AND field = ''; {remove} {put} \
             COMMIT; SELECT 1 - @rts_claimed, @rts_live;",
            claim = self.claim(&new, nonce),
            live = self.lock_live("rts_live", &self.key, deadline),
            t = self.table,
            old = self.key,
            remove = self.remove(&new, &changes.remove, go),
            put = self.put(&new, &changes.set, go),
        )
    }
}

/// Sixteen random bytes as a literal, unique to one batch.
fn nonce() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Backend { store: STORE, source: e.into() })?;
    Ok(hex(&bytes))
}

fn decode(message: &str) -> Error {
    Error::Decode { store: STORE, message: message.to_owned() }
}

/// MySQL's SQLSTATEs are too coarse to tell "not now" apart (most errors are `HY000`), so
/// its error numbers decide: lock wait timeout (1205), deadlock (1213), too many connections
/// (1040, 1203), shutting down (1053), disk or table full (1021, 1114), read-only (1290,
/// 1792, 1836), query interrupted or over its time limit (1317, 1969, 3024), connection
/// killed (1927).
pub(super) fn passes(number: u16) -> bool {
    matches!(
        number,
        1021 | 1040
            | 1053
            | 1114
            | 1203
            | 1205
            | 1213
            | 1290
            | 1317
            | 1792
            | 1836
            | 1927
            | 1969
            | 3024
    )
}

/// A statement's outcome (the rows it changed) or one of its rows, as a batch answers.
type Answer = Either<MySqlQueryResult, MySqlRow>;

/// The rows of a rolling read, and whether its first statement, the touch of the header,
/// counted a row: moved the expiry.
fn touched_rows(answers: Vec<Answer>) -> (Vec<MySqlRow>, bool) {
    let touched = matches!(answers.first(), Some(Either::Left(touch)) if touch.rows_affected() > 0);
    (answers.into_iter().filter_map(Either::right).collect(), touched)
}

/// The live session the rows of a read hold: `None` without a live header or without values
/// (a record without fields does not exist).
fn record_of(rows: &[MySqlRow], touched: bool, now: i64) -> Result<Option<Loaded>, Error> {
    let mut record = Record::new();
    let mut header = None;
    for row in rows {
        let field: &[u8] = column(row, 0)?;
        if field.is_empty() {
            header = Some(column::<i64>(row, 2)?);
            continue;
        }
        let field = std::str::from_utf8(field).map_err(|_| decode("a field name is not UTF-8"))?;
        record.insert(field.to_owned(), column::<&[u8]>(row, 1)?.to_vec());
    }
    if header.is_none_or(|expires_at| expires_at <= now) || record.is_empty() {
        return Ok(None);
    }
    Ok(Some(Loaded { record: Arc::new(record), expiry_reset: touched }))
}

fn column<'r, T: sqlx::Decode<'r, MySql> + sqlx::Type<MySql>>(
    row: &'r MySqlRow,
    index: usize,
) -> Result<T, Error> {
    row.try_get(index).map_err(|e| decode(&e.to_string()))
}

/// The rows of the sessions under `keys`, as [`peeked`] reads them, in one statement: the
/// keys as hex literals, like every batch here.
fn peek_rows(table: &str, keys: &[String]) -> String {
    let listed: Vec<String> = keys.iter().map(|key| hex(key.as_bytes())).collect();
    format!("SELECT id, field, value, expires_at FROM {table} WHERE id IN ({});", listed.join(", "))
}

/// A peeked row's `(id, field, value, expires_at)`.
fn peek_row(row: &MySqlRow) -> Result<(String, String, Vec<u8>, i64), Error> {
    let text = |column: usize| -> Result<String, Error> {
        let bytes: Vec<u8> = row.try_get(column).map_err(|e| decode(&e.to_string()))?;
        String::from_utf8(bytes).map_err(|_| decode("a key or field name is not UTF-8"))
    };
    let value = row.try_get(2).map_err(|e| decode(&e.to_string()))?;
    let expires_at = row.try_get(3).map_err(|e| decode(&e.to_string()))?;
    Ok((text(0)?, text(1)?, value, expires_at))
}

#[async_trait::async_trait]
impl SessionStore for MysqlStore {
    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = peek_rows(&self.table.name, keys);
        self.ready().await?;
        let rows = self.table.read(STORE, || self.send(sql.clone())).await?;
        Ok(peeked(keys, rows.iter().map(peek_row).collect::<Result<_, _>>()?))
    }

    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let batch = Batch::new(&self.table.name, key, Times::for_ttl(touch.unwrap_or_default()));
        self.ready().await?;
        let clock = self.server_clock.wants_sample();
        let (mut rows, touched) = match touch {
            None => (self.table.read(STORE, || self.send(batch.load(clock))).await?, false),
            Some(_) => {
                let sql = batch.load_touching(clock);
                let answers =
                    self.table.read(STORE, || self.send_reading_counts(sql.clone())).await?;
                touched_rows(answers)
            }
        };
        if clock {
            let sample = rows.pop().ok_or_else(|| decode("no server time"))?;
            self.server_clock.observe(column(&sample, 0)?);
        }
        record_of(&rows, touched, batch.times.now)
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let batch = Batch::new(&self.table.name, key, Times::for_ttl(ttl));
        Ok(self.count(batch.create(fields, &nonce()?)).await? > 0)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let batch = Batch::new(&self.table.name, key, Times::for_ttl(ttl));
        let deadline = self.server_clock.deadline(self.table.timeout);
        match self.count(batch.update(changes, deadline)).await? {
            -1 => Err(too_late(STORE)),
            live => Ok(live > 0),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let batch = Batch::new(&self.table.name, key, Times::for_ttl(Duration::ZERO));
        Ok(self.count(batch.delete()).await? > 0)
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        let batch = Batch::new(&self.table.name, old, Times::for_ttl(ttl));
        let deadline = self.server_clock.deadline(self.table.timeout);
        let rows = self.batch(batch.regenerate(new, changes, &nonce()?, deadline)).await?;
        let row = rows.last().ok_or_else(|| decode("the batch reported nothing"))?;
        let found = |column| row.try_get::<i64, _>(column).map_err(|e| decode(&e.to_string()));
        Ok(match (found(0)?, found(1)?) {
            (_, -1) => return Err(too_late(STORE)),
            (0, 0) => Regenerated::SourceGone,
            (0, _) => Regenerated::Moved,
            _ => Regenerated::TargetTaken,
        })
    }

    /// Deletes expired sessions' rows, a thousand headers (and their values) a statement.
    async fn cleanup(&self) -> Result<(), Error> {
        loop {
            let sql = format!(
                "DELETE v FROM {t} v JOIN (SELECT id FROM {t} WHERE field = '' \
                 AND expires_at <= {now} LIMIT {CLEANUP_BATCH}) AS h ON v.id = h.id",
                t = self.table.name,
                now = super::now_ms()
            );
            self.ready().await?;
            let sql = AssertSqlSafe(sql);
            let query = on_connection!(self.connections, |c| sqlx::raw_sql(sql).execute(c));
            let deleted = self.table.bounded(STORE, query).await?;
            // Each header comes with its values, so fewer rows than a batch means the last.
            if deleted.rows_affected() < CLEANUP_BATCH as u64 {
                return Ok(());
            }
        }
    }

    fn request_time_limit(&self) -> Option<Duration> {
        Some(self.table.timeout)
    }

    fn describe(&self) -> String {
        let options = self.connections.connect_options();
        let server = (options.get_host(), options.get_port(), options.get_database());
        super::describe_server("MySQL", server, &self.table.name)
    }

    async fn ping(&self) -> Option<Result<(), Error>> {
        Some(self.ready().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_literals_hold_any_bytes() {
        assert_eq!(hex(b""), "X''");
        assert_eq!(hex(b"a'; --\\"), "X'61273b202d2d5c'");
    }

    #[test]
    fn errors_that_pass_with_time_are_told_apart() {
        assert!(passes(1205) && passes(1213) && passes(1290) && passes(1040) && passes(1021));
        assert!(!passes(1146) && !passes(1062) && !passes(1406) && !passes(1064));
    }
}
