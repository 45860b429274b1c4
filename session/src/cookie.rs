//! The session cookie as the fairing sets, refreshes and removes it.
//!
//! The fairing writes `Set-Cookie` on the response itself: in `on_response` Rocket no longer
//! applies `CookieJar` changes.

use rocket::http::{Cookie, Header};
use rocket::time::Duration as CookieDuration;

use std::time::Duration;

use crate::config::{SameSite, SessionConfig};

/// The `Set-Cookie` header that gives the client `value`. A permanent session's cookie
/// carries `Max-Age`; without one it lasts until the browser closes.
pub(crate) fn set(
    config: &SessionConfig,
    value: String,
    max_age: Option<Duration>,
) -> Header<'static> {
    let mut cookie = base(config, value);
    if let Some(max_age) = max_age {
        let secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        cookie.set_max_age(CookieDuration::seconds(secs));
    }
    header(cookie)
}

/// The `Set-Cookie` header that makes the client forget its id, repeating the attributes the
/// cookie was set with so the browser matches and drops it.
pub(crate) fn remove(config: &SessionConfig) -> Header<'static> {
    let mut cookie = base(config, String::new());
    cookie.make_removal();
    header(cookie)
}

fn base(config: &SessionConfig, value: String) -> Cookie<'static> {
    let mut builder = Cookie::build((config.cookie_name.clone(), value))
        .path(config.cookie_path.clone())
        .http_only(config.cookie_http_only)
        .secure(config.cookie_secure)
        .same_site(match config.cookie_same_site {
            SameSite::Strict => rocket::http::SameSite::Strict,
            SameSite::Lax => rocket::http::SameSite::Lax,
            SameSite::None => rocket::http::SameSite::None,
        });
    if let Some(domain) = &config.cookie_domain {
        builder = builder.domain(domain.clone());
    }
    builder.build()
}

fn header(cookie: Cookie<'static>) -> Header<'static> {
    Header::new("Set-Cookie", cookie.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::id::SessionId;

    const LIFETIME: Option<Duration> = Some(Duration::from_secs(2_678_400));

    #[test]
    fn default_cookie_is_http_only_lax_root_with_max_age() {
        let id = SessionId::generate(32);
        let header = set(&SessionConfig::default(), id.expose().to_owned(), LIFETIME);
        let value = header.value();
        assert!(value.starts_with(&format!("session={}", id.expose())));
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2678400"] {
            assert!(value.contains(attribute), "{value} lacks {attribute}");
        }
        assert!(!value.contains("Secure"));
    }

    #[test]
    fn non_permanent_cookie_has_no_max_age() {
        let id = SessionId::generate(32);
        let header = set(&SessionConfig::default(), id.expose().to_owned(), None);
        assert!(!header.value().contains("Max-Age"));
    }

    #[test]
    fn removal_repeats_path_domain_secure_and_same_site() {
        let config = SessionConfig {
            cookie_path: "/app".into(),
            cookie_domain: Some("example.com".into()),
            cookie_secure: true,
            cookie_same_site: SameSite::Strict,
            ..SessionConfig::default()
        };
        let value = remove(&config).value().to_owned();
        for attribute in [
            "session=;",
            "Path=/app",
            "Domain=example.com",
            "Secure",
            "SameSite=Strict",
            "Max-Age=0",
        ] {
            assert!(value.contains(attribute), "{value} lacks {attribute}");
        }
    }
}
