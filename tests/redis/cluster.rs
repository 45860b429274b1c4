use rocket::http::Status;

use crate::support::app::configured;
use crate::support::redis::shared_cluster;
use crate::support::App;

async fn cluster_app() -> App {
    let urls = format!("{:?}", shared_cluster().urls());
    App::launch(configured(&[
        ("session_type", "redis_cluster"),
        ("session_redis_cluster_urls", &urls),
    ]))
    .await
}

#[rocket::async_test]
async fn the_quickstart_flow_works_on_a_cluster() {
    let app = cluster_app().await;
    let reply = app.get("/map/set/key/value", None).await;
    assert_eq!(reply.status, Status::Ok);
    let cookie = reply.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
    assert_eq!(app.get("/map/get/key", None).await.body, "not set");
}

#[rocket::async_test]
async fn many_sessions_spread_over_every_master() {
    let app = cluster_app().await;
    let mut cookies = Vec::new();
    for item in 0..30 {
        cookies.push(app.get(&format!("/cart/add/{item}"), None).await.session_cookie().unwrap());
    }
    for (item, cookie) in cookies.iter().enumerate() {
        assert_eq!(
            app.get("/cart", Some(cookie)).await.body,
            format!("items=[{item}] coupon=None")
        );
    }
}

#[rocket::async_test]
async fn regenerate_across_slots_keeps_the_data_and_kills_the_old_id() {
    let app = cluster_app().await;
    let old = app.get("/cart/add/7", None).await.session_cookie().unwrap();
    let new = app.get("/login/ada", Some(&old)).await.session_cookie().unwrap();
    assert_ne!(new, old);
    assert_eq!(app.get("/both", Some(&new)).await.body, "items=[7] user=Some(\"ada\")");
    assert_eq!(app.get("/cart", Some(&old)).await.body, "items=[] coupon=None");
}

#[rocket::async_test]
async fn logout_on_a_cluster_deletes_the_session() {
    let app = cluster_app().await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    app.get("/logout", Some(&cookie)).await;
    assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn revoking_a_user_works_across_slots() {
    let app = cluster_app().await;
    let cookies = [
        app.get("/login/bound/carol", None).await.session_cookie().unwrap(),
        app.get("/login/bound/carol", None).await.session_cookie().unwrap(),
        app.get("/login/bound/carol", None).await.session_cookie().unwrap(),
    ];
    assert_eq!(app.get("/revoke/carol", None).await.body, "3");
    for cookie in cookies {
        assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
    }
}
