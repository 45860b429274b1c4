//! The app under test: the same routes and payload for every scenario, each scenario on its
//! own path prefix, so one binary serves them all.

use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::http::{Cookie, CookieJar};
use rocket::{get, routes, Build, Rocket};
use rocket_typed_session::{Session, SessionFairing, SessionMap};
use serde::{Deserialize, Serialize};

/// The payload every scenario reads and writes: about 100 bytes.
#[derive(rocket_typed_session::Session, Default, Serialize, Deserialize)]
#[session(namespace = "profile")]
pub struct Profile {
    name: String,
    visits: u64,
    tags: Vec<String>,
}

fn fresh_profile() -> Profile {
    Profile {
        name: "Ada Lovelace".into(),
        visits: 0,
        tags: vec!["analytical".into(), "engine".into(), "notes".into()],
    }
}

/// Fields and bytes of the large session: 100 fields of 1 KB.
pub const LARGE_FIELDS: usize = 100;
pub const LARGE_FIELD_BYTES: usize = 1024;

#[get("/baseline/<_op>")]
fn baseline(_op: &str) -> String {
    let profile = fresh_profile();
    format!("{} {}", profile.name, profile.visits)
}

#[get("/cookie/read")]
fn cookie_read(jar: &CookieJar<'_>) -> String {
    jar.get_private("profile").map(|c| c.value().len().to_string()).unwrap_or_default()
}

#[get("/cookie/write")]
fn cookie_write(jar: &CookieJar<'_>) -> String {
    let mut profile = jar
        .get_private("profile")
        .and_then(|c| serde_json::from_str::<Profile>(c.value()).ok())
        .unwrap_or_else(fresh_profile);
    profile.visits += 1;
    jar.add_private(Cookie::new("profile", serde_json::to_string(&profile).unwrap()));
    profile.visits.to_string()
}

#[get("/session/read")]
fn session_read(profile: Session<Profile>) -> String {
    format!("{} {}", profile.name, profile.visits)
}

#[get("/session/write")]
fn session_write(mut profile: Session<Profile>) -> String {
    if profile.name.is_empty() {
        *profile = fresh_profile();
    }
    profile.visits += 1;
    profile.visits.to_string()
}

/// Every request changes one 1 KB field of a 100-field session, round robin.
#[get("/large/write")]
fn large_write(mut session: Session<SessionMap>) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    if session.is_empty() {
        for field in 0..LARGE_FIELDS {
            session.insert(format!("f{field}"), &vec![b'x'; LARGE_FIELD_BYTES]).unwrap();
        }
    }
    let request = NEXT.fetch_add(1, Ordering::Relaxed);
    let field = request % LARGE_FIELDS;
    // A value no earlier request wrote, so every request really changes one field.
    let mut value = vec![b'y'; LARGE_FIELD_BYTES];
    value[..8].copy_from_slice(&(request as u64).to_le_bytes());
    session.insert(format!("f{field}"), &value).unwrap();
    session.len().to_string()
}

/// The app with `fairing`, on a Rocket configured by `figment`.
pub fn rocket(figment: rocket::figment::Figment, fairing: SessionFairing) -> Rocket<Build> {
    rocket::custom(figment).attach(fairing).mount(
        "/",
        routes![baseline, cookie_read, cookie_write, session_read, session_write, large_write],
    )
}
