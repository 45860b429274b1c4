//! Redis over TLS (the `redis-tls` feature): a server, and a Sentinel's master, that take TLS
//! alone, with a certificate from the tests' own authority; servers that ask clients for a
//! certificate of their own.
//!
//! Without `session_redis_tls_ca_file` the store trusts the system's roots, which rustls
//! reads from `SSL_CERT_FILE` when it is set: a test of those roots that needs the test
//! authority trusted runs again in a child process started with it, since changing a
//! variable of a process whose other tests run on other threads is unsound.

use std::future::Future;
use std::path::PathBuf;
use std::process::Command;

use rocket::http::Status;

use crate::sentinel::app_on_sentinels;
use crate::support::app::configured;
use crate::support::redis::{stored_sessions, RedisCluster, RedisServer, TlsRedis, TlsSentinel};
use crate::support::tls::TestCa;
use crate::support::App;
use crate::support::{borrowed, figment};
use rocket_typed_session::store::{RedisOptions, RedisStore, RedisTls, SessionStore};
use rocket_typed_session::SessionConfig;

/// Where the child process finds the authority it trusts.
const TRUSTED_CA_DIR: &str = "RTS_TEST_TRUSTED_CA_DIR";

/// Runs `body` with the test authority as the system's roots: here when this process was
/// started so, else in a child process of this binary that runs test `name` alone. The child
/// leaves a mark when `body` returns, so that a name that matches no test cannot pass.
async fn trusting_test_ca<F: Future<Output = ()>>(name: &str, body: impl FnOnce(TestCa) -> F) {
    if let Some(dir) = std::env::var_os(TRUSTED_CA_DIR) {
        let ca = TestCa::at(PathBuf::from(dir));
        let mark = passed_mark(&ca, name);
        body(ca).await;
        std::fs::write(mark, "").unwrap();
        return;
    }
    let ca = TestCa::create();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1"])
        .env("SSL_CERT_FILE", ca.certificate())
        .env(TRUSTED_CA_DIR, ca.dir())
        .output()
        .expect("the test binary runs again");
    assert!(
        child.status.success(),
        "{name} failed in the process that trusts the test authority:\n{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr),
    );
    assert!(passed_mark(&ca, name).exists(), "no test {name} ran in the child process");
}

fn passed_mark(ca: &TestCa, name: &str) -> PathBuf {
    ca.dir().join(format!("passed-{}", name.replace("::", "-")))
}

/// A session written through `app` reads back, and is the one session `server` holds.
async fn a_session_lives_on(app: &App, server: &RedisServer) {
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    assert_eq!(stored_sessions(&mut server.connection().await).await, 1);
}

/// Every write through `app` fails as unavailable, and `server` holds nothing.
async fn no_session_reaches(app: &App, server: &RedisServer) {
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::ServiceUnavailable);
    assert_eq!(stored_sessions(&mut server.connection().await).await, 0);
}

/// An app on the cluster whose TLS ports are `tls_ports`, with the extra `keys`.
async fn app_on_cluster(tls_ports: &[u16], keys: Vec<(&'static str, String)>) -> App {
    let urls: Vec<String> =
        tls_ports.iter().map(|port| format!("rediss://127.0.0.1:{port}")).collect();
    let mut all = vec![("session_type", "redis_cluster".to_owned())];
    all.push(("session_redis_cluster_urls", format!("{urls:?}")));
    all.extend(keys);
    App::launch(configured(&borrowed(&all))).await
}

/// Ten sessions written through `app` read back, each one key on the master of its slot.
async fn sessions_spread_over(app: &App, cluster: &RedisCluster) {
    let mut cookies = Vec::new();
    for item in 0..10 {
        let path = format!("/map/set/key/{item}");
        cookies.push(app.get(&path, None).await.session_cookie().unwrap());
    }
    for (item, cookie) in cookies.iter().enumerate() {
        assert_eq!(app.get("/map/get/key", Some(cookie)).await.body, item.to_string());
    }
    let mut stored = 0;
    for node in &cluster.nodes {
        stored += stored_sessions(&mut node.connection().await).await;
    }
    assert_eq!(stored, 10, "each session is one key on the master of its slot");
}

#[rocket::async_test]
async fn sessions_live_on_a_server_that_takes_tls_alone() {
    trusting_test_ca("tls::sessions_live_on_a_server_that_takes_tls_alone", |ca| async move {
        let server = TlsRedis::start(&ca, false);
        a_session_lives_on(&crate::app_on(&server.url(), &[]).await, &server.server).await;
    })
    .await;
}

#[rocket::async_test]
async fn sessions_live_on_a_cluster_that_takes_tls() {
    trusting_test_ca("tls::sessions_live_on_a_cluster_that_takes_tls", |ca| async move {
        let (cluster, tls_ports) = RedisCluster::start_tls(&ca, 3, false);
        sessions_spread_over(&app_on_cluster(&tls_ports, Vec::new()).await, &cluster).await;
    })
    .await;
}

#[rocket::async_test]
async fn a_server_certificate_no_root_vouches_for_is_a_503() {
    // This process trusts the system's roots alone, which know nothing of the test authority.
    let server = TlsRedis::start(&TestCa::create(), false);
    no_session_reaches(&crate::app_on(&server.url(), &[]).await, &server.server).await;
}

#[rocket::async_test]
async fn sessions_live_on_a_sentinel_master_that_takes_tls_alone() {
    let name = "tls::sessions_live_on_a_sentinel_master_that_takes_tls_alone";
    trusting_test_ca(name, |ca| async move {
        let deployment = TlsSentinel::start(&ca, false);
        // The master's TLS follows the Sentinels' `rediss://` unless set.
        let app = app_on_sentinels(&deployment.urls(), &[]).await;
        a_session_lives_on(&app, &deployment.master.server).await;
    })
    .await;
}

#[rocket::async_test]
async fn a_sentinel_master_that_takes_tls_alone_is_a_503_when_tls_is_turned_off() {
    let name = "tls::a_sentinel_master_that_takes_tls_alone_is_a_503_when_tls_is_turned_off";
    trusting_test_ca(name, |ca| async move {
        let deployment = TlsSentinel::start(&ca, false);
        let tls_off = [("session_redis_sentinel_master_tls", "false")];
        let app = app_on_sentinels(&deployment.urls(), &tls_off).await;
        let status = app.get("/map/set/key/value", None).await.status;
        assert_eq!(status, Status::ServiceUnavailable);
    })
    .await;
}

/// An app on `url` whose store trusts `ca` through `session_redis_tls_ca_file` and, with
/// `client`, presents the client certificate `ca` signed.
async fn app_trusting(ca: &TestCa, url: &str, client: bool) -> App {
    crate::app_on(url, &borrowed(&ca.store_settings(client))).await
}

#[rocket::async_test]
async fn a_ca_file_trusts_a_server_no_system_root_vouches_for() {
    let ca = TestCa::create();
    let server = TlsRedis::start(&ca, false);
    a_session_lives_on(&app_trusting(&ca, &server.url(), false).await, &server.server).await;
}

#[rocket::async_test]
async fn sessions_live_on_a_server_that_asks_for_a_client_certificate() {
    let ca = TestCa::create();
    let server = TlsRedis::start(&ca, true);
    a_session_lives_on(&app_trusting(&ca, &server.url(), true).await, &server.server).await;
}

#[rocket::async_test]
async fn a_server_that_asks_for_a_client_certificate_is_a_503_without_one() {
    let ca = TestCa::create();
    let server = TlsRedis::start(&ca, true);
    no_session_reaches(&app_trusting(&ca, &server.url(), false).await, &server.server).await;
}

#[rocket::async_test]
async fn sessions_live_on_a_cluster_that_asks_for_client_certificates() {
    let ca = TestCa::create();
    let (cluster, tls_ports) = RedisCluster::start_tls(&ca, 3, true);
    sessions_spread_over(&app_on_cluster(&tls_ports, ca.store_settings(true)).await, &cluster)
        .await;
}

#[rocket::async_test]
async fn sessions_live_on_a_sentinel_master_when_both_ask_for_client_certificates() {
    let ca = TestCa::create();
    let deployment = TlsSentinel::start(&ca, true);
    let app = app_on_sentinels(&deployment.urls(), &borrowed(&ca.store_settings(true))).await;
    a_session_lives_on(&app, &deployment.master.server).await;
}

#[rocket::async_test]
async fn a_sentinel_deployment_that_asks_for_client_certificates_is_a_503_without_one() {
    let ca = TestCa::create();
    let deployment = TlsSentinel::start(&ca, true);
    let app = app_on_sentinels(&deployment.urls(), &borrowed(&ca.store_settings(false))).await;
    no_session_reaches(&app, &deployment.master.server).await;
}

/// What a load through a store with `tls` on `server` fails with.
async fn load_failure(server: &TlsRedis, tls: RedisTls) -> String {
    let store = RedisStore::open(&server.url(), RedisOptions { tls, ..RedisOptions::default() });
    let loaded = store.unwrap().load("session:absent", None).await;
    loaded.expect_err("the handshake fails").to_string()
}

#[rocket::async_test]
async fn a_server_asking_for_a_client_certificate_fails_naming_the_settings_that_give_one() {
    let ca = TestCa::create();
    let server = TlsRedis::start(&ca, true);
    let trusting = RedisTls {
        ca_certs: Some(std::fs::read(ca.certificate()).unwrap()),
        ..RedisTls::default()
    };
    let error = load_failure(&server, trusting).await;
    assert!(error.contains("is unavailable"), "{error}");
    assert!(error.contains("set `session_redis_tls_cert_file`"), "{error}");
}

#[rocket::async_test]
async fn a_server_certificate_no_root_vouches_for_fails_naming_the_ca_setting() {
    let server = TlsRedis::start(&TestCa::create(), false);
    let error = load_failure(&server, RedisTls::default()).await;
    assert!(error.contains("is unavailable"), "{error}");
    assert!(error.contains("its authority in `session_redis_tls_ca_file`"), "{error}");
}

#[test]
fn tls_files_for_a_url_without_tls_stop_the_launch_saying_to_use_rediss() {
    let ca = TestCa::create();
    let mut keys = vec![("session_type", "redis".to_owned())];
    keys.push(("session_redis_url", "redis://127.0.0.1:6379".to_owned()));
    keys.extend(ca.store_settings(true));
    let built =
        SessionConfig::from_figment(&figment(&borrowed(&keys))).and_then(|c| c.build_store());
    let error = built.err().expect("the launch stops").to_string();
    assert!(error.contains("session_redis_url") && error.contains("`rediss://`"), "{error}");
}
