//! `Flash`: one-time messages with categories.

use rocket::{get, routes};
use rocket_typed_session::{Flash, Session};

use crate::support::{figment, recording_store, storage_key, App};

#[get("/flash/<category>/<message>")]
fn push(mut flash: Session<Flash>, category: &str, message: &str) -> &'static str {
    flash.push(category, message);
    "ok"
}

#[get("/flash")]
fn take(mut flash: Session<Flash>) -> String {
    let taken: Vec<String> =
        flash.take().into_iter().map(|m| format!("{}:{}", m.category, m.message)).collect();
    taken.join(",")
}

async fn launch() -> (App, crate::support::RecordingStore) {
    let store = recording_store();
    let fairing = rocket_typed_session::SessionFairing::with_store(store.clone());
    let rocket = rocket::custom(figment(&[])).attach(fairing).mount("/", routes![push, take]);
    (App::launch(rocket).await, store)
}

#[rocket::async_test]
async fn messages_are_taken_once_in_order_with_their_categories() {
    let (app, _) = launch().await;
    let cookie = app.get("/flash/info/saved", None).await.session_cookie().unwrap();
    app.get("/flash/error/late", Some(&cookie)).await;
    assert_eq!(app.get("/flash", Some(&cookie)).await.body, "info:saved,error:late");
    assert_eq!(app.get("/flash", Some(&cookie)).await.body, "");
}

#[rocket::async_test]
async fn taking_the_last_message_removes_it_from_the_store() {
    let (app, store) = launch().await;
    let cookie = app.get("/flash/info/saved", None).await.session_cookie().unwrap();
    app.get("/flash", Some(&cookie)).await;
    let record = store.record(&storage_key(&cookie)).await;
    let fields: Vec<String> = record.into_iter().flat_map(|r| r.into_keys()).collect();
    assert!(fields.iter().all(|key| !key.starts_with("flash.")), "{fields:?}");
}

#[rocket::async_test]
async fn a_visitor_without_messages_gets_no_session() {
    let (app, store) = launch().await;
    let reply = app.get("/flash", None).await;
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert!(store.calls().is_empty());
}
