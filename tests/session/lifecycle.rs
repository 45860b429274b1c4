use rocket::http::Status;

use crate::support::app::launch;

#[rocket::async_test]
async fn a_session_that_is_never_changed_stores_nothing_and_sets_no_cookie() {
    let (app, store) = launch().await;
    let reply = app.get("/map/get/key", None).await;
    assert_eq!(reply.body, "not set");
    assert!(reply.set_cookies.is_empty());
    assert!(store.calls().is_empty(), "{:?}", store.calls());
    assert!(store.inner.is_empty());
}

#[rocket::async_test]
async fn a_value_set_in_one_request_is_read_in_the_next() {
    let (app, _) = launch().await;
    let reply = app.get("/map/set/key/value", None).await;
    assert_eq!(reply.body, "ok");
    let cookie = reply.session_cookie().expect("the first write sets a cookie");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

#[rocket::async_test]
async fn a_value_can_be_modified_and_the_cookie_stays_the_same() {
    let (app, _) = launch().await;
    let cookie = app.get("/map/set/key/one", None).await.session_cookie().unwrap();
    let reply = app.get("/map/set/key/two", Some(&cookie)).await;
    let sent = reply.session_cookie();
    assert!(sent.as_ref().is_none_or(|sent| *sent == cookie), "{sent:?}");
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "two");
}

#[rocket::async_test]
async fn a_removed_value_is_gone_from_the_store() {
    let (app, store) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    app.get("/map/set/other/kept", Some(&cookie)).await;
    app.get("/map/remove/key", Some(&cookie)).await;
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "not set");
    let record = store.record(&crate::support::storage_key(&cookie)).await.unwrap();
    assert_eq!(record.keys().collect::<Vec<_>>(), ["map.other"]);
}

#[rocket::async_test]
async fn typed_fields_persist_across_requests() {
    let (app, _) = launch().await;
    let cookie = crate::support::app::session_with_cart(&app, &[1, 2, 3]).await;
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1, 2, 3] coupon=Some(\"SAVE\")");
}

#[rocket::async_test]
async fn a_route_without_a_session_guard_costs_nothing() {
    let (app, store) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    store.take_calls();
    let reply = app.get("/plain", Some(&cookie)).await;
    assert_eq!(reply.status, Status::Ok);
    assert!(store.calls().is_empty());
    assert!(reply.set_cookies.is_empty());
    assert_eq!(reply.header("Vary"), None);
}

#[rocket::async_test]
async fn a_response_that_read_a_session_varies_on_cookie() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/map/get/key", None).await.header("Vary"), Some("Cookie"));
}

#[rocket::async_test]
async fn existing_session_forwards_with_401_without_a_session() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/private", None).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn existing_session_forwards_with_401_when_its_namespace_is_empty() {
    let (app, _) = launch().await;
    let cookie = crate::support::app::session_with_cart(&app, &[1]).await;
    assert_eq!(app.get("/private", Some(&cookie)).await.status, Status::Unauthorized);
}

#[rocket::async_test]
async fn existing_session_admits_a_client_whose_namespace_holds_data() {
    let (app, _) = launch().await;
    let cookie = app.get("/login/ada", None).await.session_cookie().unwrap();
    let reply = app.get("/private", Some(&cookie)).await;
    assert_eq!((reply.status, reply.body.as_str()), (Status::Ok, "user=Some(\"ada\")"));
}

#[rocket::async_test]
async fn a_session_is_new_until_it_is_stored() {
    let (app, _) = launch().await;
    assert_eq!(app.get("/about", None).await.body, "new=true permanent=true");
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/about", Some(&cookie)).await.body, "new=false permanent=true");
}

#[rocket::async_test]
async fn a_session_made_non_permanent_says_so_in_later_requests() {
    let (app, _) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/permanent/false", Some(&cookie)).await.status, Status::Ok);
    assert_eq!(app.get("/about", Some(&cookie)).await.body, "new=false permanent=false");
}

#[rocket::async_test]
async fn a_stored_session_reports_the_id_its_cookie_holds() {
    let (app, _) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert_eq!(app.get("/id", Some(&cookie)).await.body, cookie);
}
