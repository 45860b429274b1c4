//! TLS for the Redis stores: a `rediss://` URL, or a Sentinel's master with
//! `session_redis_sentinel_master_tls`, with the certificates [`RedisTls`] adds. Built with
//! the `redis-tls` feature (rustls with ring); without it, asking for TLS is an error that
//! names the feature.

use deadpool_redis::cluster::{ClusterClient, ClusterClientBuilder};
use deadpool_redis::redis::sentinel::{SentinelClient, SentinelServerType};
use deadpool_redis::redis::{Client, ErrorKind, RedisError};

use super::SentinelMaster;

/// Certificates for the store's TLS connections beyond what a `rediss://` URL says.
///
/// A server started with TLS asks each client for a certificate of its own unless it is
/// told not to (`tls-auth-clients`, `yes` by default): give one here. A server whose
/// certificate no system root vouches for (a private authority) is trusted through
/// `ca_certs`. Every field is PEM, as Redis's own `tls-*-file` settings take it.
///
/// ```no_run
/// use rocket_typed_session::store::{RedisOptions, RedisStore, RedisTls};
///
/// let tls = RedisTls {
///     ca_certs: Some(std::fs::read("/etc/redis/ca.crt")?),
///     client_cert: Some(std::fs::read("/etc/app/redis-client.crt")?),
///     client_key: Some(std::fs::read("/etc/app/redis-client.key")?),
/// };
/// let options = RedisOptions { tls, ..RedisOptions::default() };
/// let store = RedisStore::open("rediss://redis.internal:6380", options)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    /// The certificates of the authorities a server's certificate is checked against, in
    /// place of the system's roots (`session_redis_tls_ca_file`). Default `None`: the
    /// system's roots.
    pub ca_certs: Option<Vec<u8>>,
    /// The certificate chain the store presents to a server that asks for one
    /// (`session_redis_tls_cert_file`); needs `client_key`. Default `None`: none presented.
    pub client_cert: Option<Vec<u8>>,
    /// The private key of `client_cert` (`session_redis_tls_key_file`). Default `None`.
    pub client_key: Option<Vec<u8>>,
}

impl RedisTls {
    fn is_set(&self) -> bool {
        self.ca_certs.is_some() || self.client_cert.is_some() || self.client_key.is_some()
    }
}

/// Shows which certificates are set, never a key.
impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |field: &Option<Vec<u8>>| if field.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("RedisTls")
            .field("ca_certs", &set(&self.ca_certs))
            .field("client_cert", &set(&self.client_cert))
            .field("client_key", &set(&self.client_key))
            .finish()
    }
}

/// Whether any of `urls` asks for TLS.
pub(super) fn asked_by<S: AsRef<str>>(urls: &[S]) -> bool {
    urls.iter().any(|url| is_tls_url(url.as_ref()))
}

/// Whether `url` asks for TLS: its scheme is `rediss`.
pub(crate) fn is_tls_url(url: &str) -> bool {
    url.get(..9).is_some_and(|scheme| scheme.eq_ignore_ascii_case("rediss://"))
}

#[cfg(feature = "redis-tls")]
fn invalid(message: impl Into<String>) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, "invalid TLS settings", message.into()))
}

/// What TLS the connections get: `None` for the system's roots alone. Certificates no
/// connection would use are an error, not a silent no-op.
///
/// rustls takes the crypto provider its compiled-in features name, and panics on the first
/// connection when an app's other crates compile in a second one (aws-lc-rs beside this
/// crate's ring) and none was installed: ring is installed then, unless the app chose one.
#[cfg(feature = "redis-tls")]
pub(super) fn ready(wanted: bool, tls: &RedisTls) -> Result<Option<Certificates>, RedisError> {
    if tls.is_set() && !wanted {
        return Err(invalid(
            "TLS certificates are set but no connection uses TLS: use `rediss://` URLs (for a \
             Sentinel's master, `session_redis_sentinel_master_tls`)",
        ));
    }
    if wanted && rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer leaves that one in place, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    if !tls.is_set() {
        return Ok(None);
    }
    Ok(Some(certificates(tls)?))
}

/// Refuses TLS, which this build cannot speak: the Redis client's own error would not say
/// which feature to turn on.
#[cfg(not(feature = "redis-tls"))]
pub(super) fn ready(wanted: bool, tls: &RedisTls) -> Result<Option<Certificates>, RedisError> {
    if !wanted && !tls.is_set() {
        return Ok(None);
    }
    Err(RedisError::from((
        ErrorKind::InvalidClientConfig,
        "TLS (`rediss://`, `session_redis_sentinel_master_tls`, `session_redis_tls_*`) needs \
         the `redis-tls` feature of rocket_typed_session, which is off in this build",
    )))
}

/// The certificates in the Redis client's form, each checked here so that a file that holds
/// no certificate, or no key, is named at launch rather than failing every connection.
#[cfg(feature = "redis-tls")]
fn certificates(tls: &RedisTls) -> Result<Certificates, RedisError> {
    use deadpool_redis::redis::ClientTlsConfig;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let has_certificate = |pem: &[u8]| CertificateDer::pem_slice_iter(pem).any(|c| c.is_ok());
    let lacking = |file: &str, key: &str, kind: &str| {
        invalid(format!("the {file} (`session_redis_tls_{key}_file`) holds no PEM {kind}"))
    };
    if tls.ca_certs.as_deref().is_some_and(|ca| !has_certificate(ca)) {
        return Err(lacking("CA file", "ca", "certificate"));
    }
    let client_tls = match (&tls.client_cert, &tls.client_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            if !has_certificate(cert) {
                return Err(lacking("client certificate", "cert", "certificate"));
            }
            if PrivateKeyDer::from_pem_slice(key).is_err() {
                return Err(lacking("client key", "key", "private key"));
            }
            Some(ClientTlsConfig { client_cert: cert.clone(), client_key: key.clone() })
        }
        (Some(_), None) => return Err(invalid("a client certificate needs its private key")),
        (None, Some(_)) => return Err(invalid("a client key needs its certificate")),
    };
    Ok(Certificates { client_tls, root_cert: tls.ca_certs.clone() })
}

/// What to set when a TLS handshake failed for want of a setting: the server asked for a
/// client certificate, or no root the store trusts signed the server's. rustls's error
/// sits inside the Redis client's I/O error, which does not name it as its source.
#[cfg(feature = "redis-tls")]
pub(super) fn hint(error: &RedisError) -> Option<&'static str> {
    use rustls::{AlertDescription, CertificateError, Error as TlsError};

    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(mut current) = next {
        // The client hands its I/O error on as the `Arc` that holds it.
        if let Some(shared) = current.downcast_ref::<Shared>() {
            current = &**shared;
        }
        let io = current.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        let tls = match io {
            Some(inner) => inner.downcast_ref::<TlsError>(),
            None => current.downcast_ref::<TlsError>(),
        };
        match tls {
            Some(TlsError::AlertReceived(AlertDescription::CertificateRequired)) => {
                return Some(
                    "the server asks for a client certificate: set `session_redis_tls_cert_file` \
                     and `session_redis_tls_key_file`",
                )
            }
            Some(TlsError::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                return Some(
                    "no root the store trusts signed the server's certificate: give its \
                     authority in `session_redis_tls_ca_file`",
                )
            }
            Some(_) => return None,
            None => next = current.source(),
        }
    }
    None
}

/// Without TLS no handshake fails.
#[cfg(not(feature = "redis-tls"))]
pub(super) fn hint(_: &RedisError) -> Option<&'static str> {
    None
}

/// The certificates a client is built with.
#[cfg(feature = "redis-tls")]
pub(super) type Certificates = deadpool_redis::redis::TlsCertificates;

/// Without TLS there are none: [`ready`] never returns one.
#[cfg(not(feature = "redis-tls"))]
#[derive(Debug)]
pub(super) enum Certificates {}

/// A client for the server at `url`, with `certificates` when there are any.
pub(super) fn client(url: &str, certificates: Option<&Certificates>) -> Result<Client, RedisError> {
    match certificates {
        None => Client::open(url),
        #[cfg(feature = "redis-tls")]
        Some(certificates) => Client::build_with_tls(url, certificates.clone()),
        #[cfg(not(feature = "redis-tls"))]
        Some(never) => match *never {},
    }
}

/// A client for the cluster whose seed nodes are `urls`, with `certificates` when there are
/// any.
pub(super) fn cluster_client(
    urls: &[String],
    certificates: Option<&Certificates>,
) -> Result<ClusterClient, RedisError> {
    let builder = ClusterClientBuilder::new(urls.to_vec());
    let builder = match certificates {
        None => builder,
        #[cfg(feature = "redis-tls")]
        Some(certificates) => builder.certs(certificates.clone()),
        #[cfg(not(feature = "redis-tls"))]
        Some(never) => match *never {},
    };
    builder.build()
}

/// A client for the master the Sentinels at `urls` name for `master`, with `certificates`
/// when there are any.
pub(super) fn sentinel_client(
    urls: &[String],
    master: &SentinelMaster,
    certificates: Option<&Certificates>,
) -> Result<SentinelClient, RedisError> {
    match certificates {
        None => SentinelClient::build(
            urls.to_vec(),
            master.name.clone(),
            Some(master.connection_info().into()),
            SentinelServerType::Master,
        ),
        #[cfg(feature = "redis-tls")]
        Some(certificates) => sentinel_client_with(urls, master, certificates),
        #[cfg(not(feature = "redis-tls"))]
        Some(never) => match *never {},
    }
}

/// Only the Redis client's builder takes certificates for Sentinels. It logs in to every
/// Sentinel as the first URL says, and its certificates go to the Sentinels only when all of
/// them take TLS (it refuses them for a plain one), to the master when the master does.
#[cfg(feature = "redis-tls")]
fn sentinel_client_with(
    urls: &[String],
    master: &SentinelMaster,
    certificates: &Certificates,
) -> Result<SentinelClient, RedisError> {
    use deadpool_redis::redis::sentinel::SentinelClientBuilder;
    use deadpool_redis::redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, TlsMode};

    let sentinels: Vec<ConnectionInfo> =
        urls.iter().map(|url| url.as_str().into_connection_info()).collect::<Result<_, _>>()?;
    let Some(first) = sentinels.first() else {
        return Err(RedisError::from((ErrorKind::EmptySentinelList, "no Sentinel URL")));
    };
    let addresses = sentinels.iter().map(|sentinel| sentinel.addr().clone());
    let mut builder =
        SentinelClientBuilder::new(addresses, &master.name, SentinelServerType::Master)?
            .set_client_to_redis_db(master.db);
    if let Some(username) = &master.username {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = &master.password {
        builder = builder.set_client_to_redis_password(password);
    }
    if master.tls {
        builder = builder
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_redis_certificates(certificates.clone());
    }
    if let Some(username) = first.redis_settings().username() {
        builder = builder.set_client_to_sentinel_username(username);
    }
    if let Some(password) = first.redis_settings().password() {
        builder = builder.set_client_to_sentinel_password(password);
    }
    let all_tls = sentinels.iter().all(|s| matches!(s.addr(), ConnectionAddr::TcpTls { .. }));
    if all_tls {
        builder = builder.set_client_to_sentinel_certificates(certificates.clone());
    }
    builder.build()
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

    fn pem(label: &str) -> Vec<u8> {
        format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n").into_bytes()
    }

    fn identity() -> RedisTls {
        RedisTls {
            client_cert: Some(pem("CERTIFICATE")),
            client_key: Some(pem("PRIVATE KEY")),
            ..RedisTls::default()
        }
    }

    #[test]
    fn debug_shows_which_certificates_are_set_but_no_key() {
        let shown = format!("{:?}", identity());
        assert!(shown.contains("client_key: \"<set>\""), "{shown}");
        assert!(shown.contains("ca_certs: \"<none>\""), "{shown}");
        assert!(!shown.contains("AAAA"), "{shown}");
    }

    #[cfg(not(feature = "redis-tls"))]
    #[test]
    fn tls_without_the_feature_is_an_error_naming_it() {
        assert!(ready(false, &RedisTls::default()).is_ok());
        for error in [ready(true, &RedisTls::default()), ready(false, &identity())] {
            let error = error.expect_err("an error").to_string();
            assert!(error.contains("`redis-tls` feature"), "{error}");
        }
    }

    #[cfg(not(feature = "redis-tls"))]
    #[test]
    fn without_the_feature_no_error_gets_a_tls_hint() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(hint(&RedisError::from(refused)), None);
    }

    #[cfg(feature = "redis-tls")]
    mod with_tls {
        use super::*;

        fn refused(tls: RedisTls) -> String {
            ready(true, &tls).expect_err("refused").to_string()
        }

        #[test]
        fn certificates_without_a_tls_url_are_an_error_saying_to_use_rediss() {
            let error = ready(false, &identity()).expect_err("refused").to_string();
            assert!(error.contains("`rediss://`"), "{error}");
        }

        #[test]
        fn no_certificates_leave_the_system_roots() {
            assert!(ready(true, &RedisTls::default()).unwrap().is_none());
            assert!(ready(false, &RedisTls::default()).unwrap().is_none());
        }

        #[test]
        fn a_client_certificate_without_its_key_is_an_error() {
            let tls = RedisTls { client_key: None, ..identity() };
            assert!(refused(tls).contains("needs its private key"));
        }

        #[test]
        fn a_client_key_without_its_certificate_is_an_error() {
            let tls = RedisTls { client_cert: None, ..identity() };
            assert!(refused(tls).contains("needs its certificate"));
        }

        #[test]
        fn a_ca_file_without_a_certificate_is_an_error() {
            let tls = RedisTls { ca_certs: Some(pem("PRIVATE KEY")), ..RedisTls::default() };
            assert!(refused(tls)
                .contains("CA file (`session_redis_tls_ca_file`) holds no PEM certificate"));
        }

        #[test]
        fn a_client_certificate_file_without_a_certificate_is_an_error() {
            let tls = RedisTls { client_cert: Some(pem("PRIVATE KEY")), ..identity() };
            let error = refused(tls);
            assert!(error.contains("(`session_redis_tls_cert_file`) holds no PEM certificate"));
        }

        #[test]
        fn a_client_key_that_is_not_a_key_is_an_error() {
            let tls = RedisTls { client_key: Some(pem("CERTIFICATE")), ..identity() };
            assert!(
                refused(tls).contains("(`session_redis_tls_key_file`) holds no PEM private key")
            );
        }
    }
}
