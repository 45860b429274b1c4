use rocket::http::{Cookie, Status};
use rocket_typed_session::testing::TestSessions;

use crate::support::app::{launch, launch_with, Auth, Cart};

#[rocket::async_test]
async fn a_test_can_start_a_request_with_a_session_filled_in() {
    let (app, _) = launch().await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let cookie = sessions
        .create(|s| {
            s.set(&Cart { items: vec![4, 5], coupon: None })?;
            s.set(&Auth { user: Some("ada".into()) })
        })
        .await
        .unwrap();
    assert_eq!(
        app.get("/both", Some(cookie.value())).await.body,
        "items=[4, 5] user=Some(\"ada\")"
    );
}

#[rocket::async_test]
async fn a_test_can_read_the_session_a_response_left_behind() {
    let (app, _) = launch().await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let response = app.client.get("/cart/add/9").dispatch().await;
    let cookie = sessions.cookie_set_by(&response).expect("the response set a cookie");
    let cart: Cart = sessions.read(&cookie).await.unwrap().expect("a stored session");
    assert_eq!(cart.items, vec![9]);
    let garbage = Cookie::new("session", "not-a-cookie");
    assert!(sessions.read::<Cart>(&garbage).await.unwrap().is_none());
}

#[rocket::async_test]
async fn the_helpers_sign_and_verify_when_signing_is_on() {
    let (app, store) = launch_with(&[("session_use_signer", "true")]).await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let cookie = sessions.create(|s| s.set(&Cart { items: vec![1], coupon: None })).await.unwrap();
    assert!(cookie.value().contains('.'), "a signed value");
    assert_eq!(app.get("/cart", Some(cookie.value())).await.body, "items=[1] coupon=None");
    let (id, _) = cookie.value().split_once('.').unwrap();
    store.take_calls();
    let unsigned = Cookie::new("session", id.to_owned());
    assert!(sessions.read::<Cart>(&unsigned).await.unwrap().is_none(), "unsigned is refused");
    assert!(store.calls().is_empty());
}

#[rocket::async_test]
async fn every_helper_speaks_the_configured_cookie() {
    let (app, _) = launch_with(&[("session_cookie_name", "sid")]).await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let cookie = sessions.create(|s| s.set(&Cart { items: vec![1], coupon: None })).await.unwrap();
    assert_eq!(cookie.name(), "sid");
    assert_eq!(sessions.read::<Cart>(&cookie).await.unwrap().unwrap().items, [1]);
    let response = app.client.get("/cart/add/2").dispatch().await;
    let set = sessions.cookie_set_by(&response).expect("a new session's cookie");
    assert_eq!(set.name(), "sid");
    assert_eq!(sessions.read::<Cart>(&set).await.unwrap().unwrap().items, [2]);
    let misnamed = Cookie::new("session", cookie.value().to_owned());
    assert!(!sessions.exists(&misnamed).await.unwrap(), "another cookie's name is not ours");
}

#[rocket::async_test]
async fn a_test_session_can_be_bound_to_a_user_and_revoked() {
    let (app, _) = launch().await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let cookie = sessions
        .create(|s| {
            s.set(&Auth { user: Some("ada".into()) })?;
            s.bind_user("ada")
        })
        .await
        .unwrap();
    assert_eq!(app.get("/revoke/ada", None).await.body, "1");
    assert!(!sessions.exists(&cookie).await.unwrap());
    assert_eq!(app.get("/private", Some(cookie.value())).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn read_tells_a_live_session_without_the_namespace_from_no_session() {
    let (app, _) = launch().await;
    let sessions = TestSessions::of(&app.client).unwrap();
    let cookie = sessions.create(|s| s.set(&Cart { items: vec![1], coupon: None })).await.unwrap();
    assert!(sessions.read::<Auth>(&cookie).await.unwrap().is_none(), "no Auth held");
    assert!(sessions.exists(&cookie).await.unwrap(), "but the session lives");
    app.get("/logout", Some(cookie.value())).await;
    assert!(!sessions.exists(&cookie).await.unwrap());
}
