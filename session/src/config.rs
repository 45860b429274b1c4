//! The `session_*` configuration keys: reading them from Rocket's figment, their defaults, and
//! the checks that stop a launch with a message naming the key.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rocket::figment::value::{Dict, Value};
use rocket::figment::Figment;
use serde::{Deserialize, Deserializer};

use crate::codec::Format;
use crate::id::{MAX_ID_BYTES, MIN_ID_BYTES};
pub use crate::signer::Secret;
use crate::store::SessionStore;

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
    /// `session_refresh_each_request`: rolling expiry. A request that reads the session
    /// resets its idle expiry (in the same store round trip) and, when permanent, re-sends the
    /// cookie, unless both were reset within the
    /// [`touch_interval`](crate::store::touch_interval) (at most a second); a write always
    /// re-sends it. Default `true`.
    #[serde(rename = "session_refresh_each_request")]
    pub refresh_each_request: bool,
    /// `session_key_prefix`: prepended to every store key. Default `"session:"`.
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
    /// leave behind; a larger one is refused and the stored record kept. Default 65536.
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
    /// `session_cookie_secure`.
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
    /// `session_redis_pool_size`: multiplexed connections requests are spread over. Default 4.
    #[serde(rename = "session_redis_pool_size")]
    pub redis_pool_size: usize,
    /// `session_redis_timeout`: the most a request's Redis work (loading and saving its
    /// session together, connecting included) may take before the request gets a 503.
    /// Seconds or `"500ms"`, `"2s"`. Default 1 second.
    #[serde(rename = "session_redis_timeout", deserialize_with = "duration")]
    pub redis_timeout: Duration,
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
    /// `session_cleanup_n_requests`: every this many requests that use a session, the store's
    /// expiry sweep runs in the background (a no-op for stores with native expiry). Default
    /// 1000.
    #[serde(rename = "session_cleanup_n_requests")]
    pub cleanup_n_requests: u64,
}

/// The stores `session_type` can name; each needs its cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// A `session_*` key is unknown or has a value that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A `session_*` key that no version of this crate reads, probably a typo.
    #[error("unknown configuration key `{key}`{}", Suggestion(*.suggestion))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The closest known key, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A key has a value of the wrong type or outside its accepted values.
    #[error("invalid session configuration: {0}")]
    Extract(Box<rocket::figment::Error>),
    /// A key's value is well-formed but cannot work, alone or with another key.
    #[error("invalid value for `{key}`: {message}")]
    Invalid {
        /// The key to change.
        key: &'static str,
        /// What is wrong, and what would be accepted.
        message: String,
    },
}

struct Suggestion(Option<&'static str>);

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "; did you mean `{key}`?"),
            None => write!(f, "; the session keys are {}", KNOWN_KEYS.join(", ")),
        }
    }
}

/// Every key this crate reads.
pub const KNOWN_KEYS: &[&str] = &[
    "session_type",
    "session_permanent",
    "session_lifetime",
    "session_absolute_lifetime",
    "session_refresh_each_request",
    "session_key_prefix",
    "session_id_length",
    "session_serialization_format",
    "session_max_size",
    "session_use_signer",
    "session_secret_key",
    "session_secret_key_fallbacks",
    "session_cookie_name",
    "session_cookie_domain",
    "session_cookie_path",
    "session_cookie_httponly",
    "session_cookie_secure",
    "session_cookie_samesite",
    "session_memory_capacity",
    "session_redis_url",
    "session_redis_cluster_urls",
    "session_redis_sentinel_urls",
    "session_redis_sentinel_master",
    "session_redis_pool_size",
    "session_redis_timeout",
    "session_redis_wait_replicas",
    "session_filesystem_dir",
    "session_filesystem_threshold",
    "session_cleanup_n_requests",
];

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
            memory_capacity: 64 * 1024 * 1024,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_cluster_urls: Vec::new(),
            redis_sentinel_urls: Vec::new(),
            redis_sentinel_master: None,
            redis_pool_size: 4,
            redis_timeout: Duration::from_secs(1),
            redis_wait_replicas: 0,
            filesystem_dir: PathBuf::from("sessions"),
            filesystem_threshold: 500,
            cleanup_n_requests: 1000,
        }
    }
}

impl SessionConfig {
    /// Reads and checks the `session_*` keys of `figment`, with defaults for absent keys.
    ///
    /// # Errors
    /// The first problem found: an unknown `session_*` key (with the closest known key), a
    /// value of the wrong type or outside the accepted values, or values that cannot work.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let keys: Dict = figment.extract().map_err(|e| ConfigError::Extract(Box::new(e)))?;
        reject_unknown_keys(&keys)?;
        let mut config: SessionConfig =
            figment.extract().map_err(|e| ConfigError::Extract(Box::new(e)))?;
        if config.secret_key.is_none() {
            config.secret_key = keys.get("secret_key").and_then(rocket_secret);
        }
        config.validate()?;
        if figment.profile() == rocket::Config::RELEASE_PROFILE {
            config.validate_for_release()?;
        }
        Ok(config)
    }

    /// What the release profile demands beyond [`validate`](Self::validate): a fixed signing
    /// key. A cookie without `Secure` is only warned about, since TLS may end at a proxy.
    fn validate_for_release(&self) -> Result<(), ConfigError> {
        if self.use_signer && self.secret_key.is_none() {
            return Err(ConfigError::Invalid {
                key: "session_secret_key",
                message: "session_use_signer needs session_secret_key or Rocket's secret_key in the release profile (e.g. `openssl rand -base64 32`)".into(),
            });
        }
        if !self.cookie_secure {
            log::warn!("sessions: session_cookie_secure is false in the release profile: the session cookie will also be sent over plain HTTP");
        }
        Ok(())
    }

    /// Checks values that are well-formed alone but cannot work.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid =
            |key, message: &str| Err(ConfigError::Invalid { key, message: message.into() });
        if !(MIN_ID_BYTES..=MAX_ID_BYTES).contains(&self.id_length) {
            return invalid(
                "session_id_length",
                &format!("{} is outside {MIN_ID_BYTES} to {MAX_ID_BYTES} bytes; 16 bytes are the 128 bits of entropy OWASP asks for", self.id_length),
            );
        }
        if self.lifetime.is_zero() {
            return invalid("session_lifetime", "must be longer than zero");
        }
        if self.absolute_lifetime.is_some_and(|absolute| absolute.is_zero()) {
            return invalid("session_absolute_lifetime", "must be longer than zero");
        }
        if self.max_size == 0 {
            return invalid("session_max_size", "must be at least 1 byte");
        }
        if self.memory_capacity == 0 {
            return invalid("session_memory_capacity", "must be at least 1 byte");
        }
        if self.filesystem_threshold == 0 {
            return invalid("session_filesystem_threshold", "must be at least 1");
        }
        if self.cleanup_n_requests == 0 {
            return invalid("session_cleanup_n_requests", "must be at least 1");
        }
        if self.redis_pool_size == 0 {
            return invalid("session_redis_pool_size", "must be at least 1");
        }
        if self.redis_timeout.is_zero() {
            return invalid("session_redis_timeout", "must be longer than zero");
        }
        if self.store == StoreType::RedisCluster && self.redis_cluster_urls.is_empty() {
            return invalid("session_redis_cluster_urls", "must list at least one node when session_type is \"redis_cluster\", e.g. [\"redis://127.0.0.1:7000\"]");
        }
        if self.store == StoreType::RedisSentinel && self.redis_sentinel_urls.is_empty() {
            return invalid("session_redis_sentinel_urls", "must list at least one Sentinel when session_type is \"redis_sentinel\", e.g. [\"redis://127.0.0.1:26379\"]");
        }
        if self.store == StoreType::RedisSentinel && self.redis_sentinel_master.is_none() {
            return invalid("session_redis_sentinel_master", "must name the master set the Sentinels monitor when session_type is \"redis_sentinel\", e.g. \"mymaster\"");
        }
        self.validate_cookie()
    }

    fn validate_cookie(&self) -> Result<(), ConfigError> {
        let invalid =
            |key, message: &str| Err(ConfigError::Invalid { key, message: message.into() });
        let name = &self.cookie_name;
        if name.is_empty() || !name.bytes().all(is_cookie_name_byte) {
            return invalid(
                "session_cookie_name",
                "must be a non-empty token: letters, digits and !#$%&'*+-.^_`|~",
            );
        }
        if !self.cookie_path.starts_with('/') || !self.cookie_path.bytes().all(is_attribute_byte) {
            return invalid(
                "session_cookie_path",
                "must start with `/` and hold no `;`, spaces or control characters",
            );
        }
        if let Some(domain) = &self.cookie_domain {
            if domain.is_empty() || !domain.bytes().all(is_attribute_byte) {
                return invalid(
                    "session_cookie_domain",
                    "must be a host name with no `;`, spaces or control characters",
                );
            }
        }
        if name.starts_with("__Host-") {
            if !self.cookie_secure {
                return invalid(
                    "session_cookie_secure",
                    "must be true for a `__Host-` cookie name",
                );
            }
            if self.cookie_path != "/" {
                return invalid("session_cookie_path", "must be \"/\" for a `__Host-` cookie name");
            }
            if self.cookie_domain.is_some() {
                return invalid(
                    "session_cookie_domain",
                    "must be unset for a `__Host-` cookie name",
                );
            }
        }
        if name.starts_with("__Secure-") && !self.cookie_secure {
            return invalid("session_cookie_secure", "must be true for a `__Secure-` cookie name");
        }
        if self.cookie_same_site == SameSite::None && !self.cookie_secure {
            return invalid("session_cookie_secure", "must be true when session_cookie_samesite is \"None\": browsers drop such cookies otherwise");
        }
        Ok(())
    }

    /// Builds the store `session_type` names. Stores connect lazily: a server that is down
    /// at launch does not stop the launch.
    ///
    /// # Errors
    /// The store's cargo feature is off, or its address cannot be parsed.
    pub fn build_store(&self) -> Result<Arc<dyn SessionStore>, ConfigError> {
        match self.store {
            #[cfg(feature = "memory")]
            StoreType::Memory => {
                Ok(Arc::new(crate::store::MemoryStore::with_capacity(self.memory_capacity)))
            }
            #[cfg(feature = "redis")]
            StoreType::Redis => crate::store::RedisStore::open(&self.redis_url, self.redis_options())
                .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                .map_err(|e| ConfigError::Invalid { key: "session_redis_url", message: e.to_string() }),
            #[cfg(feature = "redis")]
            StoreType::RedisCluster => {
                crate::store::RedisStore::open_cluster(&self.redis_cluster_urls, self.redis_options())
                    .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                    .map_err(|e| ConfigError::Invalid {
                        key: "session_redis_cluster_urls",
                        message: e.to_string(),
                    })
            }
            #[cfg(feature = "redis")]
            StoreType::RedisSentinel => crate::store::RedisStore::open_sentinel(
                &self.redis_sentinel_urls,
                self.redis_sentinel_master.as_deref().unwrap_or_default(),
                self.redis_options(),
            )
            .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
            .map_err(|e| ConfigError::Invalid {
                key: "session_redis_sentinel_urls",
                message: e.to_string(),
            }),
            #[cfg(feature = "filesystem")]
            StoreType::Filesystem => {
                crate::store::FilesystemStore::open(&self.filesystem_dir, self.filesystem_threshold)
                    .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                    .map_err(|e| ConfigError::Invalid {
                        key: "session_filesystem_dir",
                        message: format!("{} cannot be created or written: {e}", self.filesystem_dir.display()),
                    })
            }
            #[allow(unreachable_patterns)]
            missing => Err(ConfigError::Invalid {
                key: "session_type",
                message: format!("{missing:?} needs a cargo feature of rocket_typed_session that is off in this build (`memory`, `redis` or `filesystem`)"),
            }),
        }
    }

    #[cfg(feature = "redis")]
    fn redis_options(&self) -> crate::store::RedisOptions {
        crate::store::RedisOptions {
            connections: self.redis_pool_size,
            timeout: self.redis_timeout,
            wait_replicas: self.redis_wait_replicas,
        }
    }
}

/// Rocket's own `secret_key`, as text (Rocket.toml, environment) or as the bytes Rocket's
/// `secrets` feature puts in its defaults. Rocket validates the key itself; an absent,
/// unreadable or all-zero (Rocket's "unset") key is no key here.
fn rocket_secret(value: &Value) -> Option<Secret> {
    match value {
        Value::String(_, text) => Secret::parse(text),
        Value::Array(_, items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|item| item.to_u128().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Secret::from_bytes(bytes?)
        }
        _ => None,
    }
}

fn reject_unknown_keys(keys: &Dict) -> Result<(), ConfigError> {
    let unknown =
        keys.keys().find(|key| key.starts_with("session_") && !KNOWN_KEYS.contains(&key.as_str()));
    match unknown {
        None => Ok(()),
        Some(key) => {
            Err(ConfigError::UnknownKey { key: key.clone(), suggestion: closest_key(key) })
        }
    }
}

fn closest_key(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .map(|known| (edit_distance(key, known), *known))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes; keys are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

fn is_cookie_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn is_attribute_byte(byte: u8) -> bool {
    byte.is_ascii_graphic() && byte != b';'
}

/// Accepts seconds, or a string of number-unit pairs (`ms`, `s`, `m`, `h`, `d`).
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    use serde::de::Error;
    match <Value as Deserialize>::deserialize(deserializer)? {
        Value::Num(_, num) => num
            .to_f64()
            .or_else(|| num.to_u128_lossy().map(|secs| secs as f64))
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| D::Error::custom("expected a positive number of seconds")),
        Value::String(_, text) => parse_duration(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "expected seconds or a duration such as \"500ms\", \"30m\", \"12h\", \"7d\", \"1d12h\", found {text:?}"
            ))
        }),
        _ => Err(D::Error::custom("expected seconds or a duration string such as \"7d\"")),
    }
}

fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut millis: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        millis = millis.checked_add(number.checked_mul(unit)?)?;
    }
    (!text.is_empty()).then_some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_combinations() {
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("31d"), Some(Duration::from_secs(2_678_400)));
        assert_eq!(parse_duration("1d12h"), Some(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1s250ms"), Some(Duration::from_millis(1250)));
    }

    #[test]
    fn durations_reject_malformed_text() {
        for bad in ["", "d", "1w", "1.5h", "-3s", "12h3", "5 s", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "accepted {bad:?}");
        }
    }

    #[test]
    fn close_typos_get_a_suggestion() {
        assert_eq!(closest_key("session_lifetme"), Some("session_lifetime"));
        assert_eq!(closest_key("session_cookie_same_site"), Some("session_cookie_samesite"));
        assert_eq!(closest_key("session_completely_different"), None);
    }
}
