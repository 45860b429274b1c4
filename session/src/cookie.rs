//! The session cookie as the fairing sets, refreshes and removes it.
//!
//! The fairing writes `Set-Cookie` on the response itself: in `on_response` Rocket no longer
//! applies `CookieJar` changes.

use rocket::http::{Cookie, Header};

use std::time::Duration;

use crate::config::{SameSite, SessionConfig};

/// Every value of the cookie `name` in `Cookie` request headers, in the order the client sent
/// them: browsers send the cookie of the most specific path first, then the oldest, so the
/// first one that is a valid id is the one the client was given, not one tossed in later
/// from a sibling domain.
pub(crate) fn values_named<'h>(
    headers: impl Iterator<Item = &'h str>,
    name: &'h str,
) -> impl Iterator<Item = &'h str> {
    headers.flat_map(pairs).filter_map(move |(key, value)| (key == name).then_some(value))
}

/// The `name=value` pairs of one `Cookie` header, each side without the spaces around it;
/// a piece without `=` is skipped. The separators are ASCII, so the header is searched as
/// bytes: each pair's end with `memchr`'s vector search, which over the id costs a fraction
/// of a byte loop (std's `str::split` costs more than either), then the `=` within it.
fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = header;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = memchr::memchr(b';', rest.as_bytes()).unwrap_or(rest.len());
            let (pair, after) = rest.split_at(end);
            rest = after.get(1..).unwrap_or_default();
            if let Some(equals) = pair.bytes().position(|byte| byte == b'=') {
                return Some((pair[..equals].trim_ascii(), pair[equals + 1..].trim_ascii()));
            }
        }
        None
    })
}

/// The `Set-Cookie` header that gives the client `value`. A permanent session's cookie
/// carries `Max-Age`; without one it lasts until the browser closes.
///
/// Written by hand, in the order and spelling of the `cookie` crate (a test holds them
/// equal): it goes out on every write, and building and formatting a `Cookie` cost several
/// times more. Nothing needs escaping: the value is an id (base64url, a dot, base64url) and
/// the name, path and domain were checked at launch.
pub(crate) fn set(
    config: &SessionConfig,
    value: String,
    max_age: Option<Duration>,
) -> Header<'static> {
    let mut out = String::with_capacity(128 + value.len());
    out.push_str(&config.cookie_name);
    out.push('=');
    out.push_str(&value);
    if config.cookie_http_only {
        out.push_str("; HttpOnly");
    }
    out.push_str(match config.cookie_same_site {
        SameSite::Strict => "; SameSite=Strict",
        SameSite::Lax => "; SameSite=Lax",
        SameSite::None => "; SameSite=None",
    });
    if config.cookie_partitioned {
        out.push_str("; Partitioned");
    }
    if config.cookie_secure {
        out.push_str("; Secure");
    }
    out.push_str("; Path=");
    out.push_str(&config.cookie_path);
    if let Some(domain) = &config.cookie_domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if let Some(max_age) = max_age {
        out.push_str("; Max-Age=");
        push_decimal(&mut out, max_age.as_secs().min(i64::MAX as u64));
    }
    Header::new("Set-Cookie", out)
}

/// Appends `number` in decimal, without the formatting machinery `write!` goes through.
fn push_decimal(out: &mut String, mut number: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    digits[start..].iter().for_each(|digit| out.push(char::from(*digit)));
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
        .partitioned(config.cookie_partitioned)
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

    #[test]
    fn every_value_of_the_name_is_found_in_the_order_sent() {
        let headers = ["a=1; session=first;session = second", "session=third=3; sessions=no"];
        let values: Vec<&str> = values_named(headers.into_iter(), "session").collect();
        assert_eq!(values, ["first", "second", "third=3"]);
    }

    #[test]
    fn pieces_without_a_value_and_empty_pieces_are_skipped() {
        let found: Vec<_> = pairs(";; flag ;a= 1 ;;b=;").collect();
        assert_eq!(found, [("a", "1"), ("b", "")]);
        assert_eq!(pairs("").count(), 0);
    }

    #[test]
    fn a_header_of_non_ascii_text_is_split_at_its_ascii_separators() {
        let found: Vec<_> = pairs("é=ü; session=x").collect();
        assert_eq!(found, [("é", "ü"), ("session", "x")]);
    }

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

    /// What the `cookie` crate writes for the same settings, which `set` spells by hand.
    fn by_the_cookie_crate(
        config: &SessionConfig,
        value: &str,
        max_age: Option<Duration>,
    ) -> String {
        let mut cookie = base(config, value.to_owned());
        if let Some(max_age) = max_age {
            let secs = i64::try_from(max_age.as_secs()).unwrap();
            cookie.set_max_age(rocket::time::Duration::seconds(secs));
        }
        cookie.to_string()
    }

    #[test]
    fn the_cookie_set_is_spelled_as_the_cookie_crate_spells_it() {
        let id = SessionId::generate(32);
        let mut configs = vec![SessionConfig::default()];
        for same_site in [SameSite::Strict, SameSite::Lax, SameSite::None] {
            for partitioned in [false, true] {
                configs.push(SessionConfig {
                    cookie_name: "__Host-sid".into(),
                    cookie_path: "/app".into(),
                    cookie_domain: Some("example.com".into()),
                    cookie_http_only: false,
                    cookie_secure: true,
                    cookie_same_site: same_site,
                    cookie_partitioned: partitioned,
                    ..SessionConfig::default()
                });
            }
        }
        for config in &configs {
            let edges = [0, 7, 10, 99_999_999_999].map(|secs| Some(Duration::from_secs(secs)));
            for max_age in [LIFETIME, None].into_iter().chain(edges) {
                let header = set(config, id.expose().to_owned(), max_age);
                assert_eq!(header.value(), by_the_cookie_crate(config, id.expose(), max_age));
            }
        }
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

    #[test]
    fn a_partitioned_cookie_is_removed_as_partitioned() {
        // A browser files a partitioned cookie under the embedding site: a removal without the
        // attribute would name another cookie and leave this one in place.
        let config = SessionConfig {
            cookie_secure: true,
            cookie_partitioned: true,
            ..SessionConfig::default()
        };
        let value = remove(&config).value().to_owned();
        assert!(value.contains("; Partitioned"), "{value}");
        assert!(value.contains("Max-Age=0"), "{value}");
    }
}
