use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rocket::http::Status;
use rocket_typed_session::store::{FilesystemStore, SessionStore};

use crate::support::app::configured;
use crate::support::conformance::record;
use crate::support::{figment, App};
use crate::{session_files, StalledFile};

async fn app_in(dir: &std::path::Path, keys: &[(&str, &str)]) -> App {
    let dir = dir.to_str().unwrap();
    let mut all = vec![("session_type", "filesystem"), ("session_filesystem_dir", dir)];
    all.extend_from_slice(keys);
    App::launch(configured(&all)).await
}

#[rocket::async_test]
async fn the_quickstart_flow_survives_an_app_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cookie = {
        let app = app_in(dir.path(), &[]).await;
        let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
        assert_eq!(app.get("/cart/add/1", Some(&cookie)).await.status, Status::Ok);
        cookie
    };
    let restarted = app_in(dir.path(), &[]).await;
    assert_eq!(restarted.get("/map/get/key", Some(&cookie)).await.body, "value");
    assert_eq!(restarted.get("/cart", Some(&cookie)).await.body, "items=[1] coupon=None");
}

#[rocket::async_test]
async fn one_private_file_per_session_whose_name_holds_no_id() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let files = session_files(dir.path());
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(!name.contains(&cookie));
    assert!(!String::from_utf8_lossy(&std::fs::read(&files[0]).unwrap()).contains(&cookie));
    assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
}

#[rocket::async_test]
async fn logout_removes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    app.get("/logout", Some(&cookie)).await;
    assert!(session_files(dir.path()).is_empty());
}

#[rocket::async_test]
async fn the_fairing_sweeps_every_n_requests_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemStore::open(dir.path(), 500).unwrap();
    store.create("s:expired", &record(&[("a.x", b"1")]), Duration::from_millis(1)).await.unwrap();
    let app = app_in(dir.path(), &[("session_cleanup_n_requests", "2")]).await;
    app.get("/map/get/key", None).await;
    assert_eq!(session_files(dir.path()).len(), 1, "one request: no sweep yet");
    app.get("/map/get/key", None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !session_files(dir.path()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the expired file was not swept");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[rocket::async_test]
async fn an_unwritable_directory_stops_the_launch_naming_the_key() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let dir = file.path().join("sessions");
    let keys = [("session_type", "filesystem"), ("session_filesystem_dir", dir.to_str().unwrap())];
    let error = rocket_typed_session::SessionConfig::from_figment(&figment(&keys))
        .unwrap()
        .build_store()
        .err()
        .expect("the store cannot be built");
    assert!(error.to_string().contains("session_filesystem_dir"), "{error}");
    let launch = rocket::custom(figment(&keys)).attach(rocket_typed_session::SessionFairing::new());
    match launch.ignite().await {
        Ok(_) => panic!("launch succeeded with an unwritable session directory"),
        Err(error) => assert!(matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_))),
    }
}

#[rocket::async_test]
async fn revoking_a_user_removes_their_session_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    let cookie = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    app.get("/login/bound/ada", None).await;
    assert_eq!(app.get("/revoke/ada", None).await.body, "2");
    assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
    assert!(session_files(dir.path()).is_empty(), "sessions and the emptied index are gone");
}

#[rocket::async_test]
async fn the_test_helpers_work_on_the_filesystem_store() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    let sessions = rocket_typed_session::testing::TestSessions::of(&app.client).unwrap();
    let cookie = sessions
        .create(|s| s.set(&crate::support::app::Cart { items: vec![3], coupon: None }))
        .await
        .unwrap();
    assert_eq!(app.get("/cart/add/4", Some(cookie.value())).await.body, "[3, 4]");
    let cart: crate::support::app::Cart = sessions.read(&cookie).await.unwrap().unwrap();
    assert_eq!(cart.items, vec![3, 4]);
}

#[rocket::async_test]
async fn a_listing_shows_each_session_with_its_client_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    crate::support::devices::a_listing_shows_each_session_with_its_client(&app).await;
}

#[rocket::async_test]
async fn a_handle_ends_its_session_for_its_user_only_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    crate::support::devices::a_handle_ends_its_session_for_its_user_only(&app).await;
}

#[rocket::async_test]
async fn a_login_past_the_cap_ends_the_least_recently_active_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[("session_max_per_user", "2")]).await;
    crate::support::devices::a_login_past_the_cap_ends_the_least_recently_active(&app).await;
}

#[rocket::async_test]
async fn signing_out_the_other_devices_keeps_the_callers_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[]).await;
    crate::support::devices::signing_out_the_other_devices_keeps_the_callers(&app).await;
}

#[rocket::async_test]
async fn last_seen_moves_only_when_the_expiry_is_reset_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[crate::support::devices::SECOND_TOUCH_INTERVAL]).await;
    crate::support::devices::last_seen_moves_only_when_the_expiry_is_reset(&app).await;
}

#[rocket::async_test]
async fn the_hook_hears_logins_and_revocations_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let keys = [("session_type", "filesystem"), ("session_filesystem_dir", path)];
    let (rocket, heard) = crate::support::app::configured_hearing(&keys);
    let app = App::launch(rocket).await;
    crate::support::devices::the_hook_hears_logins_and_revocations(&app, &heard).await;
}

#[rocket::async_test]
async fn a_disk_that_stalls_answers_503_at_session_store_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), &[("session_store_timeout", "300ms")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let _stalled = StalledFile::in_dir(dir.path(), Duration::from_secs(3));
    let reply = app.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable, "{}", reply.body);
    assert_eq!(reply.header("Retry-After"), Some("1"));
}
