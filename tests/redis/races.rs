use redis::AsyncCommands;
use rocket::http::Cookie;

use crate::app_on;
use crate::support::redis::RedisServer;
use crate::support::reply;

#[rocket::async_test]
async fn a_write_racing_a_logout_leaves_the_session_deleted() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    let session = || Cookie::new("session", cookie.clone());
    let (logout, write) = rocket::tokio::join!(
        app.client.get("/barrier/logout").cookie(session()).dispatch(),
        app.client.get("/barrier/late/items/2").cookie(session()).dispatch(),
    );
    assert_eq!(reply(logout).await.body, "logged out");
    assert_eq!(reply(write).await.body, "ok");
    let keys: Vec<String> = server.connection().await.keys("*").await.unwrap();
    assert!(keys.is_empty(), "the session came back: {keys:?}");
}

#[rocket::async_test]
async fn concurrent_writes_to_different_fields_both_stick() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    let session = || Cookie::new("session", cookie.clone());
    let (a, b) = rocket::tokio::join!(
        app.client.get("/barrier/items/2").cookie(session()).dispatch(),
        app.client.get("/barrier/coupon/SAVE").cookie(session()).dispatch(),
    );
    assert_eq!((reply(a).await.body, reply(b).await.body), ("ok".into(), "ok".into()));
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1, 2] coupon=Some(\"SAVE\")");
}

#[rocket::async_test]
async fn after_flushall_old_cookies_are_unknown_ids() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let old = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut server.connection().await).await.unwrap();
    assert_eq!(app.get("/map/get/key", Some(&old)).await.body, "not set");
    let new = app.get("/map/set/key/again", Some(&old)).await.session_cookie().expect("new id");
    assert_ne!(new, old);
}

#[rocket::async_test]
async fn regenerate_moves_the_hash_and_kills_the_old_key() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let old = app.get("/cart/add/7", None).await.session_cookie().unwrap();
    let new = app.get("/login/ada", Some(&old)).await.session_cookie().unwrap();
    assert_ne!(new, old);
    assert_eq!(app.get("/both", Some(&new)).await.body, "items=[7] user=Some(\"ada\")");
    assert_eq!(app.get("/cart", Some(&old)).await.body, "items=[] coupon=None");
    let keys: Vec<String> = server.connection().await.keys("*").await.unwrap();
    assert_eq!(keys.len(), 1);
}

#[rocket::async_test]
async fn revoking_a_user_ends_their_sessions_in_redis() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let laptop = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    let phone = app.get("/login/bound/ada", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/revoke/ada", None).await.body, "2");
    for cookie in [laptop, phone] {
        assert_eq!(
            app.get("/private", Some(&cookie)).await.status,
            rocket::http::Status::Unauthorized
        );
    }
    let keys: Vec<String> = server.connection().await.keys("*").await.unwrap();
    assert!(keys.is_empty(), "sessions and the emptied index are gone: {keys:?}");
}
