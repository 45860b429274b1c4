use crate::support::app::launch;

#[rocket::async_test]
async fn a_response_setting_the_cookie_is_private_unless_the_handler_chose() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/map/set/key/value", None).await.header("Cache-Control"), Some("private"));
    let own = app.get("/cache/own", None).await;
    assert!(own.session_cookie().is_some());
    assert_eq!(own.header("Cache-Control"), Some("no-store"));
}
