use rocket::figment::providers::Env;
use rocket::{get, routes};
use rocket_typed_session::config::{Error as ConfigError, SameSite};
use rocket_typed_session::{Session, SessionConfig, SessionFairing, SessionMap};

use crate::support::figment;

/// A configuration, and the parts its error message must contain.
type Keys = &'static [(&'static str, &'static str)];
type Expected = &'static [&'static str];

/// The message launch stops with: from reading the keys, or from building their store.
fn error_for(keys: &[(&str, &str)]) -> String {
    let checked = SessionConfig::from_figment(&figment(keys))
        .and_then(|config| config.build_store().map(|_| config));
    match checked {
        Ok(config) => panic!("{keys:?} was accepted as {config:?}"),
        Err(error) => error.to_string(),
    }
}

async fn launch_fails(keys: &[(&str, &str)]) -> bool {
    let rocket = rocket::custom(figment(keys)).attach(SessionFairing::new());
    match rocket.ignite().await {
        Ok(_) => false,
        // Looking at the kind marks the error handled; Rocket panics on an unhandled one.
        Err(error) => matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_)),
    }
}

#[rocket::async_test]
async fn every_configuration_error_aborts_launch_with_a_message_naming_the_key() {
    let cases: &[(Keys, Expected)] = &[
        (&[("session_type", "mongodb")], &["session_type", "memory"]),
        (&[("session_lifetime", "forever")], &["session_lifetime", "7d"]),
        (&[("session_lifetime", "0")], &["session_lifetime", "longer than zero"]),
        (&[("session_absolute_lifetime", "0")], &["session_absolute_lifetime", "longer than zero"]),
        (&[("session_absolute_lifetime", "someday")], &["session_absolute_lifetime"]),
        (&[("session_refresh_each_request", "often")], &["session_refresh_each_request"]),
        (&[("session_key_prefix", "[1]")], &["session_key_prefix"]),
        (&[("session_use_signer", "perhaps")], &["session_use_signer"]),
        (&[("session_secret_key", "short")], &["session_secret_key", "at least 32 bytes"]),
        (
            &[("session_secret_key_fallbacks", "[\"short\"]")],
            &["session_secret_key_fallbacks", "at least 32 bytes"],
        ),
        (&[("session_cookie_httponly", "rarely")], &["session_cookie_httponly"]),
        (&[("session_memory_capacity", "0")], &["session_memory_capacity", "at least 1"]),
        (
            &[("session_type", "filesystem"), ("session_filesystem_dir", "/proc/sessions")],
            &["session_filesystem_dir", "cannot be created"],
        ),
        (&[("session_filesystem_threshold", "0")], &["session_filesystem_threshold", "at least 1"]),
        (&[("session_cleanup_n_requests", "0")], &["session_cleanup_n_requests", "at least 1"]),
        (
            &[
                ("session_type", "sqlite"),
                ("session_sql_url", "sqlite::memory:"),
                ("session_sql_table", "drop table x"),
            ],
            &["session_sql_table"],
        ),
        (&[("session_sql_create_table", "whenever")], &["session_sql_create_table"]),
        (&[("session_id_length", "8")], &["session_id_length", "16"]),
        (&[("session_id_length", "1000")], &["session_id_length", "128"]),
        (
            &[("session_serialization_format", "xml")],
            &["session_serialization_format", "msgpack", "json"],
        ),
        (&[("session_cookie_samesite", "Sometimes")], &["session_cookie_samesite", "Lax"]),
        (&[("session_cookie_samesite", "None")], &["session_cookie_secure", "None"]),
        (&[("session_cookie_partitioned", "true")], &["session_cookie_secure", "partitioned"]),
        (&[("session_cookie_partitioned", "yes")], &["session_cookie_partitioned"]),
        (&[("session_cookie_name", "__Host-sid")], &["session_cookie_secure", "__Host-"]),
        (
            &[
                ("session_cookie_name", "__Host-sid"),
                ("session_cookie_secure", "true"),
                ("session_cookie_path", "/app"),
            ],
            &["session_cookie_path", "__Host-"],
        ),
        (
            &[
                ("session_cookie_name", "__Host-sid"),
                ("session_cookie_secure", "true"),
                ("session_cookie_domain", "example.com"),
            ],
            &["session_cookie_domain", "__Host-"],
        ),
        (&[("session_cookie_name", "__Secure-sid")], &["session_cookie_secure", "__Secure-"]),
        (&[("session_cookie_name", "my session")], &["session_cookie_name", "token"]),
        (&[("session_cookie_path", "app")], &["session_cookie_path", "start with `/`"]),
        (&[("session_max_size", "0")], &["session_max_size"]),
        (&[("session_permanent", "sometimes")], &["session_permanent"]),
        (&[("session_lifetme", "1d")], &["session_lifetme", "did you mean `session_lifetime`"]),
        (&[("session_type", "redis_cluster")], &["session_redis_cluster_urls", "at least one"]),
        (&[("session_type", "redis_sentinel")], &["session_redis_sentinel_urls", "at least one"]),
        (
            &[
                ("session_type", "redis_sentinel"),
                ("session_redis_sentinel_urls", "[\"redis://127.0.0.1:26379\"]"),
            ],
            &["session_redis_sentinel_master", "master set"],
        ),
        (
            &[("session_type", "redis"), ("session_redis_url", "http://example.com")],
            &["session_redis_url"],
        ),
        (&[("session_redis_pool_size", "0")], &["session_redis_pool_size"]),
        (&[("session_redis_timeout", "0ms")], &["session_redis_timeout", "longer than zero"]),
        (&[("session_redis_timeout", "soon")], &["session_redis_timeout", "500ms"]),
        (&[("session_redis_wait_replicas", "-1")], &["session_redis_wait_replicas"]),
        (&[("session_redis_sentinel_master_db", "-1")], &["session_redis_sentinel_master_db"]),
        (
            &[
                ("session_type", "redis"),
                ("session_redis_url", "rediss://127.0.0.1:6380"),
                ("session_redis_tls_cert_file", "client.crt"),
            ],
            &["session_redis_tls_key_file", "go together"],
        ),
        (
            &[
                ("session_type", "redis"),
                ("session_redis_url", "rediss://127.0.0.1:6380"),
                ("session_redis_tls_key_file", "client.key"),
            ],
            &["session_redis_tls_cert_file", "go together"],
        ),
        (
            &[
                ("session_type", "redis"),
                ("session_redis_url", "rediss://127.0.0.1:6380"),
                ("session_redis_tls_ca_file", "/nonexistent/ca.crt"),
            ],
            &["session_redis_tls_ca_file", "cannot read `/nonexistent/ca.crt`"],
        ),
        (&[("session_store_timeout", "0ms")], &["session_store_timeout", "longer than zero"]),
        (&[("session_sql_pool_size", "0")], &["session_sql_pool_size", "at least 1"]),
        (&[("session_max_per_user", "0")], &["session_max_per_user", "at least 1"]),
        (&[("session_max_per_user", "many")], &["session_max_per_user"]),
        (&[("session_track_ip", "perhaps")], &["session_track_ip"]),
        (&[("session_type", "postgres")], &["session_sql_url", "postgres://"]),
        (&[("session_type", "mysql")], &["session_sql_url", "mysql://"]),
    ];
    for (keys, expected) in cases {
        let message = error_for(keys);
        for part in *expected {
            assert!(message.contains(part), "{keys:?}: {message:?} lacks {part:?}");
        }
        assert!(launch_fails(keys).await, "{keys:?} launched");
    }
}

#[test]
fn an_unknown_key_far_from_any_known_one_lists_the_known_keys() {
    let message = error_for(&[("session_flavour_of_the_month", "x")]);
    assert!(message.contains("session_cookie_name"), "{message}");
}

#[test]
fn keys_outside_the_session_prefix_are_not_checked() {
    assert!(SessionConfig::from_figment(&figment(&[("sessionless", "1")])).is_ok());
}

#[test]
fn defaults_match_the_documented_table() {
    let config = SessionConfig::from_figment(&figment(&[])).unwrap();
    assert_eq!(config, SessionConfig::default());
    assert!(config.permanent && config.refresh_each_request && config.cookie_http_only);
    assert!(!config.cookie_secure && !config.cookie_partitioned);
    assert_eq!(config.lifetime.as_secs(), 2_678_400);
    assert_eq!((config.id_length, config.max_size), (32, 65_536));
    assert_eq!((config.key_prefix.as_str(), config.cookie_name.as_str()), ("session:", "session"));
    assert_eq!((config.cookie_path.as_str(), config.cookie_same_site), ("/", SameSite::Lax));
}

#[test]
fn lifetimes_accept_seconds_and_unit_strings() {
    let config = SessionConfig::from_figment(&figment(&[("session_lifetime", "1d12h")])).unwrap();
    assert_eq!(config.lifetime.as_secs(), 129_600);
    let figment = figment(&[]).merge(("session_lifetime", 90));
    assert_eq!(SessionConfig::from_figment(&figment).unwrap().lifetime.as_secs(), 90);
}

#[test]
fn rocket_session_environment_variables_override_the_file() {
    // A name no other test reads, so setting it cannot disturb a parallel test.
    std::env::set_var("ROCKET_SESSION_COOKIE_NAME", "from_env");
    let figment =
        figment(&[("session_cookie_name", "from_file")]).merge(Env::prefixed("ROCKET_").global());
    let config = SessionConfig::from_figment(&figment);
    std::env::remove_var("ROCKET_SESSION_COOKIE_NAME");
    assert_eq!(config.unwrap().cookie_name, "from_env");
}

#[test]
fn an_unknown_key_error_is_typed() {
    let error = SessionConfig::from_figment(&figment(&[("session_tpye", "memory")])).unwrap_err();
    assert!(matches!(error, ConfigError::UnknownKey { suggestion: Some("session_type"), .. }));
}

#[get("/")]
fn uses_session(session: Session<SessionMap>) -> String {
    session.len().to_string()
}

#[rocket::async_test]
async fn a_session_route_without_the_fairing_fails_at_launch() {
    let rocket = rocket::custom(figment(&[])).mount("/", routes![uses_session]);
    let error = rocket::local::asynchronous::Client::untracked(rocket).await.err();
    let error = error.expect("launch must fail without the fairing");
    assert!(matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)), "{error:?}");
}

#[rocket::async_test]
async fn a_session_route_with_the_fairing_launches() {
    let rocket = rocket::custom(figment(&[]))
        .attach(SessionFairing::new())
        .mount("/", routes![uses_session]);
    assert!(rocket::local::asynchronous::Client::untracked(rocket).await.is_ok());
}

#[test]
fn an_unknown_session_type_names_every_choice_in_one_plain_sentence() {
    let figment = crate::support::figment(&[("session_type", "mongodb")]);
    let error = rocket_typed_session::SessionConfig::from_figment(&figment).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value for `session_type`: \"mongodb\" is not a store; use \"memory\", \"redis\", \
         \"redis_cluster\", \"redis_sentinel\", \"filesystem\", \"postgres\", \"sqlite\" or \
         \"mysql\""
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let figment = crate::support::figment(&[("session_lifetime", "[1, 2]")]);
    let error = rocket_typed_session::SessionConfig::from_figment(&figment).unwrap_err();
    assert!(error.to_string().starts_with("invalid value for `session_lifetime`: "), "{error}");
}
