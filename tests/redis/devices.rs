//! The device list on Redis and on a Redis Cluster, where a user's sessions and their index
//! live in different slots.

use crate::support::app::{configured, configured_hearing};
use crate::support::devices::{self, log_in, sessions_of, SECOND_TOUCH_INTERVAL};
use crate::support::proxy::CountingProxy;
use crate::support::redis::{
    shared_cluster, shared_sentinel, shared_server, RedisServer, SENTINEL_MASTER,
};
use crate::support::App;
use crate::{app_on, redis_keys};

async fn cluster_app(keys: &[(&str, &str)]) -> App {
    let urls = format!("{:?}", shared_cluster().urls());
    let mut all = vec![("session_type", "redis_cluster"), ("session_redis_cluster_urls", &urls)];
    all.extend_from_slice(keys);
    App::launch(configured(&all)).await
}

async fn sentinel_app() -> App {
    let urls = format!("{:?}", shared_sentinel().urls());
    App::launch(configured(&[
        ("session_type", "redis_sentinel"),
        ("session_redis_sentinel_urls", &urls),
        ("session_redis_sentinel_master", SENTINEL_MASTER),
    ]))
    .await
}

#[rocket::async_test]
async fn last_seen_moves_only_when_the_expiry_is_reset_on_redis() {
    let app = app_on(&shared_server().url(), &[SECOND_TOUCH_INTERVAL]).await;
    devices::last_seen_moves_only_when_the_expiry_is_reset(&app).await;
}

#[rocket::async_test]
async fn last_seen_moves_only_when_the_expiry_is_reset_on_a_cluster() {
    let app = cluster_app(&[SECOND_TOUCH_INTERVAL]).await;
    devices::last_seen_moves_only_when_the_expiry_is_reset(&app).await;
}

#[rocket::async_test]
async fn the_hook_hears_logins_and_revocations_on_redis() {
    let (rocket, heard) = configured_hearing(&redis_keys(&shared_server().url()));
    devices::the_hook_hears_logins_and_revocations(&App::launch(rocket).await, &heard).await;
}

#[rocket::async_test]
async fn the_device_list_works_through_sentinel() {
    let app = sentinel_app().await;
    devices::a_listing_shows_each_session_with_its_client(&app).await;
    devices::a_handle_ends_its_session_for_its_user_only(&app).await;
    devices::signing_out_the_other_devices_keeps_the_callers(&app).await;
}

#[rocket::async_test]
async fn signing_out_the_other_devices_keeps_the_callers_on_a_cluster() {
    devices::signing_out_the_other_devices_keeps_the_callers(&cluster_app(&[]).await).await;
}

#[rocket::async_test]
async fn a_listing_shows_each_session_with_its_client_on_redis() {
    let app = app_on(&shared_server().url(), &[]).await;
    devices::a_listing_shows_each_session_with_its_client(&app).await;
}

#[rocket::async_test]
async fn a_handle_ends_its_session_for_its_user_only_on_redis() {
    let app = app_on(&shared_server().url(), &[]).await;
    devices::a_handle_ends_its_session_for_its_user_only(&app).await;
}

#[rocket::async_test]
async fn signing_out_the_other_devices_keeps_the_callers_on_redis() {
    let app = app_on(&shared_server().url(), &[]).await;
    devices::signing_out_the_other_devices_keeps_the_callers(&app).await;
}

#[rocket::async_test]
async fn a_login_past_the_cap_ends_the_least_recently_active_on_redis() {
    let app = app_on(&shared_server().url(), &[("session_max_per_user", "2")]).await;
    devices::a_login_past_the_cap_ends_the_least_recently_active(&app).await;
}

#[rocket::async_test]
async fn a_listing_shows_each_session_with_its_client_on_a_cluster() {
    devices::a_listing_shows_each_session_with_its_client(&cluster_app(&[]).await).await;
}

#[rocket::async_test]
async fn a_handle_ends_its_session_for_its_user_only_on_a_cluster() {
    devices::a_handle_ends_its_session_for_its_user_only(&cluster_app(&[]).await).await;
}

#[rocket::async_test]
async fn a_login_past_the_cap_ends_the_least_recently_active_on_a_cluster() {
    let app = cluster_app(&[("session_max_per_user", "2")]).await;
    devices::a_login_past_the_cap_ends_the_least_recently_active(&app).await;
}

/// A listing of many sessions is two round trips: `HGETALL` of the index, then one pipeline
/// of `HGETALL` and `PTTL` per session.
#[rocket::async_test]
async fn a_listing_reads_every_session_in_one_pipeline() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    for agent in 0..30 {
        log_in(&app, "pia", &agent.to_string()).await;
    }
    let before = server.command_counts().await;
    assert_eq!(sessions_of(&app, "pia").await.len(), 30);
    let after = server.command_counts().await;
    let ran =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    assert_eq!((ran("hgetall"), ran("pttl")), (31, 30));
}

/// The same listing seen on the wire: the pipeline is one round trip on a standalone server,
/// where every key is on the one node.
#[rocket::async_test]
async fn a_listing_of_ten_sessions_is_two_round_trips() {
    let server = RedisServer::start();
    let proxy = CountingProxy::start(server.port);
    let app = app_on(&format!("redis://127.0.0.1:{}", proxy.port), &[]).await;
    for agent in 0..10 {
        log_in(&app, "ivo", &agent.to_string()).await;
    }
    assert_eq!(sessions_of(&app, "ivo").await.len(), 10);
    proxy.reset();
    assert_eq!(sessions_of(&app, "ivo").await.len(), 10);
    assert_eq!(proxy.round_trips(), 2, "the index, then one pipeline");
}
