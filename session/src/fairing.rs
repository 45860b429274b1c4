//! [`SessionFairing`]: configuration and store at ignition; then HTTP only: after each
//! response it has [`save`](crate::save) store what the request changed, and writes
//! `Set-Cookie`, `Vary`, `Cache-Control`, and the 503 with `Retry-After` when the store failed.

use std::io::Cursor;
use std::sync::Arc;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::{Build, Request, Response, Rocket};

use crate::clock::{Clock, SystemClock};
use crate::config::SessionConfig;
use crate::cookie;
use crate::error::Error;
use crate::events::{Hook, SessionEvent};
use crate::save::{save, CookieChange};
use crate::sessions::Sessions;
use crate::state::RequestState;
use crate::store::SessionStore;

/// Sessions for a Rocket app: attach it once.
///
/// At ignition it reads the `session_*` keys (see [`SessionConfig`]), builds the store they
/// name (or takes the one given to [`with_store`](SessionFairing::with_store)) and manages
/// [`Sessions`]; a configuration error stops the launch with a message naming the key. It
/// logs one line naming the store and where it is (`sessions: Redis at
/// redis://cache:6379/0, answering`, passwords masked); a networked store that does not
/// answer a ping is a warning, not a failed launch. When
/// a response leaves, it saves what the request's guards changed with one store call and sets,
/// refreshes or expires the cookie.
///
/// ```
/// use rocket_typed_session::SessionFairing;
///
/// let rocket = rocket::build().attach(SessionFairing::new());
/// ```
#[derive(Clone)]
pub struct SessionFairing {
    store: Option<Arc<dyn SessionStore>>,
    clock: Arc<dyn Clock>,
    hook: Option<Hook>,
}

impl Default for SessionFairing {
    fn default() -> Self {
        SessionFairing { store: None, clock: Arc::new(SystemClock), hook: None }
    }
}

impl SessionFairing {
    /// Sessions in the store `session_type` names (the memory store by default).
    pub fn new() -> Self {
        SessionFairing::default()
    }

    /// Sessions in `store`, built in code; `session_type` and the store's own keys are then
    /// ignored, the other `session_*` keys still apply.
    pub fn with_store(store: impl SessionStore) -> Self {
        SessionFairing { store: Some(Arc::new(store)), ..SessionFairing::default() }
    }

    /// Judges the absolute timeout by `clock` instead of the system clock: for tests of
    /// timeouts that move time by hand rather than sleep.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `hook` with every [`SessionEvent`]: a session created, regenerated, bound to a
    /// user or destroyed, and a user's sessions revoked, each once the store has accepted the
    /// change (a save that failed tells nothing). Sessions are named by their
    /// [`SessionHandle`](crate::SessionHandle), never their id. The hook runs on the request's
    /// task after the save and costs no store call; keep it quick (hand slow work to a
    /// channel).
    ///
    /// ```
    /// use rocket_typed_session::{SessionEvent, SessionFairing};
    ///
    /// let fairing = SessionFairing::new().on_event(|event| {
    ///     if let SessionEvent::Revoked { user, count } = event {
    ///         println!("audit: {count} sessions of {user} revoked");
    ///     }
    /// });
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&SessionEvent) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }
}

/// Logs one line at launch naming the store and where it is, and whether a store elsewhere
/// answered. One that does not answer is no reason to stop (session routes recover once it
/// does); one that answers with a refusal (a table without the columns the store needs) is,
/// and `false` says so.
async fn announce(store: &dyn SessionStore) -> bool {
    let store_line = store.describe();
    match store.ping().await {
        None => log::info!("sessions: {store_line}"),
        Some(Ok(())) => log::info!("sessions: {store_line}, answering"),
        Some(Err(error)) if error.is_unavailable() => log::warn!(
            "sessions: {store_line}, not answering at launch ({error}); session routes \
             answer 503 until it does"
        ),
        Some(Err(error)) => {
            log::error!("sessions: {store_line} refuses the sessions: {error}");
            return false;
        }
    }
    true
}

#[rocket::async_trait]
impl Fairing for SessionFairing {
    fn info(&self) -> Info {
        Info { name: "Typed Sessions", kind: Kind::Ignite | Kind::Response }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let config = match SessionConfig::from_figment(rocket.figment()) {
            Ok(config) => config,
            Err(error) => {
                log::error!("sessions: {error}");
                return Err(rocket);
            }
        };
        let store = match &self.store {
            Some(store) => store.clone(),
            None => match config.build_store() {
                Ok(store) => store,
                Err(error) => {
                    log::error!("sessions: {error}");
                    return Err(rocket);
                }
            },
        };
        if !announce(store.as_ref()).await {
            return Err(rocket);
        }
        let sessions = Sessions::new(store, config, self.clock.clone(), self.hook.clone());
        Ok(rocket.manage(sessions))
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(state) = RequestState::used_by(req) else {
            return;
        };
        match state {
            Ok(state) => {
                match save(state, req).await {
                    Ok(change) => {
                        if let Some(cookie) = cookie_header(state.sessions(), change) {
                            set_cookie(res, cookie);
                        }
                    }
                    Err(error) => fail(res, &error),
                }
                state.sessions().count_request();
            }
            // The guard already answered with this error; say when to come back.
            Err(error) if res.status() == Status::ServiceUnavailable => {
                if error.status() == Status::ServiceUnavailable {
                    res.set_raw_header("Retry-After", RETRY_AFTER_SECS);
                }
            }
            Err(_) => {}
        }
        vary_on_cookie(res);
    }
}

/// Seconds a client is asked to wait after a 503 caused by the store.
const RETRY_AFTER_SECS: &str = "1";

/// The `Set-Cookie` header a cookie change needs, if any.
fn cookie_header(sessions: &Sessions, change: CookieChange) -> Option<Header<'static>> {
    match change {
        CookieChange::Keep => None,
        CookieChange::Set { id, max_age } => {
            Some(cookie::set(sessions.config(), sessions.cookie_value(&id), max_age))
        }
        CookieChange::Remove => Some(cookie::remove(sessions.config())),
    }
}

fn set_cookie(res: &mut Response<'_>, cookie: Header<'static>) {
    res.adjoin_header(cookie);
    // A shared cache must never hand one client's session cookie to another.
    if !crate::headers::contains(res.headers(), "Cache-Control") {
        res.set_raw_header("Cache-Control", "private");
    }
}

/// Replaces the response: the client must not be told a write succeeded, nor get a cookie
/// for a session that was not stored.
fn fail(res: &mut Response<'_>, error: &Error) {
    let status = error.status();
    crate::outage::log_failure(status, format_args!("cannot save the session: {error}"));
    let body = format!("{status}: the session could not be saved");
    *res = Response::build()
        .status(status)
        .header(ContentType::Plain)
        .sized_body(body.len(), Cursor::new(body))
        .finalize();
    if status == Status::ServiceUnavailable {
        res.set_raw_header("Retry-After", RETRY_AFTER_SECS);
    }
}

/// A response that depends on the session must not be served from a cache to another client.
fn vary_on_cookie(res: &mut Response<'_>) {
    // Most responses carry no `Vary`: the header names tell so, and `Cookie` goes in at
    // once, where reading and splitting every value first, then adjoining, cost more.
    if !crate::headers::contains(res.headers(), "Vary") {
        res.set_raw_header("Vary", "Cookie");
        return;
    }
    let varies = crate::headers::values(res.headers(), "Vary")
        .flat_map(|value| value.split(','))
        .any(|token| {
            let token = token.trim();
            token == "*" || token.eq_ignore_ascii_case("cookie")
        });
    if !varies {
        res.adjoin_raw_header("Vary", "Cookie");
    }
}
