//! The device list on Redis and on a Redis Cluster, where a user's sessions and their index
//! live in different slots.

use crate::app_on;
use crate::support::app::configured;
use crate::support::devices::{self, log_in, sessions_of};
use crate::support::redis::{shared_cluster, shared_server, RedisServer};
use crate::support::App;

async fn cluster_app(keys: &[(&str, &str)]) -> App {
    let urls = format!("{:?}", shared_cluster().urls());
    let mut all = vec![("session_type", "redis_cluster"), ("session_redis_cluster_urls", &urls)];
    all.extend_from_slice(keys);
    App::launch(configured(&all)).await
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
