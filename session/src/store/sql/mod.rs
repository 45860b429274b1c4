//! The SQL stores on sqlx: what PostgreSQL, SQLite and MySQL share (the layout, the table
//! name rule, time, errors and the time bound), with one file per database and `pool.rs` for
//! the connections the stores keep.
//!
//! Every stored value is its own row, `(id, field, value, expires_at)` with the primary key
//! `(id, field)`, where `id` is the storage key. Beside them, a header row with the empty
//! field name holds the session's expiry in Unix milliseconds (value rows hold 0): a session
//! exists while its header has not expired, so an expired session is never returned, before
//! cleanup or after, and moving the expiry (a touch, a save) rewrites the header alone. A
//! save writes the rows of the fields it changes and the header, nothing else.

#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod framed;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
pub(crate) mod pool;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::defaults::NETWORK_TIMEOUT;
use super::limit::timed_out;
use super::{touch_interval, Error, Peeked, Record};

/// How many expired rows one cleanup statement deletes, so that a sweep never holds long
/// locks.
const CLEANUP_BATCH: i64 = 1000;

/// Settings for the SQL stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlOptions {
    /// The table, `sessions` by default (`session_sql_table`); `schema.table` on PostgreSQL.
    pub table: String,
    /// Connections in the pool (`session_sql_pool_size`).
    pub connections: u32,
    /// The most one request's store work may take, waiting for a connection included
    /// (`session_store_timeout`); past it the request gets a 503.
    pub timeout: Duration,
    /// Whether the table and its index are created when missing (`session_sql_create_table`);
    /// otherwise their columns are checked.
    pub create_table: bool,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            table: "sessions".to_owned(),
            connections: 8,
            timeout: NETWORK_TIMEOUT,
            create_table: true,
        }
    }
}

/// A store's table and its settings, and whether it was made ready (created, or its columns
/// checked): until it is, each operation tries first, so a database that was down at launch
/// gets its table once it answers.
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) timeout: Duration,
    create: bool,
    ready: AtomicBool,
    suspicion: Arc<Suspicion>,
}

impl Table {
    /// The table of `options`, whose name must be a plain identifier (or `schema.table` where
    /// `schema_allowed`).
    pub(crate) fn new(options: SqlOptions, schema_allowed: bool) -> Result<Table, String> {
        check_table_name(&options.table, schema_allowed)?;
        Ok(Table {
            name: options.table,
            timeout: options.timeout,
            create: options.create_table,
            ready: AtomicBool::new(false),
            suspicion: Arc::default(),
        })
    }

    /// What the pool built for this table reads to decide whether to ping.
    pub(crate) fn suspicion(&self) -> Arc<Suspicion> {
        self.suspicion.clone()
    }

    /// Runs `operation` within the table's bound; a failure that may pass makes the
    /// connections suspect.
    pub(crate) async fn bounded<T>(
        &self,
        store: &'static str,
        operation: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, Error> {
        let result = bounded(store, self.timeout, operation).await;
        if result.as_ref().is_err_and(Error::is_unavailable) {
            self.suspicion.raise();
        }
        result
    }

    /// Runs `operation` within the table's bound once `ready` (the store's check that the
    /// table is ready, a no-op once it is) has passed. (MySQL's store runs its statements
    /// through its own connection loop.)
    #[cfg(any(feature = "postgres", feature = "sqlite"))]
    pub(crate) async fn run<T>(
        &self,
        store: &'static str,
        ready: impl Future<Output = Result<(), Error>>,
        operation: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, Error> {
        ready.await?;
        self.bounded(store, operation).await
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    /// Runs the read `attempt` within the table's bound, a second time when the first met a
    /// connection the server had dropped (a restart in a quiet second leaves every pooled
    /// connection so): a read is safe to repeat, and the second attempt's connection is
    /// pinged first. Writes are never repeated, since the first may have been applied.
    pub(crate) async fn read<T, F>(
        &self,
        store: &'static str,
        attempt: impl Fn() -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, sqlx::Error>>,
    {
        self.bounded(store, async {
            match attempt().await {
                Err(sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) => {
                    self.suspicion.raise();
                    attempt().await
                }
                other => other,
            }
        })
        .await
    }

    /// Makes the table ready with `prepare` unless it already is. `prepare(create)` creates
    /// the table when `create`, else lists what the schema lacks ("column id", …).
    ///
    /// # Errors
    /// The database failed, or the schema lacks something.
    pub(crate) async fn ensure<F>(
        &self,
        store: &'static str,
        prepare: impl FnOnce(bool) -> F,
    ) -> Result<(), Error>
    where
        F: Future<Output = Result<Vec<String>, sqlx::Error>>,
    {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        // Boxed: inline, the rare preparation's futures would size (and be copied with) every
        // operation's future, each request paying for kilobytes it never uses.
        let missing = self.bounded(store, Box::pin(prepare(self.create))).await?;
        if !missing.is_empty() {
            return Err(schema_mismatch(store, &self.name, &missing));
        }
        self.ready.store(true, Ordering::Release);
        Ok(())
    }
}

/// The columns the stores read and write.
pub(crate) const COLUMNS: [&str; 4] = ["id", "field", "value", "expires_at"];

/// A table name is one identifier, or on PostgreSQL `schema.table`: ASCII letters, digits and
/// `_`, not starting with a digit, at most 63 bytes each. It is put into SQL as it is.
///
/// # Errors
/// A message naming what is wrong with `name`.
pub(crate) fn check_table_name(name: &str, schema_allowed: bool) -> Result<(), String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 1 + usize::from(schema_allowed) {
        let what = if schema_allowed { "`table` or `schema.table`" } else { "one name" };
        return Err(format!("{name:?} must be {what}"));
    }
    for part in parts {
        let valid_start = part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        let valid = part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_start || !valid || part.len() > 63 {
            return Err(format!(
                "{name:?} may hold only ASCII letters, digits and `_`, not start with a digit, \
                 and be at most 63 characters a part"
            ));
        }
    }
    Ok(())
}

/// The table's name without its schema, for naming its index.
pub(crate) fn bare_name(table: &str) -> &str {
    table.rsplit('.').next().unwrap_or(table)
}

#[cfg(any(feature = "postgres", feature = "sqlite"))]
/// The DDL of `table` in a database whose byte and 64-bit integer types are `bytes` and
/// `integer`, the table ending in `options`: the rows, and a partial index over the headers'
/// expiry for cleanup.
pub(crate) fn ddl(table: &str, bytes: &str, integer: &str, options: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n    id TEXT NOT NULL,\n    field TEXT NOT NULL,\n    \
         value {bytes} NOT NULL,\n    expires_at {integer} NOT NULL,\n    PRIMARY KEY (id, field)\n){options};\n\
         CREATE INDEX IF NOT EXISTS {index}_expires_at ON {table} (expires_at) WHERE field = '';\n",
        index = bare_name(table)
    )
}

#[cfg(any(feature = "postgres", feature = "sqlite"))]
/// A statement a store keeps and clones into each operation's query: shared, so that the
/// clone counts a reference instead of copying the text (a `String` would be copied each
/// time).
pub(crate) fn statement(text: String) -> sqlx::SqlStr {
    use sqlx::SqlSafeStr;
    sqlx::AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

/// How long after a failure that may pass every connection is pinged before it is used.
const SUSPECT_FOR: Duration = Duration::from_secs(5);

/// Whether a store's connections may be dead: for a while after a failure (a server that
/// stopped or restarted leaves every pooled connection broken), each is pinged before use,
/// so that the dead ones are replaced before a request meets them.
#[derive(Debug, Default)]
pub(crate) struct Suspicion {
    until_ms: AtomicI64,
}

impl Suspicion {
    fn raise(&self) {
        self.until_ms.store(now_ms().saturating_add(millis(SUSPECT_FOR)), Ordering::Relaxed);
    }

    pub(crate) fn raised(&self) -> bool {
        now_ms() < self.until_ms.load(Ordering::Relaxed)
    }
}

/// The launch line of a store on a database server: `kind at host:port/database, table t`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn describe_server(
    kind: &str,
    (host, port, database): (&str, u16, Option<&str>),
    table: &str,
) -> String {
    let database = database.unwrap_or("(default database)");
    format!("{kind} at {host}:{port}/{database}, table {table}")
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, millis)
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A peek's answer from the rows of the sessions under `keys`, each `(id, field, value,
/// expires_at)`: per key, in order, its fields and how long its header has left, or `None`
/// where there is no live header or no field.
pub(crate) fn peeked(
    keys: &[String],
    rows: Vec<(String, String, Vec<u8>, i64)>,
) -> Vec<Option<Peeked>> {
    let now = now_ms();
    let mut found: HashMap<String, Vec<(String, Vec<u8>, i64)>> = HashMap::new();
    for (id, field, value, expires_at) in rows {
        found.entry(id).or_default().push((field, value, expires_at));
    }
    let live = |rows: Vec<_>| {
        let (record, expiry) = live_session(rows, now)?;
        let expires_in = Some(Duration::from_millis(u64::try_from(expiry - now).unwrap_or(0)));
        Some(Peeked { record: Arc::new(record), expires_in })
    };
    keys.iter().map(|key| found.remove(key).and_then(live)).collect()
}

/// The values of one session and its header's expiry, from its rows, each `(field, value,
/// expires_at)` with the header under the empty field name; `None` when no header is alive
/// at `now` or there is no value (a record without fields does not exist).
pub(crate) fn live_session(
    rows: impl IntoIterator<Item = (String, Vec<u8>, i64)>,
    now: i64,
) -> Option<(Record, i64)> {
    let mut record = Record::new();
    let mut expiry = None;
    for (field, value, expires_at) in rows {
        match field.is_empty() {
            true => expiry = Some(expires_at),
            false => drop(record.insert(field, value)),
        }
    }
    let expiry = expiry.filter(|at| *at > now)?;
    (!record.is_empty()).then_some((record, expiry))
}

/// The times one operation compares against, in Unix milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) now: i64,
    /// The expiry a write (or a touch) sets.
    pub(crate) expiry: i64,
    /// A touch is due when the expiry is before this (the last reset is a touch interval
    /// old), or after `expiry` (the lifetime got shorter).
    pub(crate) due_before: i64,
}

impl Times {
    pub(crate) fn for_ttl(ttl: Duration) -> Times {
        let now = now_ms();
        let expiry = now.saturating_add(millis(ttl));
        Times { now, expiry, due_before: expiry.saturating_sub(millis(touch_interval(ttl))) }
    }
}

/// Runs `operation` within `limit`; past it the store is unavailable.
pub(crate) async fn bounded<T>(
    store: &'static str,
    limit: Duration,
    operation: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, operation).await {
        Ok(result) => result.map_err(|error| classify(store, error)),
        Err(_) => Err(timed_out(store, limit)),
    }
}

/// What may pass with time (no connection, a full or read-only database, a lock held too
/// long) is unavailable, a 503; the rest is a backend failure.
pub(crate) fn classify(store: &'static str, error: sqlx::Error) -> Error {
    let passing = match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(database) => database_passes(store, &**database),
        _ => false,
    };
    match passing {
        true => Error::Unavailable { store, source: Box::new(error) },
        false => Error::Backend { store, source: Box::new(error) },
    }
}

fn database_passes(store: &str, error: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "mysql")]
    if let Some(error) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return mysql::passes(error.number());
    }
    error.code().is_some_and(|code| passes(store, &code))
}

/// Database error codes that mean "not now": PostgreSQL's SQLSTATE classes 08 (connection),
/// 53 (insufficient resources: disk full, too many connections), 57 (shutting down,
/// starting up), 40 (serialization, deadlock) and 25006 (read-only); SQLite's BUSY (5),
/// LOCKED (6), READONLY (8), IOERR (10), FULL (13) and their extended codes.
fn passes(store: &str, code: &str) -> bool {
    if store == "sqlite" {
        return code.parse::<u32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13));
    }
    ["08", "53", "57", "40"].iter().any(|class| code.starts_with(class)) || code == "25006"
}

#[cfg(feature = "postgres")]
/// Splits a record's values into parallel arrays of names and bytes, as the statements bind
/// them.
pub(crate) fn columns<'r>(
    values: impl IntoIterator<Item = (&'r String, &'r Vec<u8>)>,
) -> (Vec<&'r str>, Vec<&'r [u8]>) {
    values.into_iter().map(|(field, value)| (field.as_str(), value.as_slice())).unzip()
}

/// The launch check's message when the table is not as the stores need it.
fn schema_mismatch(store: &'static str, table: &str, missing: &[String]) -> Error {
    let message = format!(
        "the table `{table}` lacks {} (or does not exist); create it with the DDL \
         the store's `ddl()` returns (also shipped as `store/sql/{store}.sql`), or set \
         session_sql_create_table = true",
        missing.join(", ")
    );
    Error::Backend { store, source: message.into() }
}

/// The columns of [`COLUMNS`] that `present` lacks, each as "column name".
pub(crate) fn missing_columns(present: &[String]) -> Vec<String> {
    let missing = COLUMNS.iter().filter(|column| !present.iter().any(|p| p == *column));
    missing.map(|column| format!("column {column}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        assert!(check_table_name("sessions", false).is_ok());
        assert!(check_table_name("app.sessions", true).is_ok());
        assert!(check_table_name("app.sessions", false).is_err());
        assert!(check_table_name("a.b.c", true).is_err());
        assert!(check_table_name("1sessions", false).is_err());
        assert!(check_table_name("sessions; drop table x", false).is_err());
        assert!(check_table_name("", false).is_err());
        assert!(check_table_name(&"s".repeat(64), false).is_err());
    }

    #[test]
    fn errors_that_pass_with_time_are_told_apart() {
        let postgres = |code| passes("postgres", code);
        let sqlite = |code| passes("sqlite", code);
        assert!(postgres("08006") && postgres("53100") && postgres("57P01") && postgres("25006"));
        assert!(!postgres("42P01") && !postgres("23505") && !postgres("22001"));
        assert!(sqlite("5") && sqlite("517") && sqlite("13") && sqlite("8"));
        assert!(!sqlite("1") && !sqlite("19") && !sqlite("2067"));
    }
}
