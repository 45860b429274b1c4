//! Redis and Redis Cluster: one hash per session, native expiry, one round trip per operation.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{
    self, aio::MultiplexedConnection, AsyncConnectionConfig, ErrorKind, FromRedisValue, RedisError,
    RedisFuture, Script, ServerErrorKind,
};
use deadpool_redis::{cluster, sentinel, Runtime};

use super::{touch_interval, Changes, Error, Loaded, Record, Regenerated, SessionStore};

const STORE: &str = "redis";

/// Settings for a [`RedisStore`] built from URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// How many multiplexed connections requests are spread over (`session_redis_pool_size`).
    pub connections: usize,
    /// The most one store operation, and one request's store work, may take, from waiting
    /// for a connection to the reply (`session_redis_timeout`); past it the operation fails
    /// as unavailable.
    pub timeout: Duration,
    /// How many replicas must hold each write before it counts as done
    /// (`session_redis_wait_replicas`); 0 does not wait.
    pub wait_replicas: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions { connections: 4, timeout: Duration::from_secs(1), wait_replicas: 0 }
    }
}

/// Sessions in Redis (`session_type = "redis"`), Redis Cluster (`"redis_cluster"`) or the
/// master Redis Sentinels name (`"redis_sentinel"`).
///
/// Each session is one hash under its storage key, one hash field per stored value, with the
/// session's idle timeout as the key's TTL. A load is one `HGETALL`, or for rolling expiry one
/// Lua script that also resets the TTL when it is due (see
/// [`touch_interval`](super::touch_interval)); every write is one Lua script that creates only
/// if absent or updates only if present, so a session deleted by a logout or by expiry is
/// never brought back.
/// Every command touches one key, so nothing is cross-slot in a cluster; there `regenerate`
/// takes three steps (read the old record, create the new key, delete the old), elsewhere one.
///
/// Connections come from a deadpool-redis pool, and are multiplexed: each carries many
/// concurrent requests, so a store operation never waits for a free connection and never
/// pays a health-check round trip. A connection that fails is dropped and replaced on the
/// next operation, so the store recovers by itself once Redis is back. Every operation is
/// bounded by [`RedisOptions::timeout`]; a store that cannot answer in time is
/// [`Error::Unavailable`], which the request sees as a 503.
///
/// ```no_run
/// use rocket_typed_session::store::RedisStore;
/// use rocket_typed_session::SessionFairing;
///
/// // Like Flask-Session's `RedisSessionInterface(client=...)`: a pool built in code.
/// let pool = deadpool_redis::Config::from_url("redis://127.0.0.1:6379")
///     .create_pool(Some(deadpool_redis::Runtime::Tokio1))
///     .expect("a valid URL");
/// let fairing = SessionFairing::with_store(RedisStore::new(pool));
/// ```
pub struct RedisStore {
    source: Source,
    slots: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
    timeout: Duration,
    wait_replicas: u32,
}

enum Source {
    Single(deadpool_redis::Pool),
    Cluster(cluster::Pool),
    /// The master the Sentinels name, asked again whenever a connection is replaced.
    Sentinel(sentinel::Pool),
}

#[derive(Clone)]
enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl RedisStore {
    /// Sessions in the Redis server `pool` connects to, with default options.
    pub fn new(pool: deadpool_redis::Pool) -> Self {
        RedisStore::from_source(Source::Single(pool), RedisOptions::default())
    }

    /// Sessions in the Redis Cluster `pool` connects to, with default options.
    pub fn cluster(pool: cluster::Pool) -> Self {
        RedisStore::from_source(Source::Cluster(pool), RedisOptions::default())
    }

    /// Connects lazily to the server at `url` (`redis://`, `rediss://` or `unix://`): a
    /// server that is down at launch does not stop the app, sessions work once it is up.
    ///
    /// # Errors
    /// The URL cannot be parsed.
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, RedisError> {
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout));
        let manager = deadpool_redis::Manager::new_with_config(url, connection)?;
        let pool = pooled(deadpool_redis::Pool::builder(manager), options);
        Ok(RedisStore::from_source(Source::Single(pool), options))
    }

    /// Connects lazily to the cluster whose seed nodes are `urls`.
    ///
    /// # Errors
    /// A URL cannot be parsed.
    pub fn open_cluster(urls: &[String], options: RedisOptions) -> Result<Self, RedisError> {
        let manager = cluster::Manager::new(urls.to_vec(), false)?;
        let pool = pooled(cluster::Pool::builder(manager), options);
        Ok(RedisStore::from_source(Source::Cluster(pool), options))
    }

    /// Connects lazily to the master that the Sentinels at `urls` name for the set `master`,
    /// with default connection settings (no password, no TLS, database 0). After a failover
    /// an operation that meets the old master (gone, or now a read-only replica) drops the
    /// connections and is tried once more on a fresh one, which asks the Sentinels again.
    ///
    /// # Errors
    /// A URL cannot be parsed.
    pub fn open_sentinel(
        urls: &[String],
        master: &str,
        options: RedisOptions,
    ) -> Result<Self, RedisError> {
        let manager = sentinel::Manager::new(
            urls.to_vec(),
            master.to_owned(),
            None,
            sentinel::SentinelServerType::Master,
        )?;
        let pool = pooled(sentinel::Pool::builder(manager), options);
        Ok(RedisStore::from_source(Source::Sentinel(pool), options))
    }

    /// Bounds every operation by `timeout` instead of the default second.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn from_source(source: Source, options: RedisOptions) -> Self {
        let slots = (0..options.connections.max(1)).map(|_| Mutex::new(None)).collect();
        RedisStore {
            source,
            slots,
            next: AtomicUsize::new(0),
            timeout: options.timeout,
            wait_replicas: options.wait_replicas,
        }
    }

    fn is_cluster(&self) -> bool {
        matches!(self.source, Source::Cluster(_))
    }

    /// Runs `op` within the timeout. A kept connection found broken (the server restarted,
    /// say) is replaced and `op` tried once more on a fresh one; the operations are
    /// conditional, so a second try never does twice what the first did.
    async fn run<T: FromRedisValue>(&self, request: &Request) -> Result<T, Error> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let attempts = async {
            let (mut connection, kept) = self.connection(slot).await?;
            match request.send(&mut connection).await {
                // A master demoted by a failover refuses writes; a fresh connection may reach
                // the new one. Nothing was written, so trying again is safe.
                Err(error) if kept && (is_broken_connection(&error) || is_read_only(&error)) => {
                    self.forget_connections();
                    let (mut connection, _) = self.connection(slot).await?;
                    request.send(&mut connection).await.map_err(classify)
                }
                result => result.map_err(classify),
            }
        };
        let result = match tokio::time::timeout(self.timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(TimedOut(self.timeout))),
        };
        // A single server that stopped answering is reconnected from scratch. A cluster
        // connection is kept: it reaches every node, follows failovers by itself, and
        // rebuilding it would wait on the one node that is down.
        if matches!(result, Err(Error::Unavailable { .. })) && !self.is_cluster() {
            self.forget_connections();
        }
        result
    }

    /// Runs a write; with `wait_replicas` set, `WAIT` follows it in the same pipeline and a
    /// write fewer replicas acknowledged in time fails as unavailable.
    async fn write<T: FromRedisValue>(&self, write: Call) -> Result<T, Error> {
        if self.wait_replicas == 0 {
            return self.run(&Request::One(write)).await;
        }
        let wait = Wait { replicas: self.wait_replicas, within: self.timeout / 2 };
        let (value, acknowledged): (T, u32) = self.run(&Request::Replicated(write, wait)).await?;
        if acknowledged < wait.replicas {
            return Err(unavailable(NotReplicated { acknowledged, wait }));
        }
        Ok(value)
    }

    /// Drops every kept connection: what broke one usually broke all.
    fn forget_connections(&self) {
        for slot in &self.slots {
            *lock(slot) = None;
        }
    }

    /// A connection for `slot`, and whether it was kept from earlier use.
    async fn connection(
        &self,
        slot: &Mutex<Option<Connection>>,
    ) -> Result<(Connection, bool), Error> {
        if let Some(connection) = lock(slot).clone() {
            return Ok((connection, true));
        }
        // Taken out of the pool: a multiplexed connection is shared, not checked out per use.
        let connection = match &self.source {
            Source::Single(pool) => Connection::Single(deadpool_redis::Connection::take(
                pool.get().await.map_err(pool_error)?,
            )),
            Source::Cluster(pool) => Connection::Cluster(cluster::Connection::take(
                pool.get().await.map_err(pool_error)?,
            )),
            Source::Sentinel(pool) => Connection::Single(sentinel::Connection::take(
                pool.get().await.map_err(pool_error)?,
            )),
        };
        *lock(slot) = Some(connection.clone());
        Ok((connection, false))
    }
}

fn pooled<M, W>(
    builder: deadpool::managed::PoolBuilder<M, W>,
    options: RedisOptions,
) -> deadpool::managed::Pool<M, W>
where
    M: deadpool::managed::Manager,
    W: From<deadpool::managed::Object<M>>,
{
    builder
        .max_size(options.connections.max(1))
        .wait_timeout(Some(options.timeout))
        .create_timeout(Some(options.timeout))
        .recycle_timeout(Some(options.timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .expect("a pool with a runtime and timeouts always builds")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms. 1 and the fields
/// if the TTL was reset, 0 and the fields if it was left alone: when it was set to this ttl
/// within the interval, or when there is no record (no fields).
const READ_TOUCHING: &str = r"
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {0, fields} end
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left <= ttl and left >= ttl - tonumber(ARGV[2]) then return {0, fields} end
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, fields}
";

/// KEYS[1] = key; ARGV[1] = ttl in ms, then field, value pairs. 1 if created, 0 if it existed.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = n, then n field, value pairs to set, then
/// fields to delete. 1 if updated, 0 if the key was gone (nothing written).
const UPDATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last_set = 2 + 2 * tonumber(ARGV[2])
for i = 3, last_set, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// KEYS[1] = old, KEYS[2] = new; ARGV as for UPDATE. 1 moved, 0 old gone, 2 new taken.
const REGENERATE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
local last_set = 2 + 2 * tonumber(ARGV[2])
for i = 3, last_set, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
";

/// A Lua script: its source, and the SHA-1 `EVALSHA` names it by.
struct Lua {
    source: &'static str,
    sha: String,
}

struct Scripts {
    read_touching: Lua,
    create: Lua,
    update: Lua,
    regenerate: Lua,
}

fn scripts() -> &'static Scripts {
    static SCRIPTS: std::sync::OnceLock<Scripts> = std::sync::OnceLock::new();
    let lua = |source| Lua { source, sha: Script::new(source).get_hash().to_owned() };
    SCRIPTS.get_or_init(|| Scripts {
        read_touching: lua(READ_TOUCHING),
        create: lua(CREATE),
        update: lua(UPDATE),
        regenerate: lua(REGENERATE),
    })
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A call of one of the scripts: `EVALSHA` with its keys and arguments, encoded once, as it
/// is sent.
struct ScriptCall {
    lua: &'static Lua,
    evalsha: redis::Cmd,
}

impl ScriptCall {
    fn new(lua: &'static Lua, keys: &[&str], ttl: Duration) -> ScriptCall {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(&lua.sha).arg(keys.len()).arg(keys).arg(millis(ttl));
        ScriptCall { lua, evalsha }
    }

    fn arg(&mut self, arg: impl redis::ToRedisArgs) -> &mut Self {
        self.evalsha.arg(arg);
        self
    }

    /// The same call as `EVAL` with the whole script: what a node that does not know the
    /// script yet (first use, a restart, a failover) gets instead. Both route by the same
    /// key, so the fallback reaches the node that refused, unlike a `SCRIPT LOAD`.
    fn by_source(&self) -> redis::Cmd {
        let mut eval = redis::cmd("EVAL");
        eval.arg(self.lua.source);
        // Past `EVALSHA` and the digest, the arguments are the same.
        for arg in self.evalsha.args_iter().skip(2) {
            if let redis::Arg::Simple(bytes) = arg {
                eval.arg(bytes);
            }
        }
        eval
    }
}

/// One round trip to Redis, built before it is sent so that it can be sent again.
enum Request {
    One(Call),
    /// A write followed by `WAIT`; the reply is the write's and the replicas that acknowledged.
    Replicated(Call, Wait),
}

/// A command, or a call of one of the scripts.
enum Call {
    Script(ScriptCall),
    Command(redis::Cmd),
}

impl Call {
    /// The command to send; with `by_source`, a script call as `EVAL` (see
    /// [`ScriptCall::by_source`]).
    fn command(&self, by_source: bool) -> Cow<'_, redis::Cmd> {
        match self {
            Call::Script(call) if by_source => Cow::Owned(call.by_source()),
            Call::Script(call) => Cow::Borrowed(&call.evalsha),
            Call::Command(command) => Cow::Borrowed(command),
        }
    }
}

/// `WAIT replicas within`.
#[derive(Debug, Clone, Copy)]
struct Wait {
    replicas: u32,
    within: Duration,
}

impl Request {
    /// Sends the request; a script the node does not know is sent again by source.
    async fn send<T: FromRedisValue>(&self, connection: &mut Connection) -> Result<T, RedisError> {
        match self.send_as(false, connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.send_as(true, connection).await
            }
            result => result,
        }
    }

    async fn send_as<T: FromRedisValue>(
        &self,
        by_source: bool,
        connection: &mut Connection,
    ) -> Result<T, RedisError> {
        match self {
            Request::One(call) => call.command(by_source).query_async(connection).await,
            Request::Replicated(write, wait) => {
                let mut pipeline = redis::pipe();
                pipeline.add_command(write.command(by_source).into_owned());
                pipeline.cmd("WAIT").arg(wait.replicas).arg(millis(wait.within));
                pipeline.query_async(connection).await
            }
        }
    }
}

/// `HGETALL key`.
fn read_request(key: &str) -> Request {
    let mut command = redis::cmd("HGETALL");
    command.arg(key);
    Request::One(Call::Command(command))
}

/// READ_TOUCHING on `key`.
fn read_touching_request(key: &str, ttl: Duration) -> Request {
    let mut call = ScriptCall::new(&scripts().read_touching, &[key], ttl);
    call.arg(millis(touch_interval(ttl)));
    Request::One(Call::Script(call))
}

fn create_request(key: &str, fields: &Record, ttl: Duration) -> Call {
    let mut call = ScriptCall::new(&scripts().create, &[key], ttl);
    for (field, value) in fields {
        call.arg(field.as_str()).arg(value.as_slice());
    }
    Call::Script(call)
}

/// `DEL key`; its reply is how many keys it deleted.
fn delete_request(key: &str) -> Call {
    let mut command = redis::cmd("DEL");
    command.arg(key);
    Call::Command(command)
}

/// UPDATE on `keys[0]`, or REGENERATE from `keys[0]` to `keys[1]`: both take the changes.
fn change_request(lua: &'static Lua, keys: &[&str], changes: &Changes, ttl: Duration) -> Call {
    let mut call = ScriptCall::new(lua, keys, ttl);
    call.arg(changes.set.len());
    for (field, value) in &changes.set {
        call.arg(field.as_str()).arg(value.as_slice());
    }
    for field in &changes.remove {
        call.arg(field.as_str());
    }
    Call::Script(call)
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let (reset, record): (i64, Record) = match touch {
            Some(ttl) => self.run(&read_touching_request(key, ttl)).await?,
            None => (0, self.run(&read_request(key)).await?),
        };
        Ok((!record.is_empty()).then_some(Loaded { record, expiry_reset: reset == 1 }))
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let created: i64 = self.write(create_request(key, fields, ttl)).await?;
        Ok(created == 1)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let updated: i64 =
            self.write(change_request(&scripts().update, &[key], changes, ttl)).await?;
        Ok(updated == 1)
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.write(delete_request(key)).await
    }

    /// `session_redis_timeout` bounds a whole request's Redis work, not only each operation.
    fn request_time_limit(&self) -> Option<Duration> {
        Some(self.timeout)
    }

    async fn regenerate(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        if self.is_cluster() {
            return self.regenerate_across_slots(old, new, changes, ttl).await;
        }
        let request = change_request(&scripts().regenerate, &[old, new], changes, ttl);
        Ok(match self.write::<i64>(request).await? {
            1 => Regenerated::Moved,
            2 => Regenerated::TargetTaken,
            _ => Regenerated::SourceGone,
        })
    }
}

impl RedisStore {
    /// Two keys rarely share a cluster slot, so this copies, then deletes: read the old
    /// record, create the new key, delete the old one. Each step is bounded by the timeout
    /// and a failure at any step leaves the old session whole (a new key left behind by a
    /// failed last step expires unused). If the old key vanished meanwhile (a logout in
    /// another tab), the copy is deleted too: a logout always wins.
    async fn regenerate_across_slots(
        &self,
        old: &str,
        new: &str,
        changes: &Changes,
        ttl: Duration,
    ) -> Result<Regenerated, Error> {
        let Some(Loaded { mut record, .. }) = self.load(old, None).await? else {
            return Ok(Regenerated::SourceGone);
        };
        changes.apply_to(&mut record);
        if !record.is_empty() && !self.create(new, &record, ttl).await? {
            return Ok(Regenerated::TargetTaken);
        }
        if self.write::<i64>(delete_request(old)).await? == 0 {
            self.delete(new).await?;
            return Ok(Regenerated::SourceGone);
        }
        Ok(Regenerated::Moved)
    }
}

/// A write reached fewer replicas than `session_redis_wait_replicas` asks for in time.
#[derive(Debug, thiserror::Error)]
#[error(
    "the write reached {acknowledged} of {} replicas within {:?}",
    wait.replicas,
    wait.within
)]
struct NotReplicated {
    acknowledged: u32,
    wait: Wait,
}

/// The store timed out; the message gives the bound that was exceeded.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0:?}")]
struct TimedOut(Duration);

fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Unavailable { store: STORE, source: Box::new(source) }
}

fn pool_error(error: deadpool_redis::PoolError) -> Error {
    match error {
        deadpool_redis::PoolError::Backend(error) => classify(error),
        other => unavailable(other),
    }
}

fn is_read_only(error: &RedisError) -> bool {
    error.code() == Some("READONLY") || error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

fn is_broken_connection(error: &RedisError) -> bool {
    error.is_connection_dropped() || error.is_io_error() || error.is_unrecoverable_error()
}

/// Sorts a Redis error: what may pass with time is unavailable (a 503), a reply of the wrong
/// shape is a decode error, the rest a backend failure.
fn classify(error: RedisError) -> Error {
    let transient_code = matches!(
        error.code(),
        Some(
            "OOM"
                | "LOADING"
                | "READONLY"
                | "MASTERDOWN"
                | "BUSY"
                | "NOAUTH"
                | "WRONGPASS"
                | "MISCONF"
        )
    );
    let transient = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_cluster_error()
        || error.is_unrecoverable_error()
        || transient_code
        || matches!(
            error.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        );
    if transient {
        unavailable(error)
    } else if matches!(error.kind(), ErrorKind::Parse | ErrorKind::UnexpectedReturnType) {
        Error::Decode { store: STORE, message: error.to_string() }
    } else {
        Error::Backend { store: STORE, source: Box::new(error) }
    }
}
