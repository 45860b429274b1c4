//! Building the store `session_type` names.

use std::sync::Arc;

// Without a store feature, only the arm that names the missing feature is left.
#[cfg_attr(
    not(any(
        feature = "memory",
        feature = "redis",
        feature = "filesystem",
        feature = "postgres",
        feature = "sqlite",
        feature = "mysql"
    )),
    allow(unused_imports)
)]
use super::StoreType;
use super::{Error, SessionConfig};
use crate::store::SessionStore;

impl SessionConfig {
    /// Builds the store `session_type` names. Stores connect lazily: a server that is down
    /// at launch does not stop the launch.
    ///
    /// # Errors
    /// The store's cargo feature is off, or its address cannot be parsed.
    pub fn build_store(&self) -> Result<Arc<dyn SessionStore>, Error> {
        match self.store {
            #[cfg(feature = "memory")]
            StoreType::Memory => {
                Ok(Arc::new(crate::store::MemoryStore::with_capacity(self.memory_capacity)))
            }
            #[cfg(feature = "redis")]
            StoreType::Redis => crate::store::RedisStore::open(&self.redis_url, self.redis_options()?)
                .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                .map_err(|e| Error::Invalid { key: "session_redis_url", message: e.to_string() }),
            #[cfg(feature = "redis")]
            StoreType::RedisCluster => {
                crate::store::RedisStore::open_cluster(&self.redis_cluster_urls, self.redis_options()?)
                    .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                    .map_err(|e| Error::Invalid {
                        key: "session_redis_cluster_urls",
                        message: e.to_string(),
                    })
            }
            #[cfg(feature = "redis")]
            StoreType::RedisSentinel => crate::store::RedisStore::open_sentinel(
                &self.redis_sentinel_urls,
                self.sentinel_master(),
                self.redis_options()?,
            )
            .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
            .map_err(|e| Error::Invalid {
                key: "session_redis_sentinel_urls",
                message: e.to_string(),
            }),
            #[cfg(feature = "filesystem")]
            StoreType::Filesystem => {
                crate::store::FilesystemStore::open(&self.filesystem_dir, self.filesystem_threshold)
                    .map(|store| Arc::new(store.with_timeout(self.store_timeout)) as Arc<dyn SessionStore>)
                    .map_err(|e| Error::Invalid {
                        key: "session_filesystem_dir",
                        message: format!("{} cannot be created or written: {e}", self.filesystem_dir.display()),
                    })
            }
            #[cfg(feature = "postgres")]
            StoreType::Postgres => {
                let url = self.sql_url.as_deref().unwrap_or_default();
                crate::store::PostgresStore::open(url, self.sql_options())
                    .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                    .map_err(|message| self.sql_error(message))
            }
            #[cfg(feature = "sqlite")]
            StoreType::Sqlite => {
                let url = self.sql_url.as_deref().unwrap_or("sqlite://sessions.db");
                crate::store::SqliteStore::open(url, self.sql_options())
                    .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                    .map_err(|message| self.sql_error(message))
            }
            #[cfg(feature = "mysql")]
            StoreType::Mysql => {
                let url = self.sql_url.as_deref().unwrap_or_default();
                crate::store::MysqlStore::open(url, self.sql_options())
                    .map(|store| Arc::new(store) as Arc<dyn SessionStore>)
                    .map_err(|message| self.sql_error(message))
            }
            #[allow(unreachable_patterns)]
            missing => Err(Error::Invalid {
                key: "session_type",
                message: format!("{missing:?} needs a cargo feature of rocket_typed_session that is off in this build (`memory`, `redis`, `filesystem`, `postgres`, `sqlite` or `mysql`)"),
            }),
        }
    }

    #[cfg(feature = "redis")]
    fn sentinel_master(&self) -> crate::store::SentinelMaster {
        crate::store::SentinelMaster {
            name: self.redis_sentinel_master.clone().unwrap_or_default(),
            username: self.redis_sentinel_master_username.clone(),
            password: self.redis_sentinel_master_password.clone(),
            db: self.redis_sentinel_master_db.into(),
            tls: self.redis_sentinel_master_tls.unwrap_or_else(|| {
                let urls = &self.redis_sentinel_urls;
                !urls.is_empty() && urls.iter().all(|url| crate::store::is_tls_url(url))
            }),
        }
    }

    #[cfg(feature = "redis")]
    fn redis_options(&self) -> Result<crate::store::RedisOptions, Error> {
        Ok(crate::store::RedisOptions {
            connections: self.redis_pool_size,
            timeout: self.redis_timeout.unwrap_or(self.store_timeout),
            wait_replicas: self.redis_wait_replicas,
            tls: self.redis_tls()?,
        })
    }

    /// The certificates the `session_redis_tls_*` files hold. A certificate and its key go
    /// together: one without the other is named here, where the store could only say that
    /// something is missing.
    #[cfg(feature = "redis")]
    fn redis_tls(&self) -> Result<crate::store::RedisTls, Error> {
        const CERT: &str = "session_redis_tls_cert_file";
        const KEY: &str = "session_redis_tls_key_file";
        let (cert, key) = (&self.redis_tls_cert_file, &self.redis_tls_key_file);
        if cert.is_some() != key.is_some() {
            let (missing, given) = if cert.is_some() { (KEY, CERT) } else { (CERT, KEY) };
            return Err(Error::Invalid {
                key: missing,
                message: format!("`{given}` is set: the certificate and its key go together"),
            });
        }
        Ok(crate::store::RedisTls {
            ca_certs: read_file("session_redis_tls_ca_file", &self.redis_tls_ca_file)?,
            client_cert: read_file(CERT, cert)?,
            client_key: read_file(KEY, key)?,
        })
    }

    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    fn sql_options(&self) -> crate::store::SqlOptions {
        crate::store::SqlOptions {
            table: self.sql_table.clone(),
            connections: self.sql_pool_size,
            timeout: self.store_timeout,
            create_table: self.sql_create_table,
        }
    }

    /// A bad table name, or a URL that cannot be parsed.
    #[cfg(any(feature = "postgres", feature = "sqlite", feature = "mysql"))]
    fn sql_error(&self, message: String) -> Error {
        let key = if message.contains(&format!("{:?}", self.sql_table)) {
            "session_sql_table"
        } else {
            "session_sql_url"
        };
        Error::Invalid { key, message }
    }
}

/// The bytes of the file `key` names, if it names one.
#[cfg(feature = "redis")]
fn read_file(
    key: &'static str,
    path: &Option<std::path::PathBuf>,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(path) = path else { return Ok(None) };
    std::fs::read(path).map(Some).map_err(|error| Error::Invalid {
        key,
        message: format!("cannot read `{}`: {error}", path.display()),
    })
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;

    fn sentinels(urls: &[&str], tls: Option<bool>) -> SessionConfig {
        SessionConfig {
            redis_sentinel_urls: urls.iter().map(|url| url.to_string()).collect(),
            redis_sentinel_master_tls: tls,
            ..SessionConfig::default()
        }
    }

    #[test]
    fn the_master_takes_tls_by_default_when_every_sentinel_does() {
        let both = ["rediss://10.0.0.1:26379", "rediss://10.0.0.2:26379"];
        assert!(sentinels(&both, None).sentinel_master().tls);
        let mixed = ["rediss://10.0.0.1:26379", "redis://10.0.0.2:26379"];
        assert!(!sentinels(&mixed, None).sentinel_master().tls);
        assert!(!sentinels(&["redis://10.0.0.1:26379"], None).sentinel_master().tls);
    }

    #[test]
    fn the_master_tls_setting_overrides_the_sentinels_scheme() {
        assert!(!sentinels(&["rediss://10.0.0.1:26379"], Some(false)).sentinel_master().tls);
        assert!(sentinels(&["redis://10.0.0.1:26379"], Some(true)).sentinel_master().tls);
    }
}
