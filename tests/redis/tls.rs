//! Redis over TLS (the `redis-tls` feature): a server, and a Sentinel's master, that take TLS
//! alone, with a certificate from the tests' own authority.
//!
//! The store trusts the system's roots, which rustls reads from `SSL_CERT_FILE` when it is
//! set: a test that needs the test authority trusted runs again in a child process started
//! with it, since changing a variable of a process whose other tests run on other threads is
//! unsound.

use std::future::Future;
use std::path::PathBuf;
use std::process::Command;

use rocket::http::Status;

use crate::sentinel::app_on_sentinels;
use crate::support::app::configured;
use crate::support::redis::{stored_sessions, RedisCluster, TlsRedis, TlsSentinel};
use crate::support::tls::TestCa;
use crate::support::App;

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

#[rocket::async_test]
async fn sessions_live_on_a_server_that_takes_tls_alone() {
    trusting_test_ca("tls::sessions_live_on_a_server_that_takes_tls_alone", |ca| async move {
        let server = TlsRedis::start(&ca);
        let app = crate::app_on(&server.url(), &[]).await;
        let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
        assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
        assert_eq!(stored_sessions(&mut server.server.connection().await).await, 1);
    })
    .await;
}

#[rocket::async_test]
async fn sessions_live_on_a_cluster_that_takes_tls() {
    trusting_test_ca("tls::sessions_live_on_a_cluster_that_takes_tls", |ca| async move {
        let (cluster, tls_ports) = RedisCluster::start_tls(&ca, 3);
        let urls: Vec<String> =
            tls_ports.iter().map(|port| format!("rediss://127.0.0.1:{port}")).collect();
        let urls = format!("{urls:?}");
        let app = App::launch(configured(&[
            ("session_type", "redis_cluster"),
            ("session_redis_cluster_urls", urls.as_str()),
        ]))
        .await;
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
    })
    .await;
}

#[rocket::async_test]
async fn a_server_certificate_no_root_vouches_for_is_a_503() {
    // This process trusts the system's roots alone, which know nothing of the test authority.
    let server = TlsRedis::start(&TestCa::create());
    let app = crate::app_on(&server.url(), &[]).await;
    assert_eq!(app.get("/map/set/key/value", None).await.status, Status::ServiceUnavailable);
    assert_eq!(stored_sessions(&mut server.server.connection().await).await, 0);
}

#[rocket::async_test]
async fn sessions_live_on_a_sentinel_master_that_takes_tls_alone() {
    let name = "tls::sessions_live_on_a_sentinel_master_that_takes_tls_alone";
    trusting_test_ca(name, |ca| async move {
        let deployment = TlsSentinel::start(&ca);
        // The master's TLS follows the Sentinels' `rediss://` unless set.
        let app = app_on_sentinels(&deployment.urls(), &[]).await;
        let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
        assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
        assert_eq!(stored_sessions(&mut deployment.master.server.connection().await).await, 1);
    })
    .await;
}

#[rocket::async_test]
async fn a_sentinel_master_that_takes_tls_alone_is_a_503_when_tls_is_turned_off() {
    let name = "tls::a_sentinel_master_that_takes_tls_alone_is_a_503_when_tls_is_turned_off";
    trusting_test_ca(name, |ca| async move {
        let deployment = TlsSentinel::start(&ca);
        let tls_off = [("session_redis_sentinel_master_tls", "false")];
        let app = app_on_sentinels(&deployment.urls(), &tls_off).await;
        let status = app.get("/map/set/key/value", None).await.status;
        assert_eq!(status, Status::ServiceUnavailable);
    })
    .await;
}
