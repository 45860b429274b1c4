use crate::support::app::{launch, session_with_cart};
use crate::support::{storage_key, Call};

#[rocket::async_test]
async fn two_namespaces_in_one_request_share_one_load() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    store.take_calls();
    app.get("/both", Some(&cookie)).await;
    let calls = store.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(matches!(calls[0], Call::Load { .. }));
}

#[rocket::async_test]
async fn a_read_is_one_load_that_refreshes_the_ttl() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    store.take_calls();
    app.get("/cart", Some(&cookie)).await;
    let expected = Call::Load {
        key: storage_key(&cookie),
        touch: Some(std::time::Duration::from_secs(2_678_400)),
    };
    assert_eq!(store.calls(), vec![expected]);
}

#[rocket::async_test]
async fn a_write_is_one_load_and_one_update() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    store.take_calls();
    app.get("/cart/add/2", Some(&cookie)).await;
    let calls = store.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(matches!(calls[1], Call::Update { .. }));
}

#[rocket::async_test]
async fn a_first_write_is_one_create_and_no_load() {
    let (app, store) = launch().await;
    app.get("/cart/add/1", None).await;
    let calls = store.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(matches!(calls[0], Call::Create { .. }));
}

#[rocket::async_test]
async fn only_the_changed_field_is_written() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1, 2]).await;
    store.take_calls();
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    let Some(Call::Update { changes, .. }) = store.calls().pop() else { panic!("no update") };
    assert_eq!(changes.set.keys().collect::<Vec<_>>(), ["cart.coupon"]);
    assert!(changes.remove.is_empty());
}

#[rocket::async_test]
async fn a_mutable_access_that_changes_nothing_writes_nothing() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    store.take_calls();
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    assert!(
        store.calls().iter().all(|call| matches!(call, Call::Load { .. })),
        "{:?}",
        store.calls()
    );
}
