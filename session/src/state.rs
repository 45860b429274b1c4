//! The per-request session state: what was loaded, what guards changed, and what the
//! request asked for (regenerate, destroy, bind). Guards write it; when the response leaves,
//! [`plan`](crate::plan) turns it into one write and [`save`](crate::save) carries that out.
//!
//! This file alone knows that the state lives in Rocket's request-local cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rocket::tokio::time::Instant;
use rocket::Request;

use crate::codec::{self, Format};
use crate::cookie;
use crate::data::{
    at_defaults, defaults_of, in_namespace, namespace, FieldSink, Fields, SessionData,
};
use crate::error::Error;
use crate::id::{KeyedId, SessionId};
use crate::plan::{self, Plan, Rules};
use crate::reserved;
use crate::sessions::{CookieId, Sessions};
use crate::store::lock::lock;
use crate::store::{record_size, Changes, Loaded, Record};
use crate::users::{login_fields, truncated, Login};

/// The slot a request's session state is cached in; empty until a guard asks for it, so a
/// route without session guards costs the fairing nothing.
#[derive(Default)]
struct Slot(Option<Result<RequestState, Error>>);

/// One request's view of its session.
pub(crate) struct RequestState {
    sessions: Sessions,
    facts: Mutex<Facts>,
    /// Bumped by `destroy` (changed only with `facts` locked), so that what guards taken
    /// before it hold cannot be written into the new session.
    generation: AtomicU64,
    /// How long loading took in the store, counted against the request's time limit.
    load_time: Duration,
}

/// What the request knows of its session: planning reads nothing else.
pub(crate) struct Facts {
    /// The session as stored when the request began; `None` for one not stored yet.
    pub(crate) stored: Option<KeyedId>,
    /// The id the session will carry after this request when it differs from `stored`,
    /// drawn on first need.
    pub(crate) next_id: Option<SessionId>,
    pub(crate) loaded: Arc<Record>,
    /// What the one guard that changed anything changed, as the changes to `loaded` that
    /// would store it: the common request, one guard changing a field or two, then costs no
    /// copy of the record. Anything more (a second change, a login, `clear`) turns it into
    /// `working`; at most one of the two is set.
    pub(crate) pending: Option<Changes>,
    /// The record as guards left it; `None` while no guard changed anything or while the
    /// change is `pending`.
    pub(crate) working: Option<Record>,
    pub(crate) permanent: bool,
    pub(crate) load: LoadFacts,
    pub(crate) intent: Intent,
    encode_error: Option<codec::Error>,
}

/// What the load found beyond the record.
#[derive(Default, Clone, Copy)]
pub(crate) struct LoadFacts {
    /// The load reset the record's expiry: a rolling cookie's `Max-Age` restarts with it.
    pub(crate) expiry_reset: bool,
    /// The cookie was signed with a fallback key: the client gets it signed anew.
    pub(crate) resign: bool,
}

/// What the request asked for beyond changing fields.
#[derive(Default)]
pub(crate) struct Intent {
    /// A new id, the data kept.
    pub(crate) regenerate: bool,
    /// The session `destroy` ended, to be deleted.
    pub(crate) destroyed: Option<KeyedId>,
    /// `bind_user` was called: the user's index must list this session after the save.
    pub(crate) bound: bool,
}

impl Intent {
    /// Whether the request asked for nothing.
    fn is_empty(&self) -> bool {
        !self.regenerate && self.destroyed.is_none() && !self.bound
    }
}

impl RequestState {
    /// The session state of `req`, loading it with one store call on first use.
    pub(crate) async fn of<'r>(req: &'r Request<'_>) -> Result<&'r RequestState, &'r Error> {
        let slot = req
            .local_cache_async(async {
                let Some(sessions) = req.rocket().state::<Sessions>() else {
                    return Slot(Some(Err(Error::NotAttached)));
                };
                Slot(Some(RequestState::load(req, sessions.clone()).await))
            })
            .await;
        match &slot.0 {
            Some(Ok(state)) => Ok(state),
            Some(Err(error)) => Err(error),
            // A slot created empty by `used_by`; it only looks after the response is made.
            None => Err(&Error::NotAttached),
        }
    }

    /// The state of a request whose guards used a session, once the response is made;
    /// `None` when none did.
    pub(crate) fn used_by<'r>(req: &'r Request<'_>) -> Option<&'r Result<RequestState, Error>> {
        req.local_cache(Slot::default).0.as_ref()
    }

    async fn load(req: &Request<'_>, sessions: Sessions) -> Result<RequestState, Error> {
        // Only a store with a time limit needs to know how long the load took; tokio's clock,
        // which the save's timeout also runs on (and a test can pause).
        let started = sessions.backend().request_time_limit().map(|_| Instant::now());
        let config = sessions.config();
        let mut found = None;
        if let Some(CookieId { id: stored, resign }) = session_cookie(req, &sessions) {
            // Before the record tells its age, the most its expiry may be reset to.
            let touch = config.refresh_each_request.then(|| sessions.touch_lifetime());
            let backend = sessions.backend();
            let loaded = match backend.load_now(stored.key(), touch) {
                Some(answer) => answer,
                None => backend.load(stored.key(), touch).await,
            };
            let loaded = loaded.map_err(load_failure)?;
            let loaded = match loaded {
                // Past the absolute timeout: the session ends here, whatever its activity.
                Some(loaded) if sessions.remaining(&loaded.record).is_zero() => {
                    sessions.backend().delete(stored.key()).await.map_err(load_failure)?;
                    None
                }
                loaded => loaded,
            };
            if let Some(Loaded { record, expiry_reset }) = loaded {
                let permanent = Fields::new(&record, config.format)
                    .value(reserved::PERMANENT)
                    .unwrap_or(config.permanent);
                let mut facts = Facts::new(Some(stored), record, permanent);
                facts.load = LoadFacts { expiry_reset, resign };
                found = Some(facts);
            }
        }
        let facts = found.unwrap_or_else(|| Facts::new(None, empty(), config.permanent));
        let load_time = started.map_or(Duration::ZERO, |started| started.elapsed());
        Ok(RequestState {
            sessions,
            facts: Mutex::new(facts),
            generation: AtomicU64::new(0),
            load_time,
        })
    }

    /// What the store's per-request time limit leaves for the save, if it has a limit.
    pub(crate) fn save_budget(&self) -> Option<SaveBudget> {
        let limit = self.sessions.backend().request_time_limit()?;
        Some(SaveBudget { limit, left: limit.saturating_sub(self.load_time) })
    }

    fn format(&self) -> Format {
        self.sessions.config().format
    }

    /// Namespace `T` as it stands now, and the generation the guard belongs to.
    pub(crate) fn decode<T: SessionData>(&self) -> (T, u64) {
        let mut facts = lock(&self.facts);
        (T::decode(&Fields::new(facts.view(), self.format())), self.generation())
    }

    /// How many times the session was destroyed in this request.
    pub(crate) fn generation(&self) -> u64 {
        // Read and bumped within one request's handler, in order; the lock orders the rest.
        self.generation.load(Ordering::Relaxed)
    }

    /// Stores a guard's value of `T` back into the working record, rewriting its fields in
    /// place; fields at their default, and fields that `T` no longer writes (stored by an
    /// older version of it, or removed from a map), leave with it.
    pub(crate) fn commit<T: SessionData>(&self, value: &T, generation: u64) {
        let mut guard = lock(&self.facts);
        let facts: &mut Facts = &mut guard;
        if generation != self.generation() {
            log::debug!(
                "ignoring changes to `{}` made before the session was destroyed",
                T::NAMESPACE
            );
            return;
        }
        let format = self.format();
        let defaults = defaults_of::<T>(format);
        if facts.working.is_none() && facts.pending.is_none() {
            facts.pending = diff_namespace(value, &facts.loaded, format, defaults);
            if facts.pending.is_some() {
                return;
            }
        }
        facts.settle();
        let working = facts.working.get_or_insert_with(|| Record::clone(&facts.loaded));
        let held = namespace_len(working, T::NAMESPACE);
        let mut sink = FieldSink::without_defaults(working, format, defaults);
        let written = value.encode(&mut sink);
        let replaced = sink.replaced();
        match written {
            // Nothing half-written stays behind; the save fails on the error.
            Err(error) => {
                remove_namespace(working, T::NAMESPACE);
                working.extend(namespace_of(&facts.loaded, T::NAMESPACE));
                facts.encode_error.get_or_insert(error);
            }
            // Every field held was written again: nothing is stale.
            Ok(()) if replaced == held => {}
            Ok(()) => {
                remove_namespace(working, T::NAMESPACE);
                let mut encoded = Record::new();
                match value.encode(&mut FieldSink::without_defaults(&mut encoded, format, defaults))
                {
                    Ok(()) => working.extend(encoded),
                    Err(error) => drop(facts.encode_error.get_or_insert(error)),
                }
            }
        }
    }

    /// The size the record would be saved with if namespace `T` held `value`, checked by the
    /// save's size rule. Other guards count as far as they have committed (they do when
    /// dropped).
    ///
    /// # Errors
    /// The record would be refused as too large, or `value` cannot be encoded.
    pub(crate) fn check_size<T: SessionData>(&self, value: &T) -> Result<usize, Error> {
        let mut facts = lock(&self.facts);
        let format = self.format();
        let mut record = facts.view().clone();
        remove_namespace(&mut record, T::NAMESPACE);
        value.encode(&mut FieldSink::without_defaults(
            &mut record,
            format,
            defaults_of::<T>(format),
        ))?;
        let size = record_size(&record);
        plan::size_rule(size, record_size(&facts.loaded), self.sessions.config().max_size)?;
        Ok(size)
    }

    /// Whether the request leaves the session as it found it, cookie included: nothing
    /// changed or asked for, and no cookie to send again. The save of a read stops here.
    pub(crate) fn is_untouched(&self) -> bool {
        let facts = lock(&self.facts);
        let rolling = self.sessions.config().refresh_each_request;
        facts.pending.is_none()
            && facts.working.is_none()
            && facts.encode_error.is_none()
            && facts.intent.is_empty()
            && !plan::refreshes_cookie(facts.permanent, false, facts.load, rolling)
    }

    /// Whether the client has a live stored session.
    pub(crate) fn exists(&self) -> bool {
        lock(&self.facts).stored.is_some()
    }

    /// Whether the session holds any field of `namespace`.
    pub(crate) fn holds(&self, namespace: &str) -> bool {
        lock(&self.facts).view().keys().any(|key| in_namespace(key, namespace))
    }

    /// Whether `value` holds nothing but defaults, as it would be saved.
    pub(crate) fn at_defaults<T: SessionData>(&self, value: &T) -> bool {
        at_defaults(value, self.format())
    }

    /// The id the client will hold after this request.
    pub(crate) fn id(&self) -> SessionId {
        let mut facts = lock(&self.facts);
        match (&facts.stored, facts.intent.regenerate) {
            (Some(stored), false) => stored.id(),
            _ => {
                let length = self.sessions.config().id_length;
                facts.next_id.get_or_insert_with(|| SessionId::generate(length)).clone()
            }
        }
    }

    /// Asks for a new id with the data kept: the old id stops working when the response
    /// leaves. On a session not stored yet it only draws another provisional id.
    pub(crate) fn regenerate(&self) {
        let mut facts = lock(&self.facts);
        facts.intent.regenerate = facts.stored.is_some();
        facts.next_id = None;
    }

    /// Ends the session: guards of an earlier generation no longer write into it.
    pub(crate) fn destroy(&self) {
        let mut facts = lock(&self.facts);
        let destroyed = facts.stored.take().or_else(|| facts.intent.destroyed.take());
        *facts = Facts::new(None, empty(), self.sessions.config().permanent);
        facts.intent.destroyed = destroyed;
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn clear(&self, namespace: &str) {
        remove_namespace(lock(&self.facts).working_mut(), namespace);
    }

    pub(crate) fn set_permanent(&self, permanent: bool) {
        let mut facts = lock(&self.facts);
        facts.permanent = permanent;
        let bytes = codec::encode(self.format(), &permanent).expect("a bool always encodes");
        facts.working_mut().insert(reserved::PERMANENT.to_owned(), bytes);
    }

    pub(crate) fn bind_user(&self, user: &str) {
        let mut facts = lock(&self.facts);
        let bytes = codec::encode(self.format(), user).expect("a string always encodes");
        facts.working_mut().insert(reserved::USER.to_owned(), bytes);
        facts.intent.bound = true;
    }

    /// Gives the session a label for the device list, replacing any earlier one; cut to 256
    /// bytes.
    pub(crate) fn set_label(&self, label: &str) {
        let mut facts = lock(&self.facts);
        let bytes =
            codec::encode(self.format(), &truncated(label)).expect("a string always encodes");
        facts.working_mut().insert(reserved::LABEL.to_owned(), bytes);
    }

    /// The storage key of the session as it was stored when the request began.
    pub(crate) fn stored_key(&self) -> Option<String> {
        lock(&self.facts).stored.as_ref().map(|stored| stored.key().to_owned())
    }

    pub(crate) fn bound_user(&self) -> Option<String> {
        Fields::new(lock(&self.facts).view(), self.format()).value(reserved::USER)
    }

    pub(crate) fn is_permanent(&self) -> bool {
        lock(&self.facts).permanent
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Hands the request's facts to planning: the one write and cookie change it needs. A
    /// login (`bind_user`) also stores what `req` tells of the client, for the device list.
    ///
    /// # Errors
    /// A guard's value failed to encode, or the record would grow past `session_max_size`.
    pub(crate) fn plan(&self, req: &Request<'_>) -> Result<Plan, Error> {
        let mut facts = std::mem::take(&mut *lock(&self.facts));
        if let Some(error) = facts.encode_error.take() {
            return Err(Error::Encode(error));
        }
        if !facts.updates_in_place() {
            facts.settle();
        }
        let config = self.sessions.config();
        if facts.intent.bound {
            let login = Login {
                user_agent: req.headers().get_one("User-Agent"),
                address: req.client_ip().filter(|_| config.track_ip),
                now: self.sessions.now(),
            };
            login_fields(facts.working_mut(), &login, config.format);
        }
        // The creation time is written only when a session is created: the loaded record
        // tells it as well as the changed one.
        let remaining = match facts.pending {
            Some(_) => self.sessions.remaining(&facts.loaded),
            None => self.sessions.remaining(facts.view()),
        };
        let rules = Rules {
            ttl: remaining,
            max_size: config.max_size,
            rolling: config.refresh_each_request,
            id_length: config.id_length,
            format: config.format,
            created: self.sessions.created_field(),
        };
        plan::plan(facts, &rules)
    }
}

/// How long a save may take, out of the store's per-request time limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SaveBudget {
    /// The whole limit, for the error that names it.
    pub(crate) limit: Duration,
    /// What the load left of it.
    pub(crate) left: Duration,
}

impl Default for Facts {
    fn default() -> Self {
        Facts::new(None, empty(), false)
    }
}

impl Facts {
    pub(crate) fn new(stored: Option<KeyedId>, loaded: Arc<Record>, permanent: bool) -> Self {
        Facts {
            stored,
            next_id: None,
            loaded,
            pending: None,
            working: None,
            permanent,
            load: LoadFacts::default(),
            intent: Intent::default(),
            encode_error: None,
        }
    }

    /// The record as it stands now.
    pub(crate) fn view(&mut self) -> &Record {
        self.settle();
        self.working.as_ref().unwrap_or(&self.loaded)
    }

    fn working_mut(&mut self) -> &mut Record {
        self.settle();
        self.working.get_or_insert_with(|| Record::clone(&self.loaded))
    }

    /// Turns pending changes into a working copy of the record.
    pub(crate) fn settle(&mut self) {
        if let Some(changes) = self.pending.take() {
            let mut record = Record::clone(&self.loaded);
            changes.apply_to(&mut record);
            self.working = Some(record);
        }
    }

    /// Whether the save is an update of the stored session by the pending changes as they
    /// are: it stays under its id, and nothing but one guard's commit changed it.
    fn updates_in_place(&self) -> bool {
        self.pending.is_some()
            && self.stored.is_some()
            && self.intent.destroyed.is_none()
            && !self.intent.regenerate
    }
}

/// The record of a session that is not stored: one empty record shared by every request, so
/// that a visitor without a session costs no allocation for it.
fn empty() -> Arc<Record> {
    static EMPTY: LazyLock<Arc<Record>> = LazyLock::new(Arc::default);
    EMPTY.clone()
}

/// The id of the first cookie of the session's name that parses (and verifies, when signed),
/// among all the request carries: with `session=good; session=tossed`, the good one.
fn session_cookie(req: &Request<'_>, sessions: &Sessions) -> Option<CookieId> {
    let name = sessions.config().cookie_name.as_str();
    cookie::values_named(crate::headers::values(req.headers(), "Cookie"), name)
        .find_map(|value| sessions.id_from_cookie(value))
        // A local test client hands cookies to the jar without a header.
        .or_else(|| sessions.id_from_cookie(req.cookies().get(name)?.value()))
}

fn load_failure(error: crate::store::Error) -> Error {
    let error = Error::Store(error);
    crate::outage::log_failure(error.status(), format_args!("cannot load a session: {error}"));
    error
}

/// The changes that store `value` as namespace `T` over `loaded`; `None` when they cannot be
/// told apart from the rest of the record this way (the value fails to encode, or `loaded`
/// holds fields of `T` that `value` no longer writes), which the caller handles on a copy.
fn diff_namespace<T: SessionData>(
    value: &T,
    loaded: &Record,
    format: Format,
    defaults: &Record,
) -> Option<Changes> {
    let mut changes = Changes::default();
    let mut sink = FieldSink::diffing(loaded, &mut changes, format, defaults);
    value.encode(&mut sink).ok()?;
    // Each key is written once: when every loaded field was rewritten, none of `T`'s is stale.
    let replaced = sink.replaced();
    let every_field_rewritten =
        replaced == loaded.len() || replaced == namespace_len(loaded, T::NAMESPACE);
    every_field_rewritten.then_some(changes)
}

fn namespace_len(record: &Record, name: &str) -> usize {
    namespace(record, name).count()
}

/// A copy of namespace `name`'s fields.
fn namespace_of(record: &Record, name: &str) -> Record {
    namespace(record, name).map(|(key, value)| (key.clone(), value.clone())).collect()
}

fn remove_namespace(record: &mut Record, namespace: &str) {
    record.retain(|key, _| !in_namespace(key, namespace));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_namespace_spares_other_namespaces_sharing_a_prefix() {
        let record = |entries: &[(&str, u8)]| -> Record {
            entries.iter().map(|(k, v)| (k.to_string(), vec![*v])).collect()
        };
        let mut rec = record(&[("cart.a", 1), ("cart.b", 2), ("carts.a", 3), ("cart", 4)]);
        remove_namespace(&mut rec, "cart");
        assert_eq!(rec, record(&[("carts.a", 3), ("cart", 4)]));
    }

    #[test]
    fn a_namespace_holds_exactly_the_keys_under_its_name_and_a_dot() {
        let rec: Record = ["cart", "cart-x.a", "cart.a", "cart.b", "carts.a", "cas.a"]
            .iter()
            .map(|key| (key.to_string(), vec![1]))
            .collect();
        let keys: Vec<&str> = namespace(&rec, "cart").map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["cart.a", "cart.b"]);
    }
}
