//! The checks that stop a launch: values well-formed alone that cannot work, what the release
//! profile demands, and the signing key each profile falls back to.

use rocket::figment::value::Value;

use super::{Error, SameSite, SessionConfig, StoreType};
use crate::id::{MAX_ID_BYTES, MIN_ID_BYTES};
use crate::signer::Secret;

impl SessionConfig {
    /// What the release profile demands beyond [`validate`](Self::validate): a fixed signing
    /// key. A cookie without `Secure` is only warned about, since TLS may end at a proxy.
    pub(super) fn validate_for_release(&self) -> Result<(), Error> {
        if self.use_signer && self.secret_key.is_none() {
            return Err(Error::Invalid {
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
    /// [`Error::Invalid`] naming the key to change.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |key, message: &str| Err(Error::Invalid { key, message: message.into() });
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
        if self.max_per_user == Some(0) {
            return invalid("session_max_per_user", "must be at least 1 (leave it out for no cap)");
        }
        if self.cleanup_n_requests == 0 {
            return invalid("session_cleanup_n_requests", "must be at least 1");
        }
        if self.redis_pool_size == 0 {
            return invalid("session_redis_pool_size", "must be at least 1");
        }
        if self.redis_timeout.is_some_and(|timeout| timeout.is_zero()) {
            return invalid("session_redis_timeout", "must be longer than zero");
        }
        if self.store_timeout.is_zero() {
            return invalid("session_store_timeout", "must be longer than zero");
        }
        if self.sql_pool_size == 0 {
            return invalid("session_sql_pool_size", "must be at least 1");
        }
        if self.store == StoreType::Postgres && self.sql_url.is_none() {
            return invalid("session_sql_url", "must name the database when session_type is \"postgres\", e.g. \"postgres://app@127.0.0.1/app\"");
        }
        if self.store == StoreType::Mysql && self.sql_url.is_none() {
            return invalid("session_sql_url", "must name the database when session_type is \"mysql\", e.g. \"mysql://app@127.0.0.1/app\"");
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

    fn validate_cookie(&self) -> Result<(), Error> {
        let invalid = |key, message: &str| Err(Error::Invalid { key, message: message.into() });
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
        if self.cookie_partitioned && !self.cookie_secure {
            return invalid(
                "session_cookie_secure",
                "must be true when session_cookie_partitioned is: browsers drop such cookies otherwise",
            );
        }
        Ok(())
    }

    /// The key ids are signed with, when `session_use_signer` is on: `session_secret_key`,
    /// else Rocket's `secret_key`. With neither, the release profile refuses to launch (see
    /// `validate_for_release`) and the debug profile signs with a random key, drawn here, so
    /// that signed cookies end with the process.
    pub(crate) fn signing_key(&self) -> Option<Secret> {
        if !self.use_signer {
            return None;
        }
        Some(self.secret_key.clone().unwrap_or_else(|| {
            log::warn!("sessions: no session_secret_key or secret_key; signing with a random key, so signed cookies end with this process");
            Secret::random()
        }))
    }
}

/// Rocket's own `secret_key`, as text (Rocket.toml, environment) or as the bytes Rocket's
/// `secrets` feature puts in its defaults. Rocket validates the key itself; an absent,
/// unreadable or all-zero (Rocket's "unset") key is no key here.
pub(super) fn rocket_secret(value: &Value) -> Option<Secret> {
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

fn is_cookie_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn is_attribute_byte(byte: u8) -> bool {
    byte.is_ascii_graphic() && byte != b';'
}
