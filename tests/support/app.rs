//! The app the integration tests drive: every guard and session operation behind a route.

use std::sync::{Arc, Mutex};

use rocket::tokio::sync::Barrier;
use rocket::{get, routes, Build, Rocket, State};
use rocket_typed_session::{ExistingSession, Session, SessionEvent, SessionFairing, SessionMap};

use rocket_typed_session::store::SessionStore;

use crate::support::clocked::{ClockedStore, ManualClock};
use crate::support::{figment, recording_store, App, RecordingStore};

#[derive(Session, Default, Debug)]
#[session(namespace = "cart")]
pub struct Cart {
    pub items: Vec<u32>,
    pub coupon: Option<String>,
}

#[derive(Session, Default, Debug)]
pub struct Auth {
    pub user: Option<String>,
}

/// Preferences whose defaults are the struct's own and a function's, not the types'.
#[derive(Session, Debug)]
pub struct Prefs {
    pub theme: String,
    #[session(default = "default_page_size")]
    pub page_size: u32,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs { theme: "dark".into(), page_size: 0 }
    }
}

fn default_page_size() -> u32 {
    20
}

/// A number whose encoding fails when it is 13, to drive a value that cannot be stored.
#[derive(Default, Debug, serde::Deserialize)]
pub struct Fragile(pub u32);

impl serde::Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(serde::ser::Error::custom("13 is never stored"));
        }
        serializer.serialize_u32(self.0)
    }
}

#[derive(Session, Default, Debug)]
pub struct Luck {
    pub number: Fragile,
}

#[get("/plain")]
fn plain() -> &'static str {
    "plain"
}

#[get("/map/set/<key>/<value>")]
fn map_set(mut session: Session<SessionMap>, key: &str, value: &str) -> &'static str {
    session.insert(key, value).unwrap();
    "ok"
}

#[get("/map/get/<key>")]
fn map_get(session: Session<SessionMap>, key: &str) -> String {
    session.get::<String>(key).unwrap_or_else(|| "not set".into())
}

#[get("/map/remove/<key>")]
fn map_remove(mut session: Session<SessionMap>, key: &str) -> &'static str {
    session.remove(key);
    "removed"
}

#[get("/cart")]
fn cart(cart: Session<Cart>) -> String {
    format!("items={:?} coupon={:?}", cart.items, cart.coupon)
}

#[get("/cart/add/<item>")]
fn cart_add(mut cart: Session<Cart>, item: u32) -> String {
    cart.items.push(item);
    format!("{:?}", cart.items)
}

#[get("/cart/coupon/<code>")]
fn cart_coupon(mut cart: Session<Cart>, code: &str) -> &'static str {
    cart.coupon = Some(code.into());
    "ok"
}

#[get("/cart/clear")]
fn cart_clear(mut cart: Session<Cart>) -> &'static str {
    cart.clear();
    "cleared"
}

/// Adds `count` items unless the session would grow too large; then it stays as stored.
#[get("/cart/fill/<count>")]
fn cart_fill(mut cart: Session<Cart>, count: u32) -> (rocket::http::Status, String) {
    let before = cart.items.len();
    cart.items.extend(0..count);
    match cart.check_size() {
        Ok(size) => (rocket::http::Status::Ok, size.to_string()),
        Err(error) => {
            cart.items.truncate(before);
            (rocket::http::Status::PayloadTooLarge, error.to_string())
        }
    }
}

#[get("/cart/empty")]
fn cart_empty(mut cart: Session<Cart>) -> &'static str {
    cart.items.clear();
    "emptied"
}

#[get("/luck/<number>")]
fn luck_set(mut luck: Session<Luck>, number: u32) -> &'static str {
    luck.number = Fragile(number);
    "ok"
}

/// What `check_size` tells of the cart, or why it refused.
fn size_of(cart: &Session<Cart>) -> String {
    cart.check_size().map_or_else(|error| error.to_string(), |size| size.to_string())
}

#[get("/cart/size")]
fn cart_size(cart: Session<Cart>) -> String {
    size_of(&cart)
}

/// What a handler saw, for a request whose own answer the failed save replaces.
#[derive(Default)]
pub struct Seen(Mutex<String>);

/// The cart's size after another namespace failed to encode in the same request, told by
/// `/seen`: the request itself answers 500.
#[get("/luck/unstorable/cart-size")]
fn luck_unstorable_then_cart_size(
    mut luck: Session<Luck>,
    cart: Session<Cart>,
    seen: &State<Seen>,
) -> &'static str {
    luck.number = Fragile(13);
    drop(luck);
    *seen.0.lock().unwrap() = size_of(&cart);
    "ok"
}

#[get("/seen")]
fn seen(seen: &State<Seen>) -> String {
    seen.0.lock().unwrap().clone()
}

/// Takes the namespace mutably and changes nothing, as many handlers do.
#[get("/auth/peek")]
fn auth_peek(mut auth: Session<Auth>) -> String {
    let user = &mut auth.user;
    format!("user={user:?}")
}

/// A logout written as in Flask: the user field emptied, the session kept.
#[get("/logout/field")]
fn logout_field(mut auth: Session<Auth>) -> &'static str {
    auth.user = None;
    "logged out"
}

#[get("/prefs/<theme>/<page_size>")]
fn prefs(mut prefs: Session<Prefs>, theme: &str, page_size: u32) -> String {
    prefs.theme = theme.into();
    prefs.page_size = page_size;
    format!("{prefs:?}", prefs = &*prefs)
}

#[get("/both")]
fn both(cart: Session<Cart>, auth: Session<Auth>) -> String {
    format!("items={:?} user={:?}", cart.items, auth.user)
}

#[get("/login/<user>")]
fn login(mut auth: Session<Auth>, user: &str) -> &'static str {
    auth.regenerate();
    auth.user = Some(user.into());
    "logged in"
}

/// A new id and nothing else: no field changes.
#[get("/regenerate")]
fn regenerate(mut auth: Session<Auth>) -> &'static str {
    auth.regenerate();
    "regenerated"
}

/// A login that binds the session to the user, for "log out everywhere".
#[get("/login/bound/<user>")]
fn login_bound(mut auth: Session<Auth>, user: &str) -> &'static str {
    auth.regenerate();
    auth.user = Some(user.into());
    auth.bind_user(user);
    "logged in"
}

/// Binds the session to the user again, keeping its id, as an app may on a step-up login.
#[get("/bind/<user>")]
fn bind(mut auth: Session<Auth>, user: &str) -> &'static str {
    auth.bind_user(user);
    "bound"
}

#[get("/revoke/<user>")]
async fn revoke(sessions: &State<rocket_typed_session::Sessions>, user: &str) -> String {
    match sessions.revoke_user(user).await {
        Ok(ended) => ended.to_string(),
        Err(error) => format!("failed: {error}"),
    }
}

/// "Log out everywhere" from a logged-in session, with a message left afterwards.
#[get("/revoke-mine/<user>")]
async fn revoke_mine(
    mut auth: Session<'_, Auth>,
    mut map: Session<'_, SessionMap>,
    user: &str,
) -> String {
    let ended = auth.revoke_user(user).await;
    map.insert("flash", "signed out everywhere").unwrap();
    format!("{ended:?}")
}

/// The caller's user's sessions, as JSON.
#[get("/devices")]
async fn devices(auth: Session<'_, Auth>) -> String {
    match auth.sessions_of_user().await {
        Ok(list) => serde_json::to_string(&list).unwrap(),
        Err(error) => format!("failed: {error}"),
    }
}

/// A page of `user`'s sessions, as JSON.
#[get("/devices/of/<user>?<offset>&<limit>")]
async fn devices_of(
    sessions: &State<rocket_typed_session::Sessions>,
    user: &str,
    offset: Option<usize>,
    limit: Option<usize>,
) -> String {
    let listed = sessions.sessions_of_page(user, offset.unwrap_or(0), limit.unwrap_or(usize::MAX));
    match listed.await {
        Ok(list) => serde_json::to_string(&list).unwrap(),
        Err(error) => format!("failed: {error}"),
    }
}

/// Ends the session of `user` that `handle` names.
#[get("/devices/revoke/<user>/<handle>")]
async fn devices_revoke(
    sessions: &State<rocket_typed_session::Sessions>,
    user: &str,
    handle: &str,
) -> String {
    match sessions.revoke_session(user, handle).await {
        Ok(ended) => ended.to_string(),
        Err(error) => format!("failed: {error}"),
    }
}

/// "Sign out my other devices".
#[get("/devices/revoke-others")]
async fn devices_revoke_others(mut auth: Session<'_, Auth>) -> String {
    match auth.revoke_other_sessions().await {
        Ok(ended) => ended.to_string(),
        Err(error) => format!("failed: {error}"),
    }
}

#[get("/label/<label>")]
fn label(mut auth: Session<Auth>, label: &str) -> &'static str {
    auth.set_label(label);
    "labelled"
}

/// Destroys through one guard, then writes through another taken before.
#[get("/logout-then-cart/<item>")]
fn logout_then_cart(mut auth: Session<Auth>, mut cart: Session<Cart>, item: u32) -> &'static str {
    auth.destroy();
    cart.items.push(item);
    "ok"
}

#[get("/logout")]
fn logout(mut auth: Session<Auth>) -> &'static str {
    auth.destroy();
    "logged out"
}

#[get("/logout-with-flash")]
fn logout_with_flash(mut session: Session<SessionMap>) -> &'static str {
    session.destroy();
    session.insert("flash", "bye").unwrap();
    "logged out"
}

#[get("/private")]
fn private(auth: ExistingSession<Auth>) -> String {
    format!("user={:?}", auth.user)
}

#[get("/id")]
fn id(session: Session<SessionMap>) -> String {
    session.id().expose().to_owned()
}

#[get("/about")]
fn about(session: Session<SessionMap>) -> String {
    format!("new={} permanent={}", session.is_new(), session.is_permanent())
}

#[get("/permanent/<permanent>")]
fn permanent(mut session: Session<SessionMap>, permanent: bool) -> &'static str {
    session.set_permanent(permanent);
    "ok"
}

/// A body with a header of the handler's own, one the fairing may also write.
#[derive(rocket::Responder)]
pub struct OwnHeader {
    body: &'static str,
    header: rocket::http::Header<'static>,
}

impl OwnHeader {
    fn new(name: &'static str, value: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        OwnHeader { body: "ok", header: rocket::http::Header::new(name, value) }
    }
}

/// A handler that sets its own caching policy while writing the session.
#[get("/cache/own")]
fn cache_own(mut session: Session<SessionMap>) -> OwnHeader {
    session.insert("key", "value").unwrap();
    OwnHeader::new("Cache-Control", "no-store")
}

/// A handler that reads the session and sets a `Vary` of its own.
#[get("/vary/<value>")]
fn vary_own(session: Session<SessionMap>, value: String) -> OwnHeader {
    let _ = session.get::<String>("key");
    OwnHeader::new("Vary", value)
}

#[get("/barrier/items/<item>")]
async fn barrier_items(
    mut cart: Session<'_, Cart>,
    barrier: &State<Barrier>,
    item: u32,
) -> &'static str {
    barrier.wait().await;
    cart.items.push(item);
    "ok"
}

/// Like `barrier_items`, but finishes well after the other request at the barrier.
#[get("/barrier/late/items/<item>")]
async fn barrier_late_items(
    mut cart: Session<'_, Cart>,
    barrier: &State<Barrier>,
    item: u32,
) -> &'static str {
    barrier.wait().await;
    rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    cart.items.push(item);
    "ok"
}

#[get("/barrier/coupon/<code>")]
async fn barrier_coupon(
    mut cart: Session<'_, Cart>,
    barrier: &State<Barrier>,
    code: &str,
) -> &'static str {
    barrier.wait().await;
    cart.coupon = Some(code.into());
    "ok"
}

#[get("/barrier/logout")]
async fn barrier_logout(mut auth: Session<'_, Auth>, barrier: &State<Barrier>) -> &'static str {
    barrier.wait().await;
    auth.destroy();
    "logged out"
}

/// The test app on `store`, with `keys` merged into the configuration.
pub fn rocket(store: impl SessionStore, keys: &[(&str, &str)]) -> Rocket<Build> {
    with_fairing(SessionFairing::with_store(store), keys)
}

/// The test app with `fairing`, with `keys` merged into the configuration.
pub fn with_fairing(fairing: SessionFairing, keys: &[(&str, &str)]) -> Rocket<Build> {
    with_routes(rocket::custom(figment(keys)).attach(fairing))
}

/// The test app on the store its configuration names.
pub fn configured(keys: &[(&str, &str)]) -> Rocket<Build> {
    with_routes(rocket::custom(figment(keys)).attach(SessionFairing::new()))
}

/// What an app's audit hook heard, in order.
#[derive(Clone, Default)]
pub struct Heard(Arc<Mutex<Vec<SessionEvent>>>);

impl Heard {
    /// The events heard since the last call.
    pub fn take(&self) -> Vec<SessionEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// `fairing`, telling this of every event.
    pub fn listening(&self, fairing: SessionFairing) -> SessionFairing {
        let heard = self.0.clone();
        fairing.on_event(move |event| heard.lock().unwrap().push(event.clone()))
    }
}

/// The test app on the store its configuration names, with an audit hook.
pub fn configured_hearing(keys: &[(&str, &str)]) -> (Rocket<Build>, Heard) {
    let heard = Heard::default();
    (with_fairing(heard.listening(SessionFairing::new()), keys), heard)
}

fn with_routes(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.manage(Barrier::new(2)).manage(Seen::default()).mount(
        "/",
        routes![
            plain,
            about,
            map_set,
            map_get,
            map_remove,
            cart,
            cart_add,
            cart_coupon,
            cart_clear,
            cart_empty,
            cart_fill,
            cart_size,
            luck_set,
            luck_unstorable_then_cart_size,
            seen,
            auth_peek,
            logout_field,
            prefs,
            both,
            login,
            login_bound,
            bind,
            regenerate,
            revoke,
            logout,
            logout_with_flash,
            revoke_mine,
            logout_then_cart,
            private,
            id,
            permanent,
            cache_own,
            vary_own,
            barrier_items,
            barrier_late_items,
            barrier_coupon,
            barrier_logout,
            devices,
            devices_of,
            devices_revoke,
            devices_revoke_others,
            label,
        ],
    )
}

/// The test app on a fresh recording store with the default configuration.
pub async fn launch() -> (App, RecordingStore) {
    launch_with(&[]).await
}

pub async fn launch_with(keys: &[(&str, &str)]) -> (App, RecordingStore) {
    let store = recording_store();
    (App::launch(rocket(store.clone(), keys)).await, store)
}

/// The test app on a store whose expiry follows `clock`, which also judges the absolute
/// lifetime.
pub async fn launch_clocked(clock: &ManualClock, keys: &[(&str, &str)]) -> (App, ClockedStore) {
    let store = ClockedStore::new(clock);
    let fairing = SessionFairing::with_store(store.clone()).with_clock(clock.clone());
    (App::launch(with_fairing(fairing, keys)).await, store)
}

/// Starts a session holding a cart with `items`; returns its cookie value.
pub async fn session_with_cart(app: &App, items: &[u32]) -> String {
    let mut cookie = None;
    for item in items {
        let reply = app.get(&format!("/cart/add/{item}"), cookie.as_deref()).await;
        cookie = cookie.or(reply.session_cookie());
    }
    cookie.expect("a cookie was set")
}
