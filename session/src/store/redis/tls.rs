//! TLS for the Redis stores: a `rediss://` URL, or a Sentinel's master with
//! `session_redis_sentinel_master_tls`. Built with the `redis-tls` feature (rustls with ring,
//! the system's roots); without it, asking for TLS is an error that names the feature.

use deadpool_redis::redis::RedisError;

/// Whether any of `urls` asks for TLS.
pub(super) fn asked_by<S: AsRef<str>>(urls: &[S]) -> bool {
    urls.iter().any(|url| is_tls_url(url.as_ref()))
}

/// Whether `url` asks for TLS: its scheme is `rediss`.
pub(crate) fn is_tls_url(url: &str) -> bool {
    url.get(..9).is_some_and(|scheme| scheme.eq_ignore_ascii_case("rediss://"))
}

/// Readies TLS for the connections when they use it.
///
/// rustls takes the crypto provider its compiled-in features name, and panics on the first
/// connection when an app's other crates compile in a second one (aws-lc-rs beside this
/// crate's ring) and none was installed: ring is installed then, unless the app chose one.
#[cfg(feature = "redis-tls")]
pub(super) fn ready(wanted: bool) -> Result<(), RedisError> {
    if wanted && rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer leaves that one in place, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    Ok(())
}

/// Refuses TLS, which this build cannot speak: the Redis client's own error would not say
/// which feature to turn on.
#[cfg(not(feature = "redis-tls"))]
pub(super) fn ready(wanted: bool) -> Result<(), RedisError> {
    if !wanted {
        return Ok(());
    }
    Err(RedisError::from((
        deadpool_redis::redis::ErrorKind::InvalidClientConfig,
        "TLS (`rediss://`, `session_redis_sentinel_master_tls`) needs the `redis-tls` feature \
         of rocket_typed_session, which is off in this build",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_rediss_scheme_asks_for_tls() {
        assert!(asked_by(&["redis://a:6379", "rediss://b:6380"]));
        assert!(asked_by(&["REDISS://b:6380"]));
        assert!(!asked_by(&["redis://a:6379", "unix:///run/redis.sock"]));
        assert!(!asked_by::<&str>(&[]));
    }

    #[cfg(not(feature = "redis-tls"))]
    #[test]
    fn tls_without_the_feature_is_an_error_naming_it() {
        assert!(ready(false).is_ok());
        let error = ready(true).unwrap_err().to_string();
        assert!(error.contains("`redis-tls` feature"), "{error}");
    }
}
