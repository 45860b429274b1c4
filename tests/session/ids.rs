use rocket::http::Status;

use crate::support::app::launch;
use crate::support::{storage_key, Call};

#[rocket::async_test]
async fn an_unknown_well_formed_id_is_not_adopted() {
    let (app, store) = launch().await;
    let planted = rocket_typed_session::SessionId::generate(32);
    let reply = app.get("/map/set/key/value", Some(planted.expose())).await;
    let issued = reply.session_cookie().expect("a new id is issued");
    assert_ne!(issued, planted.expose());
    assert_eq!(store.record(&storage_key(planted.expose())).await, None);
    assert!(store.record(&storage_key(&issued)).await.is_some());
}

#[rocket::async_test]
async fn malformed_cookies_give_a_fresh_session_without_store_calls() {
    let (app, store) = launch().await;
    let valid = rocket_typed_session::SessionId::generate(32).expose().to_owned();
    let cases = [
        String::new(),
        "a".repeat(10 * 1024),
        format!("{}\0", &valid[1..]),
        "../x".into(),
        "../../../../../../../../../../../../../../etc/passwd".into(),
        format!("{}é", &valid[2..]),
        valid[..42].to_owned(),
        format!("{valid}A"),
        format!("{}=", &valid[1..]),
        format!("\"{}\"", &valid[2..]),
    ];
    for value in cases {
        let reply = app.get_with_cookie("/map/get/key", "session", &value).await;
        assert_eq!(reply.status, Status::Ok, "cookie {value:?}");
        assert_eq!(reply.body, "not set", "cookie {value:?}");
        assert!(reply.set_cookies.is_empty(), "cookie {value:?}");
        assert!(store.calls().is_empty(), "cookie {value:?} caused {:?}", store.calls());
    }
}

#[rocket::async_test]
async fn a_cookie_with_cr_lf_gives_a_fresh_session_without_store_calls() {
    let (app, store) = launch().await;
    let valid = rocket_typed_session::SessionId::generate(32).expose().to_owned();
    // An id's exact length, so that the alphabet check, not the length, refuses it.
    let injected = format!("{}\r\n{}", &valid[..20], &valid[22..]);
    assert_eq!(injected.len(), valid.len());
    let reply = app.get_with_cookie("/map/get/key", "session", &injected).await;
    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.body, "not set");
    assert!(reply.set_cookies.is_empty());
    assert!(store.calls().is_empty(), "{:?}", store.calls());
}

#[rocket::async_test]
async fn a_write_with_a_malformed_cookie_issues_a_new_id() {
    let (app, store) = launch().await;
    let reply = app.get_with_cookie("/map/set/key/value", "session", "../x").await;
    let issued = reply.session_cookie().expect("a new id");
    assert_eq!(issued.len(), 43);
    assert!(store.record(&storage_key(&issued)).await.is_some());
}

/// Whether `haystack` holds `needle` anywhere.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[rocket::async_test]
async fn the_raw_id_never_reaches_the_store() {
    let (app, store) = launch().await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    app.get("/map/set/other/value", Some(&cookie)).await;
    let moved = app.get("/login/bound/ada", Some(&cookie)).await.session_cookie().unwrap();
    app.get("/map/get/key", Some(&moved)).await;
    for id in [&cookie, &moved] {
        let id = id.as_bytes();
        for call in store.calls() {
            let (keys, values): (Vec<&str>, Vec<(&String, &Vec<u8>)>) = match &call {
                Call::Load { key, .. } | Call::Delete { key } => (vec![key], vec![]),
                Call::Create { key, fields } => (vec![key], fields.iter().collect()),
                Call::Update { key, changes } => (vec![key], changes.set.iter().collect()),
                Call::Regenerate { old, new, changes } => {
                    (vec![old, new], changes.set.iter().collect())
                }
                Call::Peek { keys } => (keys.iter().map(String::as_str).collect(), vec![]),
            };
            assert!(keys.iter().all(|key| !holds(key.as_bytes(), id)), "{call:?}");
            for (field, value) in values {
                assert!(!holds(field.as_bytes(), id) && !holds(value, id), "{call:?}");
            }
        }
        let stored = store.record(&storage_key(&moved)).await.expect("the live session");
        assert!(stored
            .iter()
            .all(|(field, value)| !holds(field.as_bytes(), id) && !holds(value, id)));
    }
}

#[rocket::async_test]
async fn id_reports_the_id_a_new_session_gets() {
    let (app, _) = launch().await;
    let reply = app.get("/id", None).await;
    assert_eq!(reply.body.len(), 43);
    assert!(reply.set_cookies.is_empty(), "reading the id stores nothing");
}
