//! PostgreSQL: every operation is one statement, so one round trip (a regeneration too);
//! the writes that must see the session alive lock its rows first, so a logout racing them
//! wins or waits, and is never undone.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, Postgres};
use sqlx::{AssertSqlSafe, Connection, SqlStr};

use super::framed::{live_values, Values};
use super::pool::{on_connection, Connections};
use super::{columns, ddl, missing_columns, peeked, SqlOptions, Table, Times, CLEANUP_BATCH};
use crate::store::fence::{too_late, ServerClock};
use crate::store::{Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore};

const STORE: &str = "postgres";

/// Sessions in PostgreSQL (`session_type = "postgres"`), one row per stored value.
///
/// A load is one `SELECT`, or with rolling expiry one statement that also moves the expiry
/// when it is due; every write is one statement: a create only where no live session is, an
/// update only where one still is, a regeneration that moves the rows to the new id unless
/// it is taken. Expired rows are never read and are deleted in the background, a thousand at
/// a time.
///
/// ```no_run
/// use rocket_typed_session::store::{PostgresStore, SqlOptions};
/// use rocket_typed_session::SessionFairing;
///
/// # async fn run() -> Result<(), sqlx::Error> {
/// // Like Flask-Session's `SESSION_SQLALCHEMY = db`: the application's own pool.
/// let pool = sqlx::PgPool::connect("postgres://app@db/app").await?;
/// let store = PostgresStore::new(pool, SqlOptions::default()).expect("a valid table name");
/// let fairing = SessionFairing::with_store(store);
/// # Ok(()) }
/// ```
pub struct PostgresStore {
    connections: Connections<Postgres>,
    statements: Statements,
    table: Table,
    server_clock: ServerClock,
}

impl PostgresStore {
    /// Sessions in the table `options.table` of the database `pool` reaches. The pool's own
    /// settings apply, `options.connections` aside; sqlx pings each connection as it returns
    /// to its pool, one more round trip per operation, which [`PostgresStore::open`]'s own
    /// connections save.
    ///
    /// # Errors
    /// The table name is not one or two plain identifiers.
    pub fn new(pool: PgPool, options: SqlOptions) -> Result<Self, String> {
        let table = Table::new(options, true)?;
        Ok(PostgresStore::on(Connections::Shared(pool), table))
    }

    fn on(connections: Connections<Postgres>, table: Table) -> Self {
        let statements = Statements::for_table(&table.name);
        PostgresStore { connections, statements, table, server_clock: ServerClock::new() }
    }

    /// Connects lazily to the database at `url`: a database that is down at launch does not
    /// stop the app, and sessions work once it answers.
    ///
    /// # Errors
    /// The URL cannot be parsed, or the table name is not one or two plain identifiers.
    pub fn open(url: &str, options: SqlOptions) -> Result<Self, String> {
        let connect: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let size = options.connections;
        let table = Table::new(options, true)?;
        let connections = Connections::own(connect, size, table.suspicion());
        Ok(PostgresStore::on(connections, table))
    }

    /// The statements that create the table `table`, its expiry index and the function
    /// `{table}_touch` a read calls to reset a session's expiry, for a migration tool of your
    /// own; `store/sql/postgres.sql` in the crate holds them for `sessions`.
    pub fn ddl(table: &str) -> String {
        // A read stays a plain `SELECT` that calls this only when the expiry is due:
        // PostgreSQL runs any statement holding an `UPDATE` through a heavier path, about a
        // third more server time on every read, whether or not a row moves.
        let touch = format!(
            "CREATE OR REPLACE FUNCTION {table}_touch(session_key TEXT, now_ms BIGINT, \
             new_expiry BIGINT)\nRETURNS BOOLEAN LANGUAGE sql VOLATILE AS $$\n    \
             WITH moved AS (UPDATE {table} SET expires_at = new_expiry\n        \
             WHERE id = session_key AND field = '' AND expires_at - now_ms > 0 RETURNING 1)\n    \
             SELECT EXISTS (SELECT 1 FROM moved)\n$$;\n"
        );
        ddl(table, "BYTEA", "BIGINT", "") + &touch
    }

    async fn ready(&self) -> Result<(), Error> {
        self.table
            .ensure(STORE, |create| async move {
                match create {
                    true => self.create_schema().await.map(|()| Vec::new()),
                    false => self.missing_schema().await,
                }
            })
            .await
    }

    /// Creates the table and index in one transaction, serialized by an advisory lock so that
    /// instances starting together do not collide.
    async fn create_schema(&self) -> Result<(), sqlx::Error> {
        let name = &self.table.name;
        on_connection!(self.connections, |connection| async move {
            let mut transaction = connection.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(name)
                .execute(&mut *transaction)
                .await?;
            sqlx::raw_sql(AssertSqlSafe(PostgresStore::ddl(name)))
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await
        })
        .await
    }

    /// The columns and the touch function that the schema lacks.
    async fn missing_schema(&self) -> Result<Vec<String>, sqlx::Error> {
        let (schema, table) = match self.table.name.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, self.table.name.as_str()),
        };
        let columns = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2",
        )
        .bind(schema)
        .bind(table);
        let present: Vec<String> =
            on_connection!(self.connections, |c| columns.fetch_all(c)).await?;
        let touch = format!("{}_touch", self.table.name);
        let function =
            sqlx::query_scalar("SELECT to_regprocedure($1 || '(text,bigint,bigint)') IS NOT NULL")
                .bind(&touch);
        let defined: bool = on_connection!(self.connections, |c| function.fetch_one(c)).await?;
        let mut missing = missing_columns(&present);
        if !defined {
            missing.push(format!("function {touch}"));
        }
        Ok(missing)
    }

    /// A read (rolling when `touch`) that also brings back the server's time, which the
    /// clock takes in.
    async fn load_sampling_the_clock(
        &self,
        key: &str,
        touch: bool,
        times: &Times,
    ) -> Result<Option<Loaded>, Error> {
        let (expires_at, values, moved, server_ms): (
            Option<i64>,
            Option<Values>,
            Option<bool>,
            i64,
        ) = self
            .table
            .read(STORE, || {
                let query = match touch {
                    true => touching(self.statements.load_touching_clocked.clone(), key, times),
                    false => sqlx::query_as(self.statements.load_clocked.clone()).bind(key),
                };
                on_connection!(self.connections, |c| query.fetch_one(c))
            })
            .await?;
        self.server_clock.observe(server_ms);
        Ok(record_of((expires_at, values, moved), times.now))
    }

    /// After a save under `deadline` that found no live session to write to: an error when
    /// the session is alive after all, so the save was refused as too late, which the request
    /// must not read as a session that ended. A save without a deadline cannot be too late.
    async fn fail_if_too_late(&self, key: &str, deadline: i64, now: i64) -> Result<(), Error> {
        if deadline == 0 {
            return Ok(());
        }
        let query = sqlx::query_scalar(self.statements.alive.clone()).bind(key).bind(now);
        let alive: bool = self
            .table
            .run(STORE, self.ready(), on_connection!(self.connections, |c| query.fetch_one(c)))
            .await?;
        match alive {
            true => Err(too_late(STORE)),
            false => Ok(()),
        }
    }

    async fn fetch_count<'q>(
        &self,
        query: sqlx::query::QueryScalar<'q, Postgres, i64, PgArguments>,
    ) -> Result<i64, Error> {
        self.table
            .run(STORE, self.ready(), on_connection!(self.connections, |c| query.fetch_one(c)))
            .await
    }
}

/// The statements for one table, built once.
struct Statements {
    load: SqlStr,
    load_clocked: SqlStr,
    load_touching: SqlStr,
    load_touching_clocked: SqlStr,
    create: SqlStr,
    update: SqlStr,
    update_setting: SqlStr,
    delete: SqlStr,
    regenerate: SqlStr,
    cleanup: SqlStr,
    peek: SqlStr,
    alive: SqlStr,
}

impl Statements {
    fn for_table(t: &str) -> Statements {
        let sql = super::statement;
        // A session's own rows compare their expiry through a difference, which no index
        // serves: as a plain `expires_at > $2`, PostgreSQL's generic plan for a table without
        // statistics yet (a new deployment's) can pick the expiry index over the primary key
        // and scan every live session's header to find one. Only the cleanup scans by expiry.
        let live = |id: &str, now: &str| {
            format!("SELECT 1 FROM {t} WHERE id = {id} AND field = '' AND expires_at - {now} > 0")
        };
        // A read names its session through a subquery, whose value the planner does not
        // look at: sessions of a few values and of a hundred make the rows per id uneven, and
        // a plan made for the id at hand then looks so much cheaper than the general one
        // that PostgreSQL plans every read anew (60 us of planning for 12 of execution).
        let key = "id = (SELECT $1::text)";
        // Each value as `<bytes>:<field><bytes>:<value>`, the lengths in UTF-8 bytes whatever
        // the database's encoding.
        let values = "string_agg(CASE WHEN field <> '' THEN \
            convert_to(octet_length(convert_to(field, 'UTF8')) || ':' || field \
            || octet_length(value) || ':', 'UTF8') || value END, ''::bytea)";
        // The header's expiry moves when the new one is earlier or the old one is older than
        // the touch interval.
        let due = |expiry: &str, due_before: &str| {
            format!("(expires_at - {expiry} > 0 OR {due_before} - expires_at > 0)")
        };
        // Writes the values $4, $5 under $1 where `condition` holds, replacing rows of the
        // same fields.
        let put = |condition: &str| {
            format!(
                "put AS (INSERT INTO {t} AS s (id, field, value, expires_at) \
                 SELECT $1, f.field, f.value, 0 FROM unnest($4::text[], $5::bytea[]) AS f(field, value) \
                 WHERE {condition} ON CONFLICT (id, field) DO UPDATE SET value = EXCLUDED.value)"
            )
        };
        let load_touching = |clock: &str| {
            format!(
                "SELECT max(expires_at), {values}, bool_or(CASE WHEN field = '' \
                   AND expires_at - $2 > 0 AND {due} THEN {t}_touch(id, $2, $3) ELSE false END)\
                   {clock} \
                 FROM {t} WHERE {key}",
                due = due("$3", "$4")
            )
        };
        // A save that carries a deadline (`$n`, the server's Unix milliseconds; 0 for none)
        // writes nothing past it. Checked once the session's header is locked, so that a
        // save that waited on a lock past its deadline writes nothing either.
        let in_time = |n: &str| {
            format!(
                "({n} = 0 OR clock_timestamp() <= 'epoch'::timestamptz + {n} * interval '1 ms')"
            )
        };
        // About once a second a read also brings back the server's time, for the saves'
        // deadlines (see `fence.rs`).
        let clock = ", (extract(epoch FROM clock_timestamp()) * 1000)::bigint";
        let load = |clock: &str| {
            format!("SELECT max(expires_at), {values}, false{clock} FROM {t} WHERE {key}")
        };
        Statements {
            // One row however many values (see `framed.rs`): the header's expiry (value rows
            // hold 0, so it is the largest, and no row gives NULL) and the values framed.
            load: sql(load("")),
            load_clocked: sql(load(clock)),
            // The header of a live session whose expiry is due moves (the values stay where
            // they are), through the function, so that the statement stays a plain read.
            load_touching: sql(load_touching("")),
            load_touching_clocked: sql(load_touching(clock)),
            // Rows an expired session left behind are replaced or deleted.
            create: sql(format!(
                "WITH live AS ({}), \
                 stale AS (DELETE FROM {t} WHERE id = $1 AND field <> '' \
                   AND NOT (field = ANY($4)) AND NOT EXISTS (SELECT 1 FROM live)), \
                 head AS (INSERT INTO {t} AS s (id, field, value, expires_at) \
                   SELECT $1, '', '', $3 WHERE NOT EXISTS (SELECT 1 FROM live) \
                   ON CONFLICT (id, field) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                     WHERE s.expires_at <= $2 \
                   RETURNING 1), \
                 {put} \
                 SELECT count(*) FROM head",
                live("$1", "$2"),
                put = put("NOT EXISTS (SELECT 1 FROM live)")
            )),
            // `live` locks the header: a logout deleting the session waits, or has won. The
            // header goes when the last value does, as a record without fields ends.
            update: sql(format!(
                "WITH live AS (SELECT 1 FROM ({} FOR UPDATE) AS locked WHERE {in_time}), \
                 emptied AS (SELECT cardinality($4::text[]) = 0 AND NOT EXISTS (SELECT 1 FROM {t} \
                   WHERE id = $1 AND field <> '' AND NOT (field = ANY($6))) AS yes), \
                 head AS (UPDATE {t} SET expires_at = $3 WHERE id = $1 AND field = '' \
                   AND EXISTS (SELECT 1 FROM live) AND NOT (SELECT yes FROM emptied) \
                   AND {due}), \
                 gone AS (DELETE FROM {t} WHERE id = $1 AND EXISTS (SELECT 1 FROM live) \
                   AND (field = ANY($6) OR (field = '' AND (SELECT yes FROM emptied)))), \
                 {put} \
                 SELECT count(*) FROM live",
                live("$1", "$2"),
                in_time = in_time("$8"),
                due = due("$3", "$7"),
                put = put("EXISTS (SELECT 1 FROM live)")
            )),
            // The common save, values set and none removed: no record can end, so one
            // `INSERT` does it, without the scaffolding of the general update's CTEs (a third of
            // the server's instructions per save). The subquery locks the header before its
            // projection runs, so a logout waits or has won, and the touch function moves the
            // expiry only when it is due; a dead session yields NULL, and nothing is written.
            update_setting: sql(format!(
                "INSERT INTO {t} AS s (id, field, value, expires_at) \
                 SELECT $1, f.field, f.value, 0 FROM unnest($4::text[], $5::bytea[]) AS f(field, value) \
                 WHERE (SELECT CASE WHEN {due} THEN {t}_touch($1, $2, $3) ELSE true END \
                   FROM (SELECT expires_at FROM {t} WHERE id = $1 AND field = '' \
                     AND expires_at - $2 > 0 FOR UPDATE) AS live WHERE {in_time}) \
                 ON CONFLICT (id, field) DO UPDATE SET value = EXCLUDED.value",
                due = due("$3", "$6"),
                in_time = in_time("$7"),
            )),
            delete: sql(format!(
                "WITH gone AS (DELETE FROM {t} WHERE id = $1 RETURNING field, expires_at) \
                 SELECT count(*) FROM gone WHERE field = '' AND expires_at > $2"
            )),
            regenerate: sql(format!(
                "WITH taken AS ({}), \
                 live AS (SELECT 1 FROM ({} AND NOT EXISTS (SELECT 1 FROM taken) FOR UPDATE) \
                   AS locked WHERE {in_time}), \
                 moved AS (DELETE FROM {t} WHERE id = $1 AND EXISTS (SELECT 1 FROM live) \
                   RETURNING field, value), \
                 put AS (INSERT INTO {t} AS s (id, field, value, expires_at) \
                   SELECT $2, r.field, r.value, CASE WHEN r.field = '' THEN $4 ELSE 0 END FROM ( \
                     SELECT field, value FROM moved \
                       WHERE NOT (field = ANY($7)) AND NOT (field = ANY($5)) \
                     UNION ALL SELECT f.field, f.value \
                       FROM unnest($5::text[], $6::bytea[]) AS f(field, value) \
                       WHERE EXISTS (SELECT 1 FROM live)) AS r \
                   ON CONFLICT (id, field) DO UPDATE SET value = EXCLUDED.value, \
                     expires_at = EXCLUDED.expires_at) \
                 SELECT (SELECT count(*) FROM taken), (SELECT count(*) FROM live)",
                live("$2", "$3"),
                live("$1", "$3"),
                in_time = in_time("$8"),
            )),
            cleanup: sql(format!(
                "DELETE FROM {t} WHERE id IN \
                   (SELECT id FROM {t} WHERE field = '' AND expires_at <= $1 LIMIT $2)"
            )),
            peek: sql(format!("SELECT id, field, value, expires_at FROM {t} WHERE id = ANY($1)")),
            // Whether a save that wrote nothing found the session alive: then it was too late.
            alive: sql(format!("SELECT EXISTS ({})", live("$1", "$2"))),
        }
    }
}

/// A loaded session: its expiry and values, and whether this read moved the expiry.
type Row = (Option<i64>, Option<Values>, Option<bool>);

/// A rolling read of `key`, into `R`.
fn touching<'q, R>(
    statement: SqlStr,
    key: &'q str,
    times: &Times,
) -> sqlx::query::QueryAs<'q, Postgres, R, PgArguments>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as(statement).bind(key).bind(times.now).bind(times.expiry).bind(times.due_before)
}

/// The session `row` holds if its header is alive at `now` and it has values.
fn record_of((expires_at, values, moved): Row, now: i64) -> Option<Loaded> {
    let (record, _) = live_values((expires_at, values), now)?;
    Some(Loaded { record: Arc::new(record), expiry_reset: moved == Some(true) })
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let times = Times::for_ttl(touch.unwrap_or_default());
        self.ready().await?;
        if self.server_clock.wants_sample() {
            return self.load_sampling_the_clock(key, touch.is_some(), &times).await;
        }
        let row: Row = self
            .table
            .read(STORE, || {
                let query = match touch {
                    None => sqlx::query_as(self.statements.load.clone()).bind(key),
                    Some(_) => touching(self.statements.load_touching.clone(), key, &times),
                };
                on_connection!(self.connections, |c| query.fetch_one(c))
            })
            .await?;
        Ok(record_of(row, times.now))
    }

    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        self.ready().await?;
        let rows = self
            .table
            .read(STORE, || {
                let query = sqlx::query_as(self.statements.peek.clone()).bind(keys);
                on_connection!(self.connections, |c| query.fetch_all(c))
            })
            .await?;
        Ok(peeked(keys, rows))
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let times = Times::for_ttl(ttl);
        let (names, values) = columns(fields);
        let query = sqlx::query_scalar(self.statements.create.clone())
            .bind(key)
            .bind(times.now)
            .bind(times.expiry)
            .bind(names)
            .bind(values);
        let created = self.fetch_count(query).await?;
        Ok(created > 0)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let times = Times::for_ttl(ttl);
        let deadline = self.server_clock.deadline(self.table.timeout);
        let (names, values) = columns(&changes.set);
        let wrote = if changes.remove.is_empty() && !changes.set.is_empty() {
            // Every value is written where the session is alive, none where it is not.
            let query = sqlx::query(self.statements.update_setting.clone())
                .bind(key)
                .bind(times.now)
                .bind(times.expiry)
                .bind(names)
                .bind(values)
                .bind(times.due_before)
                .bind(deadline);
            let done = self
                .table
                .run(STORE, self.ready(), on_connection!(self.connections, |c| query.execute(c)))
                .await?;
            done.rows_affected() > 0
        } else {
            let removed: Vec<&str> = changes.remove.iter().map(String::as_str).collect();
            let query = sqlx::query_scalar(self.statements.update.clone())
                .bind(key)
                .bind(times.now)
                .bind(times.expiry)
                .bind(names)
                .bind(values)
                .bind(removed)
                .bind(times.due_before)
                .bind(deadline);
            self.fetch_count(query).await? > 0
        };
        if !wrote {
            self.fail_if_too_late(key, deadline, times.now).await?;
        }
        Ok(wrote)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let query =
            sqlx::query_scalar(self.statements.delete.clone()).bind(key).bind(super::now_ms());
        Ok(self.fetch_count(query).await? > 0)
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        let times = Times::for_ttl(ttl);
        let deadline = self.server_clock.deadline(self.table.timeout);
        let (names, values) = columns(&changes.set);
        let removed: Vec<&str> = changes.remove.iter().map(String::as_str).collect();
        let query = sqlx::query_as(self.statements.regenerate.clone())
            .bind(old)
            .bind(new)
            .bind(times.now)
            .bind(times.expiry)
            .bind(names)
            .bind(values)
            .bind(removed)
            .bind(deadline);
        let (taken, live): (i64, i64) = self
            .table
            .run(STORE, self.ready(), on_connection!(self.connections, |c| query.fetch_one(c)))
            .await?;
        Ok(match (taken, live) {
            (0, 0) => {
                self.fail_if_too_late(old, deadline, times.now).await?;
                Regenerated::SourceGone
            }
            (0, _) => Regenerated::Moved,
            _ => Regenerated::TargetTaken,
        })
    }

    async fn cleanup(&self) -> Result<(), Error> {
        self.ready().await?;
        loop {
            let query = sqlx::query(self.statements.cleanup.clone())
                .bind(super::now_ms())
                .bind(CLEANUP_BATCH);
            let deleted = self
                .table
                .bounded(STORE, on_connection!(self.connections, |c| query.execute(c)))
                .await?;
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
        super::describe_server("PostgreSQL", server, &self.table.name)
    }

    async fn ping(&self) -> Option<Result<(), Error>> {
        Some(self.ready().await)
    }
}
