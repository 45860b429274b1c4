use rocket_typed_session::codec::{self, Format};
use rocket_typed_session::store::{Changes, SessionStore};

use crate::support::app::{launch, launch_with, rocket, session_with_cart};
use crate::support::{recording_store, storage_key, App};

#[rocket::async_test]
async fn a_field_whose_type_changed_takes_its_default_and_the_rest_survives() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1, 2]).await;
    app.get("/cart/coupon/SAVE", Some(&cookie)).await;
    // As if an older version had stored `items` as a string.
    let old_shape = codec::encode(Format::Msgpack, "one,two").unwrap();
    let changes = Changes { set: [("cart.items".to_owned(), old_shape)].into(), remove: vec![] };
    store
        .inner
        .update(&storage_key(&cookie), &changes, std::time::Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[] coupon=Some(\"SAVE\")");
}

#[rocket::async_test]
async fn a_field_that_no_longer_decodes_is_rewritten_on_the_next_save() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    let garbage =
        Changes { set: [("cart.items".to_owned(), vec![0xff, 0x00])].into(), remove: vec![] };
    store
        .inner
        .update(&storage_key(&cookie), &garbage, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    app.get("/cart/add/9", Some(&cookie)).await;
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[9] coupon=None");
}

#[rocket::async_test]
async fn a_field_the_struct_no_longer_has_leaves_with_the_next_save_of_its_namespace() {
    let (app, store) = launch().await;
    let cookie = session_with_cart(&app, &[1]).await;
    // As if an older version of `Cart` had a field `legacy`.
    let legacy = codec::encode(Format::Msgpack, &1u8).unwrap();
    let changes = Changes { set: [("cart.legacy".to_owned(), legacy)].into(), remove: vec![] };
    store
        .inner
        .update(&storage_key(&cookie), &changes, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    app.get("/cart/add/2", Some(&cookie)).await;
    let stored = store.record(&storage_key(&cookie)).await.unwrap();
    assert!(!stored.contains_key("cart.legacy"), "{stored:?}");
    assert_eq!(app.get("/cart", Some(&cookie)).await.body, "items=[1, 2] coupon=None");
}

#[rocket::async_test]
async fn json_records_read_back_after_switching_to_msgpack() {
    let store = recording_store();
    let json =
        App::launch(rocket(store.clone(), &[("session_serialization_format", "json")])).await;
    let cookie = session_with_cart(&json, &[4]).await;
    json.get("/map/set/key/value", Some(&cookie)).await;
    let stored = store.record(&storage_key(&cookie)).await.unwrap();
    assert_eq!(&stored["cart.items"][1..], b"[4]");

    let msgpack = App::launch(rocket(store.clone(), &[])).await;
    assert_eq!(msgpack.get("/cart", Some(&cookie)).await.body, "items=[4] coupon=None");
    assert_eq!(msgpack.get("/map/get/key", Some(&cookie)).await.body, "value");
}

#[rocket::async_test]
async fn msgpack_records_read_back_after_switching_to_json() {
    let store = recording_store();
    let msgpack = App::launch(rocket(store.clone(), &[])).await;
    let cookie = session_with_cart(&msgpack, &[4]).await;

    let json =
        App::launch(rocket(store.clone(), &[("session_serialization_format", "json")])).await;
    assert_eq!(json.get("/cart", Some(&cookie)).await.body, "items=[4] coupon=None");
    json.get("/cart/add/5", Some(&cookie)).await;
    assert_eq!(&store.record(&storage_key(&cookie)).await.unwrap()["cart.items"][1..], b"[4,5]");
}

#[rocket::async_test]
async fn msgpack_is_the_default_format() {
    let (app, store) = launch_with(&[]).await;
    let cookie = session_with_cart(&app, &[4]).await;
    let stored = store.record(&storage_key(&cookie)).await.unwrap();
    assert_eq!(codec::decode::<Vec<u32>>(&stored["cart.items"]).unwrap(), vec![4]);
    assert_eq!(stored["cart.items"][0], 0x01);
}
