//! [`SessionFairing`]: configuration and store at ignition; the one save per request in
//! `on_response`.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::{Build, Request, Response, Rocket};

use crate::clock::{Clock, SystemClock};
use crate::config::SessionConfig;
use crate::cookie;
use crate::error::Error;
use crate::id::SessionId;
use crate::revocation;
use crate::sessions::Sessions;
use crate::state::{Plan, RequestState, Slot, Write};
use crate::store::{self, Regenerated, SessionStore};

/// How many fresh ids a save draws before giving up on finding a free one.
const ID_ATTEMPTS: usize = 3;

/// Sessions for a Rocket app: attach it once.
///
/// At ignition it reads the `session_*` keys (see [`SessionConfig`]), builds the store they
/// name (or takes the one given to [`with_store`](SessionFairing::with_store)) and manages
/// [`Sessions`]; a configuration error stops the launch with a message naming the key. When
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
}

impl Default for SessionFairing {
    fn default() -> Self {
        SessionFairing { store: None, clock: Arc::new(SystemClock) }
    }
}

/// What a save does to the cookie.
enum CookieChange {
    Keep,
    Set(SessionId),
    Remove,
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
        Ok(rocket.manage(Sessions::new(store, config, self.clock.clone())))
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(state) = req.local_cache(Slot::default).state() else {
            return;
        };
        match state {
            Ok(state) => {
                match save_in_time(state).await {
                    Ok(Some(cookie)) => set_cookie(res, cookie),
                    Ok(None) => {}
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

/// Saves within what the store's per-request time limit leaves after the load, so that a
/// slow load followed by a slow save cannot hold a request for twice the limit.
async fn save_in_time(state: &RequestState) -> Result<Option<Header<'static>>, Error> {
    let Some((limit, left)) = state.save_time_left() else {
        return save(state).await;
    };
    rocket::tokio::time::timeout(left, save(state)).await.unwrap_or(Err(Error::OutOfTime(limit)))
}

/// Saves what the request changed and says which `Set-Cookie`, if any, the response needs.
async fn save(state: &RequestState) -> Result<Option<Header<'static>>, Error> {
    let plan = state.plan()?;
    let max_age = plan.permanent.then_some(plan.ttl);
    let sessions = state.sessions();
    let key = |id: &SessionId| id.storage_key(&sessions.config().key_prefix);
    let index = plan
        .index_user
        .clone()
        .map(|user| (user, plan.write.kept_id().map(key), plan.write.replaced_id().map(key)));
    let change = write(sessions, plan).await?;
    if let Some((user, kept, replaced)) = index {
        let session_key = match &change {
            CookieChange::Set(id) => Some(key(id)),
            _ => kept,
        };
        if let Some(session_key) = session_key {
            revocation::bind(sessions, &user, &session_key, replaced.as_deref()).await?;
        }
    }
    Ok(match change {
        CookieChange::Keep => None,
        CookieChange::Set(id) => {
            Some(cookie::set(sessions.config(), sessions.cookie_value(&id), max_age))
        }
        CookieChange::Remove => Some(cookie::remove(sessions.config())),
    })
}

/// Carries out the plan's single store write (two for a destroy followed by new data).
async fn write(sessions: &Sessions, plan: Plan) -> Result<CookieChange, Error> {
    let config = sessions.config();
    let store = sessions.store();
    let ttl = plan.ttl;
    let key = |id: &SessionId| id.storage_key(&config.key_prefix);
    let (size_after, size_before) = plan.size;
    let stores_data = !matches!(plan.write, Write::Nothing(_) | Write::Delete { .. });
    if stores_data && size_after > config.max_size && size_after > size_before {
        return Err(store::Error::TooLarge { size: size_after, limit: config.max_size }.into());
    }
    Ok(match plan.write {
        Write::Nothing(Some(id)) if plan.refresh_cookie => CookieChange::Set(id),
        Write::Nothing(_) => CookieChange::Keep,
        Write::Create { id, fields } => {
            CookieChange::Set(create(sessions, id, &fields, ttl).await?)
        }
        Write::Update { id, changes } => {
            if !store.update(&key(&id), &changes, ttl).await? {
                // Logged out or expired meanwhile: the write must not bring it back.
                CookieChange::Remove
            } else if plan.refresh_cookie {
                CookieChange::Set(id)
            } else {
                CookieChange::Keep
            }
        }
        Write::Regenerate { old, mut new, changes } => {
            for _ in 0..ID_ATTEMPTS {
                match store.regenerate(&key(&old), &key(&new), &changes, ttl).await? {
                    Regenerated::Moved => return Ok(CookieChange::Set(new)),
                    Regenerated::SourceGone => return Ok(CookieChange::Remove),
                    Regenerated::TargetTaken => new = SessionId::generate(config.id_length),
                }
            }
            return Err(Error::NoFreeId(ID_ATTEMPTS));
        }
        Write::Delete { old } => {
            store.delete(&key(&old)).await?;
            CookieChange::Remove
        }
        Write::Replace { old, new, fields } => {
            store.delete(&key(&old)).await?;
            CookieChange::Set(create(sessions, new, &fields, ttl).await?)
        }
    })
}

/// Stores a new session under `id`, or under a fresh id if `id` is taken: a client never
/// ends up sharing another client's record.
async fn create(
    sessions: &Sessions,
    mut id: SessionId,
    fields: &store::Record,
    ttl: Duration,
) -> Result<SessionId, Error> {
    let config = sessions.config();
    for _ in 0..ID_ATTEMPTS {
        if sessions.store().create(&id.storage_key(&config.key_prefix), fields, ttl).await? {
            return Ok(id);
        }
        id = SessionId::generate(config.id_length);
    }
    Err(Error::NoFreeId(ID_ATTEMPTS))
}

fn set_cookie(res: &mut Response<'_>, cookie: Header<'static>) {
    res.adjoin_header(cookie);
    // A shared cache must never hand one client's session cookie to another.
    if !res.headers().contains("Cache-Control") {
        res.set_raw_header("Cache-Control", "private");
    }
}

/// Replaces the response: the client must not be told a write succeeded, nor get a cookie
/// for a session that was not stored.
fn fail(res: &mut Response<'_>, error: &Error) {
    crate::outage::log_failure(format_args!("cannot save the session: {error}"));
    let status = error.status();
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
    let varies = res.headers().get("Vary").flat_map(|value| value.split(',')).any(|token| {
        let token = token.trim();
        token == "*" || token.eq_ignore_ascii_case("cookie")
    });
    if !varies {
        res.adjoin_raw_header("Vary", "Cookie");
    }
}
