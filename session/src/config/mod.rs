//! The `session_*` configuration keys: [`SessionConfig`] with every key and its default, read
//! from Rocket's figment.
//!
//! - `keys.rs`: the list of keys, and the nearest one to a typo;
//! - `duration.rs`: `"31d"`-style durations;
//! - `validate.rs`: what stops a launch, and the signing key each profile falls back to;
//! - `build.rs`: the store `session_type` names;
//! - `error.rs`: [`Error`], naming the key to change.

mod build;
mod duration;
mod error;
mod keys;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::value::Dict;
use rocket::figment::Figment;
use serde::Deserialize;

use crate::codec::Format;
pub use crate::signer::Secret;
use crate::store::defaults::{MEMORY_CAPACITY_BYTES, NETWORK_TIMEOUT, REDIS_CONNECTIONS};
use duration::{duration, optional_duration};
pub use error::Error;
pub use keys::KNOWN_KEYS;

/// The session configuration, read from the `session_*` keys of Rocket's configuration
/// (Rocket.toml, or `ROCKET_SESSION_*` environment variables).
///
/// Every key is optional; the defaults are secure for HTTPS-less development except
/// `session_cookie_secure`, which production deployments should turn on.
///
/// ```toml
/// [default]
/// session_type = "memory"            # "memory", "redis", "redis_cluster", "redis_sentinel" or "filesystem"
/// session_lifetime = "7d"            # seconds, or "30m", "12h", "7d", "1d12h"
/// session_cookie_secure = true
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SessionConfig {
    /// `session_type`: the store. Default `"memory"`.
    #[serde(rename = "session_type")]
    pub store: StoreType,
    /// `session_permanent`: whether the cookie carries `Max-Age` (true) or lasts only for the
    /// browser session (false). Default `true`.
    #[serde(rename = "session_permanent")]
    pub permanent: bool,
    /// `session_lifetime`: idle expiry in the store, and the cookie's `Max-Age`. Seconds, or a
    /// string such as `"31d"`, `"12h"`, `"1d12h"`. Default 31 days (2678400 s).
    #[serde(rename = "session_lifetime", deserialize_with = "duration")]
    pub lifetime: Duration,
    /// `session_absolute_lifetime`: a hard cap on a session's age since it was created,
    /// whatever its activity (OWASP's absolute timeout). Seconds or `"12h"`-style. Default
    /// none.
    #[serde(rename = "session_absolute_lifetime", deserialize_with = "optional_duration")]
    pub absolute_lifetime: Option<Duration>,
    /// `session_refresh_each_request`: rolling expiry. A request that reads or writes the
    /// session resets its idle expiry (in the load's round trip) and, when permanent,
    /// re-sends the cookie, unless both were reset within the
    /// [`touch_interval`](crate::store::touch_interval) (at most a second). Default `true`.
    #[serde(rename = "session_refresh_each_request")]
    pub refresh_each_request: bool,
    /// `session_key_prefix`: prepended to every store key. Default `"session:"`. A session is
    /// stored under the prefix and the BLAKE3 digest of its id in hex; the index behind
    /// [`Sessions::revoke_user`](crate::Sessions::revoke_user) under the prefix, `user:` and
    /// the BLAKE3 digest of the user name, one field per bound session (its key → the bind time).
    #[serde(rename = "session_key_prefix")]
    pub key_prefix: String,
    /// `session_id_length`: bytes of entropy in an id, 16 to 128. Default 32 (a 43-character
    /// cookie value).
    #[serde(rename = "session_id_length")]
    pub id_length: usize,
    /// `session_serialization_format`: `"msgpack"` or `"json"`, for values written from now
    /// on; both are always readable. Default `"msgpack"`.
    #[serde(rename = "session_serialization_format")]
    pub format: Format,
    /// `session_max_size`: the largest record, in bytes of keys and values, that a save may
    /// leave behind; a larger one is refused (a 500 after the handler) and the stored record
    /// kept. A handler that wants to answer otherwise asks
    /// [`Session::check_size`](crate::Session::check_size) first. Default 65536.
    #[serde(rename = "session_max_size")]
    pub max_size: usize,
    /// `session_use_signer`: the cookie carries the id and an HMAC-SHA256 of it; a forged or
    /// unsigned cookie is refused without a store call. Default `false`.
    #[serde(rename = "session_use_signer")]
    pub use_signer: bool,
    /// `session_secret_key`: the signing key, base64 or hex of at least 32 bytes. Default:
    /// Rocket's `secret_key`; with neither, the debug profile draws a random key per launch
    /// (signed cookies then end with the process) and the release profile refuses to launch.
    #[serde(rename = "session_secret_key")]
    pub secret_key: Option<Secret>,
    /// `session_secret_key_fallbacks`: former signing keys still accepted, for a key
    /// rotation; new cookies are signed with `session_secret_key`. Default none.
    #[serde(rename = "session_secret_key_fallbacks")]
    pub secret_key_fallbacks: Vec<Secret>,
    /// `session_cookie_name`. Default `"session"`. A `__Host-` name requires
    /// `session_cookie_secure`, path `/` and no domain; a `__Secure-` name requires
    /// `session_cookie_secure`. When a request carries several cookies of this name, the
    /// first that is a valid id is used; on HTTPS, a `__Host-` name (`"__Host-session"`)
    /// also keeps a sibling subdomain from planting one (SECURITY.md, rule 19).
    #[serde(rename = "session_cookie_name")]
    pub cookie_name: String,
    /// `session_cookie_domain`. Default none: the cookie goes to the exact host only.
    #[serde(rename = "session_cookie_domain")]
    pub cookie_domain: Option<String>,
    /// `session_cookie_path`. Default `"/"`.
    #[serde(rename = "session_cookie_path")]
    pub cookie_path: String,
    /// `session_cookie_httponly`: hide the cookie from scripts. Default `true`.
    #[serde(rename = "session_cookie_httponly")]
    pub cookie_http_only: bool,
    /// `session_cookie_secure`: send the cookie over HTTPS only. Default `false`; turn it on
    /// in production.
    #[serde(rename = "session_cookie_secure")]
    pub cookie_secure: bool,
    /// `session_cookie_samesite`: `"Strict"`, `"Lax"` or `"None"` (which requires
    /// `session_cookie_secure`). Default `"Lax"`.
    #[serde(rename = "session_cookie_samesite")]
    pub cookie_same_site: SameSite,
    /// `session_cookie_partitioned`: mark the cookie `Partitioned` (CHIPS), so that a browser
    /// that blocks third-party cookies still keeps it for an app embedded in another site,
    /// filed under that site. Requires `session_cookie_secure`; pair it with
    /// `session_cookie_samesite = "None"`, without which an embedded app is not sent the
    /// cookie. Default `false`.
    #[serde(rename = "session_cookie_partitioned")]
    pub cookie_partitioned: bool,
    /// `session_memory_capacity`: bytes of keys and values the memory store holds before it
    /// evicts sessions. Default 67108864 (64 MiB).
    #[serde(rename = "session_memory_capacity")]
    pub memory_capacity: u64,
    /// `session_redis_url`: the Redis server for `session_type = "redis"`. Default
    /// `"redis://127.0.0.1:6379"`.
    #[serde(rename = "session_redis_url")]
    pub redis_url: String,
    /// `session_redis_cluster_urls`: seed nodes for `session_type = "redis_cluster"`, e.g.
    /// `["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]`. Default none (required then).
    #[serde(rename = "session_redis_cluster_urls")]
    pub redis_cluster_urls: Vec<String>,
    /// `session_redis_sentinel_urls`: the Sentinels for `session_type = "redis_sentinel"`, e.g.
    /// `["redis://10.0.0.1:26379", "redis://10.0.0.2:26379"]`. Default none (required then).
    #[serde(rename = "session_redis_sentinel_urls")]
    pub redis_sentinel_urls: Vec<String>,
    /// `session_redis_sentinel_master`: the master set the Sentinels watch (the name in their
    /// `sentinel monitor` line). Default none (required for `"redis_sentinel"`).
    #[serde(rename = "session_redis_sentinel_master")]
    pub redis_sentinel_master: Option<String>,
    /// `session_redis_sentinel_master_username`: the ACL user the store logs in to that
    /// master as. Default none (the default user).
    #[serde(rename = "session_redis_sentinel_master_username")]
    pub redis_sentinel_master_username: Option<String>,
    /// `session_redis_sentinel_master_password`: that master's password (`requirepass`, or
    /// the user's). Default none.
    #[serde(rename = "session_redis_sentinel_master_password")]
    pub redis_sentinel_master_password: Option<String>,
    /// `session_redis_sentinel_master_db`: the database on that master the sessions live in.
    /// Default 0.
    #[serde(rename = "session_redis_sentinel_master_db")]
    pub redis_sentinel_master_db: u32,
    /// `session_redis_sentinel_master_tls`: connect to that master over TLS, verified against
    /// the system's roots or `session_redis_tls_ca_file` (needs the `redis-tls` feature).
    /// Default none: TLS when every URL in `session_redis_sentinel_urls` is `rediss://`, as a
    /// deployment that encrypts its Sentinels' traffic usually encrypts its masters'.
    #[serde(rename = "session_redis_sentinel_master_tls")]
    pub redis_sentinel_master_tls: Option<bool>,
    /// `session_redis_tls_ca_file`: a PEM file of the authorities the Redis servers'
    /// certificates are checked against, in place of the system's roots (a private
    /// authority, as Redis's own `tls-ca-cert-file`). Needs `rediss://` URLs and the
    /// `redis-tls` feature. Default none: the system's roots.
    #[serde(rename = "session_redis_tls_ca_file")]
    pub redis_tls_ca_file: Option<PathBuf>,
    /// `session_redis_tls_cert_file`: a PEM certificate (chain) the store presents to Redis
    /// servers, which ask every client for one once TLS is on unless `tls-auth-clients` is
    /// `no`. Needs `session_redis_tls_key_file`. Default none.
    #[serde(rename = "session_redis_tls_cert_file")]
    pub redis_tls_cert_file: Option<PathBuf>,
    /// `session_redis_tls_key_file`: the PEM private key of `session_redis_tls_cert_file`.
    /// Default none.
    #[serde(rename = "session_redis_tls_key_file")]
    pub redis_tls_key_file: Option<PathBuf>,
    /// `session_redis_pool_size`: multiplexed connections requests are spread over. Default 4.
    #[serde(rename = "session_redis_pool_size")]
    pub redis_pool_size: usize,
    /// `session_redis_timeout`: [`session_store_timeout`](Self::store_timeout) for Redis
    /// alone, the name it had before the SQL stores came. Default none (the store timeout).
    #[serde(rename = "session_redis_timeout", deserialize_with = "optional_duration")]
    pub redis_timeout: Option<Duration>,
    /// `session_store_timeout`: the most a request's work on a networked store (Redis,
    /// PostgreSQL, MySQL; loading and saving its session together, connecting included) or
    /// on the filesystem store's directory may take before the request gets a 503, and
    /// SQLite's wait for another writer's lock. Seconds or `"500ms"`, `"2s"`. Default 1
    /// second.
    #[serde(rename = "session_store_timeout", deserialize_with = "duration")]
    pub store_timeout: Duration,
    /// `session_redis_wait_replicas`: after every write, wait (Redis `WAIT`, in the same round
    /// trip) until this many replicas hold it, so that a write the client was told about
    /// survives a master failover. A write not replicated in time is a 503, not a silent
    /// success. Default 0 (do not wait: a failover may lose the last writes).
    #[serde(rename = "session_redis_wait_replicas")]
    pub redis_wait_replicas: u32,
    /// `session_filesystem_dir`: the directory of `session_type = "filesystem"`, created
    /// (mode 0700) if missing. Default `"sessions"`, relative to the working directory.
    #[serde(rename = "session_filesystem_dir")]
    pub filesystem_dir: PathBuf,
    /// `session_filesystem_threshold`: session files kept before expired and then least
    /// recently used ones are evicted. Default 500.
    #[serde(rename = "session_filesystem_threshold")]
    pub filesystem_threshold: usize,
    /// `session_sql_url`: the database of `session_type = "postgres"` (required, e.g.
    /// `"postgres://app@db/app"`), `"mysql"` (required, e.g. `"mysql://app@db/app"`) or
    /// `"sqlite"` (e.g. `"sqlite://sessions.db"`, created if missing). Default none, which
    /// for SQLite is `"sqlite://sessions.db"`.
    #[serde(rename = "session_sql_url")]
    pub sql_url: Option<String>,
    /// `session_sql_table`: the sessions' table, one row per stored value; `schema.table`
    /// works on PostgreSQL and `database.table` on MySQL. Default `"sessions"`.
    #[serde(rename = "session_sql_table")]
    pub sql_table: String,
    /// `session_sql_pool_size`: connections in the SQL stores' pool. Default 8.
    #[serde(rename = "session_sql_pool_size")]
    pub sql_pool_size: u32,
    /// `session_sql_create_table`: create the table and its index when missing, at launch or
    /// at the first request the database answers; with `false`, their columns are checked
    /// instead and a mismatch stops the launch. Default `true`.
    #[serde(rename = "session_sql_create_table")]
    pub sql_create_table: bool,
    /// `session_cleanup_n_requests`: every this many requests that use a session, the store's
    /// expiry sweep runs in the background (a no-op for stores with native expiry). Default
    /// 1000.
    #[serde(rename = "session_cleanup_n_requests")]
    pub cleanup_n_requests: u64,
    /// `session_max_per_user`: the most sessions one user may have bound at once
    /// ([`Session::bind_user`](crate::Session::bind_user)); a login past it ends the user's
    /// least recently active sessions, in the same save. Default none (no cap).
    #[serde(rename = "session_max_per_user")]
    pub max_per_user: Option<usize>,
    /// `session_track_ip`: record the client's address at login, for the device list
    /// ([`SessionInfo::address`](crate::SessionInfo::address)). It is personal data, so it
    /// is off unless asked for. Default `false`.
    #[serde(rename = "session_track_ip")]
    pub track_ip: bool,
}

/// The stores `session_type` can name; each needs its cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum StoreType {
    /// The embedded `MemoryStore` (feature `memory`).
    Memory,
    /// A Redis server, through `RedisStore` (feature `redis`).
    Redis,
    /// A Redis Cluster, through `RedisStore` (feature `redis`).
    RedisCluster,
    /// The master a set of Redis Sentinels names, through `RedisStore` (feature `redis`).
    RedisSentinel,
    /// A directory of files, through `FilesystemStore` (feature `filesystem`).
    Filesystem,
    /// PostgreSQL, through `PostgresStore` (feature `postgres`).
    Postgres,
    /// An SQLite database file, through `SqliteStore` (feature `sqlite`).
    Sqlite,
    /// MySQL or MariaDB, through `MysqlStore` (feature `mysql`).
    Mysql,
}

impl TryFrom<String> for StoreType {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Ok(match name.as_str() {
            "memory" => StoreType::Memory,
            "redis" => StoreType::Redis,
            "redis_cluster" => StoreType::RedisCluster,
            "redis_sentinel" => StoreType::RedisSentinel,
            "filesystem" => StoreType::Filesystem,
            "postgres" => StoreType::Postgres,
            "sqlite" => StoreType::Sqlite,
            "mysql" => StoreType::Mysql,
            _ => {
                return Err(format!(
                    "{name:?} is not a store; use \"memory\", \"redis\", \"redis_cluster\", \
                     \"redis_sentinel\", \"filesystem\", \"postgres\", \"sqlite\" or \"mysql\""
                ))
            }
        })
    }
}

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SameSite {
    /// Sent on same-site requests only.
    #[serde(alias = "strict")]
    Strict,
    /// Also sent on top-level navigations from other sites.
    #[serde(alias = "lax")]
    Lax,
    /// Sent on every request; requires `session_cookie_secure`.
    #[serde(alias = "none")]
    None,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            store: StoreType::Memory,
            permanent: true,
            lifetime: Duration::from_secs(31 * 24 * 60 * 60),
            absolute_lifetime: None,
            refresh_each_request: true,
            key_prefix: "session:".into(),
            id_length: 32,
            format: Format::Msgpack,
            max_size: 64 * 1024,
            use_signer: false,
            secret_key: None,
            secret_key_fallbacks: Vec::new(),
            cookie_name: "session".into(),
            cookie_domain: None,
            cookie_path: "/".into(),
            cookie_http_only: true,
            cookie_secure: false,
            cookie_same_site: SameSite::Lax,
            cookie_partitioned: false,
            memory_capacity: MEMORY_CAPACITY_BYTES,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_cluster_urls: Vec::new(),
            redis_sentinel_urls: Vec::new(),
            redis_sentinel_master: None,
            redis_sentinel_master_username: None,
            redis_sentinel_master_password: None,
            redis_sentinel_master_db: 0,
            redis_sentinel_master_tls: None,
            redis_tls_ca_file: None,
            redis_tls_cert_file: None,
            redis_tls_key_file: None,
            redis_pool_size: REDIS_CONNECTIONS,
            redis_timeout: None,
            store_timeout: NETWORK_TIMEOUT,
            redis_wait_replicas: 0,
            filesystem_dir: PathBuf::from("sessions"),
            filesystem_threshold: 500,
            cleanup_n_requests: 1000,
            sql_url: None,
            sql_table: "sessions".to_owned(),
            sql_pool_size: 8,
            sql_create_table: true,
            max_per_user: None,
            track_ip: false,
        }
    }
}

impl SessionConfig {
    /// Reads and checks the `session_*` keys of `figment`, with defaults for absent keys.
    ///
    /// # Errors
    /// The first problem found: an unknown `session_*` key (with the closest known key), a
    /// value of the wrong type or outside the accepted values, or values that cannot work.
    pub fn from_figment(figment: &Figment) -> Result<Self, Error> {
        let keys: Dict = figment.extract().map_err(|e| Error::Extract(Box::new(e)))?;
        keys::reject_unknown_keys(&keys)?;
        for (key, meant) in keys::near_misses(&keys) {
            log::warn!("sessions: the key `{key}` is not read; did you mean `{meant}`?");
        }
        let mut config: SessionConfig = figment.extract().map_err(Error::from_figment)?;
        if config.secret_key.is_none() {
            config.secret_key = keys.get("secret_key").and_then(validate::rocket_secret);
        }
        config.validate()?;
        if figment.profile() == rocket::Config::RELEASE_PROFILE {
            config.validate_for_release()?;
        }
        Ok(config)
    }
}
