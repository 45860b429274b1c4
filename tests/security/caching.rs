use crate::support::app::launch;

#[rocket::async_test]
async fn a_response_setting_the_cookie_is_private_unless_the_handler_chose() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/map/set/key/value", None).await.header("Cache-Control"), Some("private"));
    let own = app.get("/cache/own", None).await;
    assert!(own.session_cookie().is_some());
    assert_eq!(own.header("Cache-Control"), Some("no-store"));
}

#[rocket::async_test]
async fn a_handler_s_own_vary_keeps_its_value_and_gains_cookie() {
    let (app, _) = launch().await;
    let reply = app.get("/vary/Accept-Encoding", None).await;
    assert_eq!(reply.header_values("Vary").collect::<Vec<_>>(), ["Accept-Encoding", "Cookie"]);
}

#[rocket::async_test]
async fn a_handler_that_varies_on_cookie_already_gets_no_second_one() {
    let (app, _) = launch().await;
    let reply = app.get("/vary/Accept-Language,%20cookie", None).await;
    assert_eq!(reply.header_values("Vary").collect::<Vec<_>>(), ["Accept-Language, cookie"]);
}

#[rocket::async_test]
async fn a_handler_that_varies_on_everything_gets_nothing_added() {
    let (app, _) = launch().await;
    let reply = app.get("/vary/*", None).await;
    assert_eq!(reply.header_values("Vary").collect::<Vec<_>>(), ["*"]);
}
