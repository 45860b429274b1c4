//! The Redis and Redis Cluster stores behind the real fairing: store traffic, layout, outages
//! and races, each against a private `redis-server` this binary starts.

#[path = "../support/mod.rs"]
mod support;

mod cluster;
mod commands;
mod devices;
mod failover;
mod layout;
mod outage;
mod races;
mod replication;
mod sentinel;
#[cfg(feature = "redis-tls")]
mod tls;

use support::app::configured;
use support::App;

/// The keys of `session_type = "redis"` at `url`.
fn redis_keys(url: &str) -> Vec<(&'static str, &str)> {
    vec![("session_type", "redis"), ("session_redis_url", url)]
}

/// The test app on `session_type = "redis"` at `url`, with `keys` added.
async fn app_on(url: &str, keys: &[(&str, &str)]) -> App {
    let mut all = redis_keys(url);
    all.extend_from_slice(keys);
    App::launch(configured(&all)).await
}
