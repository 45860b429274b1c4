//! What the crate logs, and that no session id reaches a log line: every flow that logs runs here under a logger that keeps
//! every record, which is then searched for the ids the flows used. Its own binary, so that
//! this logger is installed before Rocket's.

#[path = "../support/mod.rs"]
mod support;

use std::sync::Mutex;

use rocket_typed_session::store::{Changes, SessionStore};
use rocket_typed_session::SessionId;

use support::app::{launch, launch_with};
use support::storage_key;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        LINES.lock().unwrap().push(format!("{} {}", record.target(), record.args()));
    }

    fn flush(&self) {}
}

/// Installs the capturing logger once for the whole binary.
fn capture() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        log::set_boxed_logger(Box::new(Capture)).expect("the first logger");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The launch lines logged so far.
fn launch_lines() -> Vec<String> {
    let lines = LINES.lock().unwrap();
    lines.iter().filter(|line| line.contains("sessions: ")).cloned().collect()
}

#[rocket::async_test]
async fn the_launch_names_the_memory_store_and_its_capacity() {
    capture();
    let rocket = support::app::configured(&[("session_memory_capacity", "8388608")]);
    support::App::launch(rocket).await;
    let lines = launch_lines();
    assert!(
        lines.iter().any(|l| l.ends_with("sessions: memory, in this process, 8 MiB")),
        "{lines:?}"
    );
}

#[cfg(feature = "filesystem")]
#[rocket::async_test]
async fn the_launch_names_the_session_directory() {
    capture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let keys = [("session_type", "filesystem"), ("session_filesystem_dir", path)];
    support::App::launch(support::app::configured(&keys)).await;
    let expected = format!("sessions: files in {path}, at most 500");
    let lines = launch_lines();
    assert!(lines.iter().any(|l| l.ends_with(&expected)), "{lines:?}");
}

#[cfg(feature = "redis")]
#[rocket::async_test]
async fn the_launch_says_a_networked_store_did_not_answer_without_its_password() {
    capture();
    let url = format!("redis://:hunter2@127.0.0.1:{}/0", support::redis::free_port());
    let keys = [
        ("session_type", "redis"),
        ("session_redis_url", url.as_str()),
        ("session_redis_timeout", "300ms"),
    ];
    support::App::launch(support::app::configured(&keys)).await;
    let masked = url.replace("hunter2", "***");
    let lines = launch_lines();
    let line = lines.iter().find(|l| l.contains(&masked)).unwrap_or_else(|| panic!("{lines:?}"));
    assert!(line.contains("not answering at launch"), "{line}");
    assert!(line.contains("503 until it does"), "{line}");
    assert!(lines.iter().all(|l| !l.contains("hunter2")), "{lines:?}");
}

#[cfg(feature = "redis")]
#[rocket::async_test]
async fn the_launch_says_a_networked_store_answered() {
    capture();
    let server = support::redis::RedisServer::start();
    let url = server.url();
    let keys = [("session_type", "redis"), ("session_redis_url", url.as_str())];
    support::App::launch(support::app::configured(&keys)).await;
    let expected = format!("sessions: Redis at {}, answering", server.url());
    let lines = launch_lines();
    assert!(lines.iter().any(|l| l.ends_with(&expected)), "{lines:?}");
}

#[test]
fn a_rocket_key_one_edit_from_a_session_key_is_warned_about() {
    capture();
    let figment = support::figment(&[("sesion_lifetime", "1h")]);
    rocket_typed_session::SessionConfig::from_figment(&figment).unwrap();
    let lines = launch_lines();
    let expected = "the key `sesion_lifetime` is not read; did you mean `session_lifetime`?";
    assert!(lines.iter().any(|l| l.ends_with(expected)), "{lines:?}");
}

#[rocket::async_test]
async fn no_flow_logs_a_session_id() {
    capture();
    let mut ids = Vec::new();

    let (app, store) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    app.get("/map/get/key", Some(&cookie)).await;
    let new = app.get("/login/ada", Some(&cookie)).await.session_cookie().unwrap();
    // A field that no longer decodes is logged.
    let garbage = Changes { set: [("auth.user".to_owned(), vec![0xff])].into(), remove: vec![] };
    store
        .inner
        .update(&storage_key(&new), &garbage, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    app.get("/both", Some(&new)).await;
    // Store failures are logged, on load and on save.
    store.fail_loads(true);
    app.get("/map/get/key", Some(&new)).await;
    store.fail_loads(false);
    store.fail_writes(true);
    app.get("/map/set/key/other", Some(&new)).await;
    store.fail_writes(false);
    app.get("/logout", Some(&new)).await;
    let planted = SessionId::generate(32);
    app.get("/map/set/key/value", Some(planted.expose())).await;
    ids.extend([cookie, new, planted.expose().to_owned()]);

    let (signed, _) = launch_with(&[("session_use_signer", "true")]).await;
    let signed_cookie = signed.get("/map/set/key/value", None).await.session_cookie().unwrap();
    signed.get("/map/get/key", Some(&signed_cookie)).await;
    ids.push(signed_cookie.split('.').next().unwrap().to_owned());
    ids.push(signed_cookie);

    // The release profile warns about a cookie that is not Secure.
    let release = support::figment(&[]).select(rocket::Config::RELEASE_PROFILE);
    rocket_typed_session::SessionConfig::from_figment(&release).unwrap();

    let lines = LINES.lock().unwrap();
    let ours: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("sessions:") || line.starts_with("rocket_typed_session"))
        .collect();
    assert!(
        ours.iter().any(|l| l.contains("cannot load a session")),
        "the flows logged nothing: {ours:?}"
    );
    assert!(ours.iter().any(|l| l.contains("no longer decodes")), "{ours:?}");
    assert!(
        ours.iter().any(|l| l.contains("session_cookie_secure is false in the release profile")),
        "{ours:?}"
    );
    for line in lines.iter() {
        for id in &ids {
            assert!(!line.contains(id.as_str()), "an id in the log: {line}");
        }
    }
}
