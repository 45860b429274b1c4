use rocket::http::Cookie;

use crate::support::app::{launch, session_with_cart};
use crate::support::{reply, storage_key};

#[rocket::async_test]
async fn concurrent_requests_changing_different_fields_keep_both_changes() {
    let (app, _) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    let cookie_header = || Cookie::new("session", cookie.clone());
    // Both handlers wait on one barrier, so both load before either saves.
    let (a, b) = rocket::tokio::join!(
        app.client.get("/barrier/items/2").cookie(cookie_header()).dispatch(),
        app.client.get("/barrier/coupon/SAVE").cookie(cookie_header()).dispatch(),
    );
    assert_eq!(reply(a).await.body, "ok");
    assert_eq!(reply(b).await.body, "ok");
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1, 2] coupon=Some(\"SAVE\")");
}

#[rocket::async_test]
async fn a_write_racing_a_logout_does_not_resurrect_the_session() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    let cookie_header = || Cookie::new("session", cookie.clone());
    // Both load first; the write then waits, so the logout deletes the record before the
    // write tries to update it.
    let (logout, write) = rocket::tokio::join!(
        app.client.get("/barrier/logout").cookie(cookie_header()).dispatch(),
        app.client.get("/barrier/late/items/2").cookie(cookie_header()).dispatch(),
    );
    let (logout, write) = (reply(logout).await, reply(write).await);
    assert_eq!(logout.body, "logged out");
    assert_eq!(write.body, "ok");
    assert!(
        write.set_cookies[0].contains("Max-Age=0"),
        "the late write keeps the client's id: {:?}",
        write.set_cookies
    );
    assert_eq!(store.record(&storage_key(&cookie)).await, None, "the session came back");
}
