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
    assert!(sessions.read::<Cart>("not-a-cookie").await.unwrap().is_none());
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
    assert!(sessions.read::<Cart>(id).await.unwrap().is_none(), "an unsigned value is refused");
    assert!(store.calls().is_empty());
}
