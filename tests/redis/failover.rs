//! Redis Cluster with replicas when a master dies or is replaced: 503s bounded by the
//! timeout, never an empty session written over the real one, and recovery without a
//! restart of the app.

use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::support::app::configured;
use crate::support::redis::RedisCluster;
use crate::support::{storage_key, App};

const TIMEOUT: Duration = Duration::from_millis(500);
/// How long past the configured timeout a 503 may take on this shared, noisy machine.
const MARGIN: Duration = Duration::from_millis(1500);
/// `cluster-node-timeout` in the harness: a dead master is reported failed after it.
const NODE_TIMEOUT: Duration = Duration::from_secs(2);
/// Failover takes the cluster's node timeout plus an election.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

async fn app_on(cluster: &RedisCluster, wait_replicas: &str) -> App {
    let urls = format!("{:?}", cluster.urls());
    App::launch(configured(&[
        ("session_type", "redis_cluster"),
        ("session_redis_cluster_urls", &urls),
        ("session_redis_timeout", "500ms"),
        ("session_redis_wait_replicas", wait_replicas),
    ]))
    .await
}

/// Asks for `key` until it reads back; every answer on the way must be a bounded 503.
/// Returns how long that took.
async fn until_readable(app: &App, cookie: &str, value: &str) -> Duration {
    let started = Instant::now();
    loop {
        let asked = Instant::now();
        let reply = app.get("/map/get/key", Some(cookie)).await;
        let took = asked.elapsed();
        assert!(took < TIMEOUT + MARGIN, "a request took {took:?}");
        match reply.status {
            Status::Ok => {
                assert_eq!(reply.body, value, "the session survived with its data");
                let kept = reply.session_cookie().is_none_or(|id| id == cookie);
                assert!(kept, "the same id is kept: {:?}", reply.set_cookies);
                return started.elapsed();
            }
            Status::ServiceUnavailable => {}
            other => panic!("only 200 or 503 may answer, got {other}"),
        }
        assert!(started.elapsed() < RECOVERY_LIMIT, "no recovery within {RECOVERY_LIMIT:?}");
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cookie of a first write with `session_redis_wait_replicas = 1`. On a loaded 2-core
/// machine a replica's acknowledgement can miss its window (a 503, as designed), so the write
/// is tried a few times: what these tests check starts after it.
async fn first_session(app: &App) -> String {
    for _ in 0..5 {
        let reply = app.get("/map/set/key/value", None).await;
        if let Some(cookie) = reply.session_cookie() {
            return cookie;
        }
        assert_eq!(reply.status, Status::ServiceUnavailable, "only a 503 may refuse it");
    }
    panic!("five first writes in a row were refused");
}

#[rocket::async_test]
async fn when_a_master_dies_its_sessions_answer_503_then_come_back_from_the_replica_intact() {
    let mut cluster = RedisCluster::start(3, 1);
    let app = app_on(&cluster, "1").await;
    let cookie = first_session(&app).await;
    let master = cluster.master_of(&storage_key(&cookie));

    cluster.nodes[master].stop();
    let recovery = until_readable(&app, &cookie, "value").await;
    println!("recovered after {recovery:?}");
    // The promoted replica has no replica of its own: a write cannot be made durable.
    let reply = app.get("/map/set/key/written", Some(&cookie)).await;
    assert_eq!(reply.status, Status::ServiceUnavailable);

    cluster.restart(master);
    assert_eq!(app.get("/map/set/key/written", Some(&cookie)).await.status, Status::Ok);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "written");
}

/// Twelve sessions: the first's cookie, the index of the master holding it, and the cookies
/// of those on other masters.
async fn sessions_beside_a_victim(
    app: &App,
    cluster: &RedisCluster,
) -> (String, usize, Vec<String>) {
    let mut cookies = Vec::new();
    for _ in 0..12 {
        cookies.push(app.get("/map/set/key/value", None).await.session_cookie().unwrap());
    }
    let victim = cookies.remove(0);
    let master = cluster.master_of(&storage_key(&victim));
    cookies.retain(|c| cluster.master_of(&storage_key(c)) != master);
    assert!(!cookies.is_empty(), "twelve sessions all on one master");
    (victim, master, cookies)
}

/// Stops the victim's master, then writes and reads every other session every 100 ms until
/// the victim's own session reads back past the node timeout. Returns when, after the stop,
/// requests were answered 503; anything else but the written value fails the test.
async fn probe_through_a_failover(app: &App, cluster: &mut RedisCluster) -> Vec<Duration> {
    let (victim, master, elsewhere) = sessions_beside_a_victim(app, cluster).await;
    cluster.nodes[master].stop();
    let stopped = Instant::now();
    let mut refused = Vec::new();
    for round in 0.. {
        for cookie in &elsewhere {
            let asked = Instant::now();
            let value = format!("round{round}");
            let wrote = app.get(&format!("/map/set/key/{value}"), Some(cookie)).await;
            let read = app.get("/map/get/key", Some(cookie)).await;
            let at = stopped.elapsed();
            assert!(asked.elapsed() < 2 * (TIMEOUT + MARGIN), "{at:?} after the stop");
            match (wrote.status, read.status) {
                (Status::Ok, Status::Ok) => assert_eq!(read.body, value, "{at:?} after the stop"),
                (Status::ServiceUnavailable, _) | (_, Status::ServiceUnavailable) => {
                    refused.push(at)
                }
                other => panic!("{other:?} {at:?} after the stop"),
            }
        }
        let victim_back = app.get("/map/get/key", Some(&victim)).await.status == Status::Ok;
        if victim_back && stopped.elapsed() > NODE_TIMEOUT {
            println!("{round} rounds over {:?}; 503s at {refused:?}", stopped.elapsed());
            return refused;
        }
        assert!(stopped.elapsed() < RECOVERY_LIMIT, "no failover within {RECOVERY_LIMIT:?}");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!()
}

#[rocket::async_test]
async fn while_a_master_is_down_other_masters_answer_until_the_cluster_reports_it_failed() {
    let mut cluster = RedisCluster::start(3, 1);
    let app = app_on(&cluster, "0").await;
    // Redis's default, cluster-require-full-coverage yes: once the node timeout has passed
    // and the master is reported failed, every node refuses queries until its replica is
    // promoted, so the other sessions get bounded 503s for that moment too.
    let refused = probe_through_a_failover(&app, &mut cluster).await;
    assert!(refused.iter().all(|at| *at >= NODE_TIMEOUT), "a 503 before the report: {refused:?}");
}

#[rocket::async_test]
async fn with_partial_coverage_other_masters_answer_throughout_a_failover() {
    let mut cluster = RedisCluster::start(3, 1);
    cluster.allow_partial_coverage();
    let app = app_on(&cluster, "0").await;
    let refused = probe_through_a_failover(&app, &mut cluster).await;
    assert!(refused.is_empty(), "sessions on the live masters were refused at {refused:?}");
}

#[rocket::async_test]
async fn after_a_manual_promotion_sessions_follow_the_new_master() {
    let cluster = RedisCluster::start(3, 1);
    let app = app_on(&cluster, "1").await;
    let cookie = first_session(&app).await;
    let master = cluster.master_of(&storage_key(&cookie));
    let replica = cluster.replica_of(master);

    cluster.promote(replica);
    let recovery = until_readable(&app, &cookie, "value").await;
    println!("recovered after {recovery:?}");
    let promoted = || cluster.find_master_of(&storage_key(&cookie)) == Some(replica);
    let deadline = Instant::now() + RECOVERY_LIMIT;
    while !promoted() {
        assert!(Instant::now() < deadline, "the replica was never promoted");
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.get("/map/set/key/moved", Some(&cookie)).await.status, Status::Ok);
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "moved");
}
