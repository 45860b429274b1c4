//! PostgreSQL and MariaDB over TLS (the `sql-tls` feature): private servers whose
//! certificates come from the tests' own authority, which the URL names (`sslrootcert`,
//! `ssl-ca`), that take the app over TLS alone; and ones that also ask for a client
//! certificate, which the URL gives (`sslcert` and `sslkey`, `ssl-cert` and `ssl-key`).

use rocket::http::Status;
use rocket_typed_session::store::{MysqlStore, PostgresStore, SessionStore, SqlOptions};

use crate::app_with;
use crate::support::mariadb::MariadbServer;
use crate::support::postgres::PostgresServer;
use crate::support::tls::TestCa;

/// How a store's URL asks for TLS: the option that verifies the server's certificate and
/// name, and the options that name the files.
struct Dialect {
    store: &'static str,
    verify: &'static str,
    root: &'static str,
    cert: &'static str,
    key: &'static str,
}

const POSTGRES: Dialect = Dialect {
    store: "postgres",
    verify: "sslmode=verify-full",
    root: "sslrootcert",
    cert: "sslcert",
    key: "sslkey",
};

const MYSQL: Dialect = Dialect {
    store: "mysql",
    verify: "ssl-mode=VERIFY_IDENTITY",
    root: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
};

/// `base` verifying the server against `root`'s certificate and, with `client`, presenting
/// the client certificate `root` signed.
fn verified(base: &str, dialect: &Dialect, root: &TestCa, client: bool) -> String {
    let file = |name: &str| root.dir().join(name).display().to_string();
    let Dialect { verify, root, cert, key, .. } = dialect;
    let mut url = format!("{base}?{verify}&{root}={}", file("ca.crt"));
    if client {
        url.push_str(&format!("&{cert}={}&{key}={}", file("client.crt"), file("client.key")));
    }
    url
}

async fn a_session_lives_on(dialect: &Dialect, url: &str) {
    let app = app_with(dialect.store, url, &[]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

async fn writes_fail_as_unavailable_on(dialect: &Dialect, url: &str) {
    let app = app_with(dialect.store, url, &[]).await;
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::ServiceUnavailable);
}

/// What the launch's check of the store at `url` is refused with: a refusal, unlike an
/// outage, stops the launch.
async fn refusal_at_launch(dialect: &Dialect, url: &str) -> String {
    let store: Box<dyn SessionStore> = match dialect.store {
        "postgres" => Box::new(PostgresStore::open(url, SqlOptions::default()).unwrap()),
        _ => Box::new(MysqlStore::open(url, SqlOptions::default()).unwrap()),
    };
    match store.ping().await {
        Some(Err(error)) if !error.is_unavailable() => error.to_string(),
        other => panic!("the launch was not refused: {other:?}"),
    }
}

#[rocket::async_test]
async fn sessions_live_on_postgres_over_tls_verified_against_sslrootcert() {
    let ca = TestCa::create();
    let server = PostgresServer::start_tls(&ca, false);
    a_session_lives_on(&POSTGRES, &verified(&server.url(), &POSTGRES, &ca, false)).await;
}

#[rocket::async_test]
async fn sessions_live_on_postgres_that_asks_for_a_client_certificate() {
    let ca = TestCa::create();
    let server = PostgresServer::start_tls(&ca, true);
    a_session_lives_on(&POSTGRES, &verified(&server.url(), &POSTGRES, &ca, true)).await;
}

#[rocket::async_test]
async fn postgres_asking_for_a_client_certificate_refuses_the_launch_without_one() {
    let ca = TestCa::create();
    let server = PostgresServer::start_tls(&ca, true);
    let url = verified(&server.url(), &POSTGRES, &ca, false);
    let error = refusal_at_launch(&POSTGRES, &url).await;
    assert!(error.contains("requires a valid client certificate"), "{error}");
}

#[rocket::async_test]
async fn a_postgres_certificate_sslrootcert_did_not_sign_is_a_503() {
    let server = PostgresServer::start_tls(&TestCa::create(), false);
    let url = verified(&server.url(), &POSTGRES, &TestCa::create(), false);
    writes_fail_as_unavailable_on(&POSTGRES, &url).await;
}

#[rocket::async_test]
async fn postgres_that_takes_tls_alone_refuses_the_launch_of_a_url_without_it() {
    let server = PostgresServer::start_tls(&TestCa::create(), false);
    let error = refusal_at_launch(&POSTGRES, &format!("{}?sslmode=disable", server.url())).await;
    assert!(error.contains("no encryption"), "{error}");
}

#[rocket::async_test]
async fn sessions_live_on_mariadb_over_tls_verified_against_ssl_ca() {
    let ca = TestCa::create();
    let server = MariadbServer::start_tls(&ca, false);
    a_session_lives_on(&MYSQL, &verified(&server.url(), &MYSQL, &ca, false)).await;
}

#[rocket::async_test]
async fn sessions_live_on_mariadb_that_asks_for_a_client_certificate() {
    let ca = TestCa::create();
    let server = MariadbServer::start_tls(&ca, true);
    a_session_lives_on(&MYSQL, &verified(&server.url(), &MYSQL, &ca, true)).await;
}

#[rocket::async_test]
async fn mariadb_asking_for_a_client_certificate_refuses_the_launch_without_one() {
    let ca = TestCa::create();
    let server = MariadbServer::start_tls(&ca, true);
    let error = refusal_at_launch(&MYSQL, &verified(&server.url(), &MYSQL, &ca, false)).await;
    assert!(error.contains("Access denied"), "{error}");
}

#[rocket::async_test]
async fn a_mariadb_certificate_ssl_ca_did_not_sign_is_a_503() {
    let server = MariadbServer::start_tls(&TestCa::create(), false);
    let url = verified(&server.url(), &MYSQL, &TestCa::create(), false);
    writes_fail_as_unavailable_on(&MYSQL, &url).await;
}

#[rocket::async_test]
async fn mariadb_that_requires_tls_refuses_the_launch_of_a_url_without_it() {
    let server = MariadbServer::start_tls(&TestCa::create(), false);
    let error = refusal_at_launch(&MYSQL, &format!("{}?ssl-mode=DISABLED", server.url())).await;
    assert!(error.contains("Access denied"), "{error}");
}
