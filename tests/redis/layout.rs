use redis::AsyncCommands;

use crate::app_on;
use crate::support::redis::RedisServer;

#[rocket::async_test]
async fn a_session_is_one_prefixed_hash_with_the_lifetime_as_ttl() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    let mut redis = server.connection().await;
    let keys: Vec<String> = redis.keys("*").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    assert!(key.starts_with("session:") && key.len() == "session:".len() + 64, "{key}");
    let kind: String = redis::cmd("TYPE").arg(key).query_async(&mut redis).await.unwrap();
    assert_eq!(kind, "hash");
    let mut fields: Vec<String> = redis.hkeys(key).await.unwrap();
    fields.sort();
    assert_eq!(fields, ["cart.coupon", "cart.items"]);
    let ttl: i64 = redis.pttl(key).await.unwrap();
    assert!((2_678_400_000 - 10_000..=2_678_400_000).contains(&ttl), "ttl {ttl} ms");
}

#[rocket::async_test]
async fn the_key_prefix_is_configurable() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[("session_key_prefix", "myapp:sess:")]).await;
    app.get("/cart/add/1", None).await;
    let keys: Vec<String> = server.connection().await.keys("*").await.unwrap();
    assert!(keys[0].starts_with("myapp:sess:"), "{keys:?}");
}

#[rocket::async_test]
async fn the_raw_id_appears_nowhere_in_redis() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let before_login = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let live = app.get("/login/bound/ada", Some(&before_login)).await.session_cookie().unwrap();
    assert_eq!(app.get("/map/get/key", Some(&live)).await.body, "value", "the live session");
    let mut redis = server.connection().await;
    let keys: Vec<String> = redis.keys("*").await.unwrap();
    assert_eq!(keys.len(), 2, "the session and the user index: {keys:?}");
    for id in [&live, &before_login] {
        for key in &keys {
            assert!(!key.contains(id.as_str()));
            let values: Vec<(String, Vec<u8>)> = redis.hgetall(key).await.unwrap();
            for (field, value) in values {
                assert!(!field.contains(id.as_str()));
                assert!(!String::from_utf8_lossy(&value).contains(id.as_str()));
            }
        }
    }
}

#[rocket::async_test]
async fn a_field_that_no_longer_decodes_costs_only_that_field() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    let mut redis = server.connection().await;
    let key: String = redis.keys::<_, Vec<String>>("*").await.unwrap().remove(0);
    let _: () = redis.hset(&key, "cart.items", b"\x01\xc1garbage".as_slice()).await.unwrap();
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[] coupon=Some(\"SAVE\")");
}

#[rocket::async_test]
async fn a_session_key_of_another_type_is_a_clear_error() {
    let server = RedisServer::start();
    let app = app_on(&server.url(), &[]).await;
    let cookie = app.get("/cart/add/1", None).await.session_cookie().unwrap();
    let mut redis = server.connection().await;
    let key: String = redis.keys::<_, Vec<String>>("*").await.unwrap().remove(0);
    let _: () = redis.del(&key).await.unwrap();
    let _: () = redis.set(&key, "not a hash").await.unwrap();
    let reply = app.get("/cart", Some(&cookie)).await;
    assert_eq!(reply.status, rocket::http::Status::InternalServerError);
    let stored: String = redis.get(&key).await.unwrap();
    assert_eq!(stored, "not a hash", "nothing stored is lost");
}
