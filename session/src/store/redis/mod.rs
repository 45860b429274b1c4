//! Redis, Redis Cluster and Redis Sentinel: one hash per session, native expiry, one round
//! trip per operation.
//!
//! - `mod.rs`: the store and its operations;
//! - `connection.rs`: where connections come from, keeping them, the timeout and the retry;
//! - `round_trip.rs`: what each operation sends; `scripts.rs` and `lua/`: the scripts;
//! - `errors.rs`: which Redis errors are a 503;
//! - `tls.rs`: the TLS a `rediss://` URL asks for.

mod connection;
mod errors;
mod round_trip;
mod scripts;
mod tls;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_redis::redis::{from_redis_value, AsyncConnectionConfig, RedisError, Value};
use deadpool_redis::{cluster, sentinel};

use super::defaults::{NETWORK_TIMEOUT, REDIS_CONNECTIONS};
use super::{Changes, Error, Loaded, Peeked, Record, Regenerated, SessionStore};
use crate::store::fence::ServerClock;
use connection::{Connection, Source};
use round_trip::ReadReply;
pub(crate) use tls::is_tls_url;
pub use tls::RedisTls;

/// Settings for a [`RedisStore`] built from URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Certificates for `rediss://` connections: a client certificate, an authority of
    /// your own (`session_redis_tls_*`). Default none: the system's roots, no client
    /// certificate.
    pub tls: RedisTls,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            connections: REDIS_CONNECTIONS,
            timeout: NETWORK_TIMEOUT,
            wait_replicas: 0,
            tls: RedisTls::default(),
        }
    }
}

/// The master set Redis Sentinels watch, and how the store logs in to the master they name.
/// A `&str` is a set's name with the defaults.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SentinelMaster {
    /// The set's name, as in the Sentinels' `sentinel monitor` line
    /// (`session_redis_sentinel_master`).
    pub name: String,
    /// The ACL user the store logs in as (`session_redis_sentinel_master_username`); `None`
    /// for the default user.
    pub username: Option<String>,
    /// The master's password (`session_redis_sentinel_master_password`); `None` for none.
    pub password: Option<String>,
    /// The database the sessions live in (`session_redis_sentinel_master_db`), 0 by default.
    pub db: i64,
    /// Whether the master takes TLS (`session_redis_sentinel_master_tls`), verified against
    /// the system's roots or [`RedisTls::ca_certs`]; `false` by default. Needs the
    /// `redis-tls` feature.
    pub tls: bool,
}

impl SentinelMaster {
    pub(super) fn connection_info(&self) -> sentinel::SentinelNodeConnectionInfo {
        sentinel::SentinelNodeConnectionInfo {
            tls_mode: self.tls.then_some(sentinel::TlsMode::Secure),
            redis_connection_info: Some(deadpool_redis::RedisConnectionInfo {
                db: self.db,
                username: self.username.clone(),
                password: self.password.clone(),
                ..Default::default()
            }),
        }
    }
}

impl From<&str> for SentinelMaster {
    fn from(name: &str) -> Self {
        SentinelMaster { name: name.to_owned(), ..SentinelMaster::default() }
    }
}

/// Shows no password.
impl std::fmt::Debug for SentinelMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelMaster")
            .field("name", &self.name)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Sessions in Redis (`session_type = "redis"`), Redis Cluster (`"redis_cluster"`) or the
/// master Redis Sentinels name (`"redis_sentinel"`).
///
/// Each session is one hash under its storage key, one hash field per stored value, with the
/// session's idle timeout as the key's TTL. A load is one `HGETALL`, or for rolling expiry one
/// Lua script that also resets the TTL when it is due (see
/// [`touch_interval`](super::touch_interval)) and returns the values framed in one string,
/// which the client parses for less than one reply element per field and value; every write is one Lua script that creates only
/// if absent or updates only if present, so a session deleted by a logout or by expiry is
/// never brought back.
/// Every command touches one key, so nothing is cross-slot in a cluster; there `regenerate`
/// takes three steps (read the old record, create the new key, delete the old), elsewhere one.
///
/// Connections are made by the Redis client (or come from the application's deadpool-redis
/// pool), and are multiplexed: each carries many concurrent requests, so a store operation
/// never waits for a free connection and never pays a health-check round trip. A connection that fails is dropped and replaced on the
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
    server_clock: ServerClock,
    /// What `describe` says: the kind of deployment and its addresses, passwords masked.
    description: String,
}

impl RedisStore {
    /// Sessions in the Redis server `pool` connects to, with default options.
    pub fn new(pool: deadpool_redis::Pool) -> Self {
        let description = "Redis, from a pool built by the application".to_owned();
        RedisStore::from_source(Source::Single(pool), &RedisOptions::default(), description)
    }

    /// Sessions in the Redis Cluster `pool` connects to, with default options.
    pub fn cluster(pool: cluster::Pool) -> Self {
        let description = "Redis Cluster, from a pool built by the application".to_owned();
        RedisStore::from_source(Source::Cluster(pool), &RedisOptions::default(), description)
    }

    /// Connects lazily to the server at `url` (`redis://`, `unix://`, or with the `redis-tls`
    /// feature `rediss://`, with the certificates of [`RedisOptions::tls`]): a server that is
    /// down at launch does not stop the app, sessions work once it is up.
    ///
    /// # Errors
    /// The URL cannot be parsed, asks for TLS in a build without the `redis-tls` feature, or
    /// the TLS certificates are unusable or set for a URL without TLS.
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, RedisError> {
        let certificates = tls::ready(tls::asked_by(&[url]), &options.tls)?;
        let client = tls::client(url, certificates.as_ref())?;
        let description = format!("Redis at {}", masked(url));
        let source = Source::Server(client, connection_config(&options));
        Ok(RedisStore::from_source(source, &options, description))
    }

    /// Connects lazily to the cluster whose seed nodes are `urls`.
    ///
    /// # Errors
    /// A URL cannot be parsed, asks for TLS in a build without the `redis-tls` feature, or
    /// the TLS certificates are unusable or set for URLs without TLS.
    pub fn open_cluster(urls: &[String], options: RedisOptions) -> Result<Self, RedisError> {
        let certificates = tls::ready(tls::asked_by(urls), &options.tls)?;
        let client = tls::cluster_client(urls, certificates.as_ref())?;
        let description = format!("Redis Cluster at {}", masked_list(urls));
        Ok(RedisStore::from_source(Source::ClusterNodes(client), &options, description))
    }

    /// Connects lazily to the master that the Sentinels at `urls` name for the set
    /// `master`, logged in and on the database as `master` says (a set's name alone: the
    /// default user without a password, database 0). After a failover an operation that
    /// meets the old master (gone, or now a read-only replica) drops the connections and is
    /// tried once more on a fresh one, which asks the Sentinels again.
    ///
    /// ```no_run
    /// use rocket_typed_session::store::{RedisOptions, RedisStore, SentinelMaster};
    ///
    /// let sentinels = ["redis://10.0.0.1:26379".to_owned()];
    /// let master = SentinelMaster { password: Some("secret".into()), ..SentinelMaster::from("mymaster") };
    /// let store = RedisStore::open_sentinel(&sentinels, master, RedisOptions::default())?;
    /// # Ok::<(), deadpool_redis::redis::RedisError>(())
    /// ```
    ///
    /// # Errors
    /// A URL cannot be parsed, it or `master` asks for TLS in a build without the
    /// `redis-tls` feature, or the TLS certificates are unusable or set where no connection
    /// uses TLS.
    pub fn open_sentinel(
        urls: &[String],
        master: impl Into<SentinelMaster>,
        options: RedisOptions,
    ) -> Result<Self, RedisError> {
        let master = master.into();
        let certificates = tls::ready(master.tls || tls::asked_by(urls), &options.tls)?;
        let client = tls::sentinel_client(urls, &master, certificates.as_ref())?;
        let description = format!(
            "Redis, master `{}` named by the Sentinels at {}",
            master.name,
            masked_list(urls)
        );
        let source = Source::Sentinel(tokio::sync::Mutex::new(client), connection_config(&options));
        Ok(RedisStore::from_source(source, &options, description))
    }

    /// Bounds every operation by `timeout` instead of the default second.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn from_source(source: Source, options: &RedisOptions, description: String) -> Self {
        let slots = (0..options.connections.max(1)).map(|_| Mutex::new(None)).collect();
        RedisStore {
            source,
            slots,
            next: AtomicUsize::new(0),
            timeout: options.timeout,
            wait_replicas: options.wait_replicas,
            server_clock: ServerClock::new(),
            description,
        }
    }

    fn is_cluster(&self) -> bool {
        matches!(self.source, Source::Cluster(_) | Source::ClusterNodes(_))
    }
}

/// How each connection is made: its connecting and each reply bounded by the store's timeout.
fn connection_config(options: &RedisOptions) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.timeout))
        .set_response_timeout(Some(options.timeout))
}

/// A record and its `PTTL` as a listing sees them: a key without fields holds no session.
fn peeked((record, pttl): (Record, i64)) -> Option<Peeked> {
    // `PTTL` is -1 for a key without an expiry: it holds a session that never expires.
    let expires_in = u64::try_from(pttl).ok().map(Duration::from_millis);
    (!record.is_empty()).then(|| Peeked { record: Arc::new(record), expires_in })
}

/// `url` with the password of its user info, if any, replaced by `***`.
fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

fn masked_list(urls: &[String]) -> String {
    urls.iter().map(|url| masked(url)).collect::<Vec<_>>().join(", ")
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, key: &str, touch: Option<Duration>) -> Result<Option<Loaded>, Error> {
        let sample = self.server_clock.wants_sample();
        let ReadReply { reset, record, server_ms } = match touch {
            Some(ttl) => self.run(&round_trip::read_touching(key, ttl, sample)).await?,
            None if sample => self.run(&round_trip::read_clocked(key)).await?,
            None => {
                let record = self.run(&round_trip::read(key)).await?;
                ReadReply { reset: false, record, server_ms: None }
            }
        };
        if let Some(server_ms) = server_ms {
            self.server_clock.observe(server_ms);
        }
        Ok((!record.is_empty()).then(|| Loaded { record: Arc::new(record), expiry_reset: reset }))
    }

    /// One pipeline of `HGETALL` and `PTTL` per key; on a cluster, where keys rarely share a
    /// slot, one such pipeline per key, all sent at once.
    async fn peek(&self, keys: &[String]) -> Result<Vec<Option<Peeked>>, Error> {
        if self.is_cluster() {
            let each = keys.iter().map(|key| async move {
                self.run::<(Record, i64)>(&round_trip::peek([key])).await
            });
            let replies = rocket::futures::future::try_join_all(each).await?;
            return Ok(replies.into_iter().map(peeked).collect());
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let replies: Vec<Value> = self.run(&round_trip::peek(keys)).await?;
        let pairs = replies.chunks(2).map(|pair| from_redis_value(Value::Array(pair.to_vec())));
        pairs.map(|pair| pair.map(peeked).map_err(errors::unexpected_reply)).collect()
    }

    async fn create(&self, key: &str, fields: &Record, ttl: Duration) -> Result<bool, Error> {
        let created: i64 = self.write(round_trip::create(key, fields, ttl)).await?;
        Ok(created == 1)
    }

    async fn update(&self, key: &str, changes: &Changes, ttl: Duration) -> Result<bool, Error> {
        let deadline = self.server_clock.deadline(self.timeout);
        let updated: i64 = self.write(round_trip::update(key, changes, ttl, deadline)).await?;
        Ok(errors::in_time(updated)? == 1)
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        let deleted: i64 = self.write(round_trip::delete(key)).await?;
        Ok(deleted > 0)
    }

    /// `session_redis_timeout` bounds a whole request's Redis work, not only each operation.
    fn request_time_limit(&self) -> Option<Duration> {
        Some(self.timeout)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn ping(&self) -> Option<Result<(), Error>> {
        Some(self.run::<()>(&round_trip::ping()).await)
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
        let deadline = self.server_clock.deadline(self.timeout);
        let call = round_trip::regenerate(old, new, changes, ttl, deadline);
        Ok(match errors::in_time(self.write::<i64>(call).await?)? {
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
        let Some(Loaded { record, .. }) = self.load(old, None).await? else {
            return Ok(Regenerated::SourceGone);
        };
        let mut record = Arc::unwrap_or_clone(record);
        changes.apply_to(&mut record);
        if !record.is_empty() && !self.create(new, &record, ttl).await? {
            return Ok(Regenerated::TargetTaken);
        }
        if self.write::<i64>(round_trip::delete(old)).await? == 0 {
            self.delete(new).await?;
            return Ok(Regenerated::SourceGone);
        }
        Ok(Regenerated::Moved)
    }
}

#[cfg(test)]
mod tests {
    use super::{masked, masked_list, RedisOptions, RedisStore, SentinelMaster};
    use crate::store::SessionStore;

    #[test]
    fn a_sentinel_master_shows_no_password() {
        let master = SentinelMaster { password: Some("hunter2".into()), .."mymaster".into() };
        let shown = format!("{master:?}");
        assert!(shown.contains("mymaster") && shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    /// Every load is built into this future and copied with it: the pools' checkout, which
    /// only a first use or a reconnect runs, must not size it.
    #[test]
    fn a_load_carries_no_kilobytes_of_the_pool_checkout() {
        let store = RedisStore::open("redis://127.0.0.1:1", RedisOptions::default()).unwrap();
        let load = store.load("key", None);
        let size = std::mem::size_of_val(&*load);
        assert!(size < 2048, "a load's future takes {size} bytes");
    }

    #[test]
    fn a_described_url_never_shows_its_password() {
        assert_eq!(masked("redis://:secret@cache:6379/0"), "redis://:***@cache:6379/0");
        assert_eq!(masked("rediss://app:p@ss:w@cache/1"), "rediss://app:***@cache/1");
        assert_eq!(masked("redis://app@cache/0"), "redis://app@cache/0");
        assert_eq!(masked("redis://cache:6379/x@y"), "redis://cache:6379/x@y");
        assert_eq!(masked("unix:///run/redis.sock"), "unix:///run/redis.sock");
    }

    #[test]
    fn a_described_list_of_nodes_masks_each_password() {
        let nodes = ["redis://:a@one:7000".to_owned(), "redis://two:7001".to_owned()];
        assert_eq!(masked_list(&nodes), "redis://:***@one:7000, redis://two:7001");
    }
}
