use base64::Engine;
use rocket::figment::Figment;
use rocket_typed_session::{SessionConfig, SessionId};

use crate::support::app::{launch_with, rocket};
use crate::support::{borrowed, figment, recording_store, App};

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

fn signed(secret: &str) -> Vec<(&'static str, String)> {
    vec![("session_use_signer", "true".into()), ("session_secret_key", secret.to_owned())]
}

#[rocket::async_test]
async fn a_signed_cookie_carries_the_id_and_its_signature_and_round_trips() {
    let secret = key(1);
    let (app, _) = launch_with(&borrowed(&signed(&secret))).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let (id, signature) = cookie.split_once('.').expect("id.signature");
    assert_eq!((id.len(), signature.len()), (43, 43));
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

#[rocket::async_test]
async fn a_forged_signature_costs_no_store_call() {
    let (app, store) = launch_with(&borrowed(&signed(&key(1)))).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let (id, _) = cookie.split_once('.').unwrap();
    store.take_calls();
    let forged = format!("{id}.{}", "A".repeat(43));
    let reply = app.get("/map/get/key", Some(&forged)).await;
    assert_eq!(reply.body, "not set");
    assert!(store.calls().is_empty(), "{:?}", store.calls());
}

#[rocket::async_test]
async fn an_unsigned_id_costs_no_store_call() {
    let (app, store) = launch_with(&borrowed(&signed(&key(1)))).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let (id, _) = cookie.split_once('.').unwrap();
    store.take_calls();
    assert_eq!(app.get("/map/get/key", Some(id)).await.body, "not set");
    assert!(store.calls().is_empty());
    let planted = SessionId::generate(32);
    assert_eq!(app.get("/map/get/key", Some(planted.expose())).await.body, "not set");
    assert!(store.calls().is_empty());
}

#[rocket::async_test]
async fn a_rotated_key_keeps_old_cookies_valid_through_the_fallbacks() {
    let store = recording_store();
    let before = App::launch(rocket(store.clone(), &borrowed(&signed(&key(1))))).await;
    let cookie = before.get("/map/set/key/value", None).await.session_cookie().unwrap();

    let mut rotated = signed(&key(2));
    rotated.push(("session_secret_key_fallbacks", format!("[\"{}\"]", key(1))));
    let after = App::launch(rocket(store.clone(), &borrowed(&rotated))).await;
    let reply = after.get("/map/get/key", Some(&cookie)).await;
    assert_eq!(reply.body, "value");
    let resigned = reply.session_cookie().expect("the rolling refresh re-signs with the new key");
    assert_ne!(resigned, cookie);

    let without_fallback = App::launch(rocket(store, &borrowed(&signed(&key(2))))).await;
    assert_eq!(without_fallback.get("/map/get/key", Some(&cookie)).await.body, "not set");
    assert_eq!(without_fallback.get("/map/get/key", Some(&resigned)).await.body, "value");
}

#[rocket::async_test]
async fn rocket_secret_key_signs_when_no_session_key_is_set() {
    let store = recording_store();
    let rocket_key = key(3);
    let first = App::launch(rocket(
        store.clone(),
        &[("session_use_signer", "true"), ("secret_key", &rocket_key)],
    ))
    .await;
    let cookie = first.get("/map/set/key/value", None).await.session_cookie().unwrap();
    let explicit = App::launch(rocket(store, &borrowed(&signed(&rocket_key)))).await;
    assert_eq!(explicit.get("/map/get/key", Some(&cookie)).await.body, "value");
}

fn release(keys: &[(&str, &str)]) -> Figment {
    figment(keys).select(rocket::Config::RELEASE_PROFILE)
}

#[test]
fn the_release_profile_refuses_signing_without_a_fixed_key() {
    let error =
        SessionConfig::from_figment(&release(&[("session_use_signer", "true")])).unwrap_err();
    assert!(error.to_string().contains("session_secret_key"), "{error}");
    let with_key = release(&[("session_use_signer", "true"), ("session_secret_key", &key(1))]);
    assert!(SessionConfig::from_figment(&with_key).is_ok());
}

#[rocket::async_test]
async fn the_debug_profile_signs_with_a_random_key_when_none_is_set() {
    let (app, _) = launch_with(&[("session_use_signer", "true")]).await;
    let cookie = app.get("/map/set/key/value", None).await.session_cookie().unwrap();
    assert!(cookie.contains('.'));
    assert_eq!(app.get("/map/get/key", Some(&cookie)).await.body, "value");
}

#[test]
fn a_short_secret_key_is_refused_naming_the_key() {
    let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
    let error =
        SessionConfig::from_figment(&figment(&[("session_secret_key", &short)])).unwrap_err();
    assert!(error.to_string().contains("session_secret_key"), "{error}");
}

#[test]
fn rocket_zero_secret_key_placeholder_counts_as_no_key() {
    // Rocket's `secrets` feature puts an all-zero key in its defaults when none is set.
    let zero = figment(&[("session_use_signer", "true")]).merge(("secret_key", vec![0u8; 64]));
    assert_eq!(SessionConfig::from_figment(&zero).unwrap().secret_key, None);
    let release = zero.select(rocket::Config::RELEASE_PROFILE);
    assert!(SessionConfig::from_figment(&release).is_err(), "release needs a real key");
}

#[test]
fn rocket_secret_key_given_as_bytes_is_used() {
    let bytes = figment(&[("session_use_signer", "true")]).merge(("secret_key", vec![7u8; 64]));
    let config = SessionConfig::from_figment(&bytes).unwrap();
    assert_eq!(
        config.secret_key,
        rocket_typed_session::config::Secret::parse(&key_bytes_hex(7, 64))
    );
}

fn key_bytes_hex(byte: u8, len: usize) -> String {
    format!("{byte:02x}").repeat(len)
}
