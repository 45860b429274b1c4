//! The per-request session state: what was loaded, what guards changed, and what the
//! request asked for (regenerate, destroy, permanence). Guards write it; the fairing turns it
//! into one [`Plan`] when the response leaves.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rocket::Request;

use crate::codec::{self, Format};
use crate::data::{FieldSink, Fields, SessionData};
use crate::error::Error;
use crate::id::SessionId;
use crate::revocation::USER_KEY;
use crate::sessions::Sessions;
use crate::store::{record_size, Changes, Loaded, Record};

/// Reserved record key holding a permanence chosen with `set_permanent`.
const PERMANENT_KEY: &str = "__permanent";

/// The slot a request's session state is cached in; empty until a guard asks for it, so a
/// route without session guards costs the fairing nothing.
#[derive(Default)]
pub(crate) struct Slot(Option<Result<RequestState, Error>>);

impl Slot {
    pub(crate) fn state(&self) -> Option<&Result<RequestState, Error>> {
        self.0.as_ref()
    }
}

/// One request's view of its session.
pub(crate) struct RequestState {
    sessions: Sessions,
    inner: Mutex<Inner>,
    /// How long loading took in the store, counted against the request's time limit.
    load_time: Duration,
}

struct Inner {
    /// The id the loaded record lives under; `None` for a session not stored yet.
    stored_id: Option<SessionId>,
    /// The id the session will carry after this request when it differs from `stored_id`;
    /// drawn on first need.
    next_id: Option<SessionId>,
    loaded: Record,
    /// The record as guards left it; `None` while it equals `loaded`.
    working: Option<Record>,
    permanent: bool,
    /// The load reset the record's expiry: a rolling cookie's `Max-Age` restarts with it.
    expiry_reset: bool,
    /// The cookie was signed with a fallback key: the client gets it signed anew.
    resign: bool,
    regenerate: bool,
    /// The id of a record `destroy` ended, to be deleted.
    destroyed: Option<SessionId>,
    /// Bumped by `destroy`, so that guards taken before it cannot write into the new session.
    generation: u64,
    /// `bind_user` was called: the user's index must list this session after the save.
    bound: bool,
    encode_error: Option<codec::Error>,
}

/// What the fairing must do for this request: at most one store write, and the cookie.
pub(crate) struct Plan {
    pub(crate) write: Write,
    /// The user whose index must list the session once it is written.
    pub(crate) index_user: Option<String>,
    /// The store expiry and the permanent cookie's `Max-Age`: the lifetime, capped by what is
    /// left of the absolute lifetime.
    pub(crate) ttl: Duration,
    pub(crate) permanent: bool,
    /// Whether an existing session's cookie is re-sent with a fresh `Max-Age`.
    pub(crate) refresh_cookie: bool,
    /// The size of the record after the write, and before it.
    pub(crate) size: (usize, usize),
}

/// The store write a request needs.
pub(crate) enum Write {
    /// Nothing to store; the id of an existing session, whose cookie may be refreshed.
    Nothing(Option<SessionId>),
    Create {
        id: SessionId,
        fields: Record,
    },
    Update {
        id: SessionId,
        changes: Changes,
    },
    Regenerate {
        old: SessionId,
        new: SessionId,
        changes: Changes,
    },
    Delete {
        old: SessionId,
    },
    /// Destroyed, then written again in the same request: delete the old, create a new one.
    Replace {
        old: SessionId,
        new: SessionId,
        fields: Record,
    },
}

impl Write {
    /// The id an existing session keeps through this write, if it keeps one.
    pub(crate) fn kept_id(&self) -> Option<&SessionId> {
        match self {
            Write::Nothing(id) => id.as_ref(),
            Write::Update { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The id a regeneration moves the session away from.
    pub(crate) fn replaced_id(&self) -> Option<&SessionId> {
        match self {
            Write::Regenerate { old, .. } => Some(old),
            _ => None,
        }
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
        match slot.state() {
            Some(Ok(state)) => Ok(state),
            Some(Err(error)) => Err(error),
            // A slot created empty by the fairing; it only looks after the response is made.
            None => Err(&Error::NotAttached),
        }
    }

    async fn load(req: &Request<'_>, sessions: Sessions) -> Result<RequestState, Error> {
        // Only a store with a time limit needs to know how long the load took.
        let started = sessions.store().request_time_limit().map(|_| Instant::now());
        let config = sessions.config();
        let cookie = req.cookies().get(&config.cookie_name);
        let mut inner = Inner::new(None, Record::new(), config.permanent);
        if let Some((id, resign)) = cookie.and_then(|c| sessions.id_from_cookie(c.value())) {
            let touch = config.refresh_each_request.then_some(config.lifetime);
            let key = id.storage_key(&config.key_prefix);
            let loaded = sessions.store().load(&key, touch).await.map_err(store_failure)?;
            let loaded = match loaded {
                // Past the absolute timeout: the session ends here, whatever its activity.
                Some(loaded) if sessions.remaining(&loaded.record).is_zero() => {
                    sessions.store().delete(&key).await.map_err(store_failure)?;
                    None
                }
                loaded => loaded,
            };
            if let Some(Loaded { record, expiry_reset }) = loaded {
                let permanent = Fields::new(&record, config.format)
                    .value(PERMANENT_KEY)
                    .unwrap_or(config.permanent);
                inner = Inner::new(Some(id), record, permanent);
                inner.expiry_reset = expiry_reset;
                inner.resign = resign;
            }
        }
        let load_time = started.map_or(Duration::ZERO, |started| started.elapsed());
        Ok(RequestState { sessions, inner: Mutex::new(inner), load_time })
    }

    /// The store's per-request time limit, if it has one, and what the load left of it for
    /// the save.
    pub(crate) fn save_time_left(&self) -> Option<(Duration, Duration)> {
        let limit = self.sessions.store().request_time_limit()?;
        Some((limit, limit.saturating_sub(self.load_time)))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave Inner half-updated in a way that matters here.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn format(&self) -> Format {
        self.sessions.config().format
    }

    /// Namespace `T` as it stands now, and the generation the guard belongs to.
    pub(crate) fn decode<T: SessionData>(&self) -> (T, u64) {
        let inner = self.lock();
        (T::decode(&Fields::new(inner.view(), self.format())), inner.generation)
    }

    /// Stores a guard's value of `T` back into the working record.
    pub(crate) fn commit<T: SessionData>(&self, value: &T, generation: u64) {
        let mut inner = self.lock();
        if generation != inner.generation {
            log::debug!(
                "ignoring changes to `{}` made before the session was destroyed",
                T::NAMESPACE
            );
            return;
        }
        let mut encoded = Record::new();
        if let Err(error) = value.encode(&mut FieldSink::new(&mut encoded, self.format())) {
            inner.encode_error.get_or_insert(error);
            return;
        }
        let working = inner.working_mut();
        remove_namespace(working, T::NAMESPACE);
        working.extend(encoded);
    }

    /// Whether the client has a live stored session.
    pub(crate) fn exists(&self) -> bool {
        self.lock().stored_id.is_some()
    }

    /// Whether the session holds any field of `namespace`.
    pub(crate) fn holds(&self, namespace: &str) -> bool {
        self.lock().view().keys().any(|key| in_namespace(key, namespace))
    }

    /// The id the client will hold after this request.
    pub(crate) fn id(&self) -> SessionId {
        let mut inner = self.lock();
        match (&inner.stored_id, inner.regenerate) {
            (Some(id), false) => id.clone(),
            _ => self.next_id(&mut inner).clone(),
        }
    }

    /// Asks for a new id with the data kept: the old id stops working when the response
    /// leaves. On a session not stored yet it only draws another provisional id.
    pub(crate) fn regenerate(&self) {
        let mut inner = self.lock();
        inner.regenerate = inner.stored_id.is_some();
        inner.next_id = None;
    }

    /// Ends the session; returns the generation that guards writing afterwards belong to.
    pub(crate) fn destroy(&self) -> u64 {
        let mut inner = self.lock();
        let destroyed = inner.stored_id.take().or_else(|| inner.destroyed.take());
        let generation = inner.generation + 1;
        *inner = Inner::new(None, Record::new(), self.sessions.config().permanent);
        inner.destroyed = destroyed;
        inner.generation = generation;
        generation
    }

    pub(crate) fn clear(&self, namespace: &str) {
        remove_namespace(self.lock().working_mut(), namespace);
    }

    pub(crate) fn set_permanent(&self, permanent: bool) {
        let mut inner = self.lock();
        inner.permanent = permanent;
        let bytes = codec::encode(self.format(), &permanent).expect("a bool always encodes");
        inner.working_mut().insert(PERMANENT_KEY.to_owned(), bytes);
    }

    pub(crate) fn bind_user(&self, user: &str) {
        let mut inner = self.lock();
        let bytes = codec::encode(self.format(), user).expect("a string always encodes");
        inner.working_mut().insert(USER_KEY.to_owned(), bytes);
        inner.bound = true;
    }

    pub(crate) fn bound_user(&self) -> Option<String> {
        Fields::new(self.lock().view(), self.format()).value(USER_KEY)
    }

    pub(crate) fn is_permanent(&self) -> bool {
        self.lock().permanent
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    fn next_id<'i>(&self, inner: &'i mut Inner) -> &'i SessionId {
        let length = self.sessions.config().id_length;
        inner.next_id.get_or_insert_with(|| SessionId::generate(length))
    }

    /// Turns the request's state into the one write and cookie change it needs.
    ///
    /// # Errors
    /// A guard's value failed to encode.
    pub(crate) fn plan(&self) -> Result<Plan, Error> {
        let mut inner = self.lock();
        if let Some(error) = inner.encode_error.take() {
            return Err(Error::Encode(error));
        }
        let config = self.sessions.config();
        let view = inner.view();
        let size = (record_size(view), record_size(&inner.loaded));
        let ttl = self.sessions.remaining(view);
        let write = match (inner.destroyed.clone(), inner.stored_id.clone()) {
            (Some(old), _) if view.is_empty() => Write::Delete { old },
            (Some(old), _) => Write::Replace {
                old,
                new: self.take_next_id(&mut inner),
                fields: self.new_record(&inner),
            },
            (None, None) if view.is_empty() => Write::Nothing(None),
            (None, None) => {
                Write::Create { id: self.take_next_id(&mut inner), fields: self.new_record(&inner) }
            }
            (None, Some(old)) if inner.regenerate => {
                let changes = inner.changes();
                Write::Regenerate { old, new: self.take_next_id(&mut inner), changes }
            }
            (None, Some(id)) if inner.working.is_some() => match inner.changes() {
                changes if changes.is_empty() => Write::Nothing(Some(id)),
                changes => Write::Update { id, changes },
            },
            (None, Some(id)) => Write::Nothing(Some(id)),
        };
        let permanence_changed = inner.view().get(PERMANENT_KEY) != inner.loaded.get(PERMANENT_KEY);
        // A rolling cookie restarts its Max-Age whenever the record's expiry restarts: at an
        // update, and at a load that reset it (not one within the touch interval).
        let rolling = inner.permanent && config.refresh_each_request;
        let expiry_restarted = inner.expiry_reset || matches!(write, Write::Update { .. });
        let refresh_cookie = inner.resign || permanence_changed || (rolling && expiry_restarted);
        // The index must follow a bound session to a new id, or learn of a new binding.
        let moves = matches!(write, Write::Regenerate { .. } | Write::Replace { .. });
        let index_user = (inner.bound || moves)
            .then(|| Fields::new(inner.view(), self.format()).value::<String>(USER_KEY))
            .flatten();
        Ok(Plan { write, index_user, ttl, permanent: inner.permanent, refresh_cookie, size })
    }

    /// The record a new session is stored with: what guards wrote, and its creation time.
    fn new_record(&self, inner: &Inner) -> Record {
        let mut record = inner.view().clone();
        record.extend(self.sessions.created_field());
        record
    }

    fn take_next_id(&self, inner: &mut Inner) -> SessionId {
        let id = self.next_id(inner).clone();
        inner.next_id = None;
        id
    }
}

impl Inner {
    fn new(stored_id: Option<SessionId>, loaded: Record, permanent: bool) -> Self {
        Inner {
            stored_id,
            next_id: None,
            loaded,
            working: None,
            permanent,
            expiry_reset: false,
            resign: false,
            regenerate: false,
            destroyed: None,
            generation: 0,
            bound: false,
            encode_error: None,
        }
    }

    fn view(&self) -> &Record {
        self.working.as_ref().unwrap_or(&self.loaded)
    }

    fn working_mut(&mut self) -> &mut Record {
        self.working.get_or_insert_with(|| self.loaded.clone())
    }

    /// The fields that differ from what was loaded, and the ones that vanished.
    fn changes(&self) -> Changes {
        Changes::between(&self.loaded, self.view())
    }
}

fn store_failure(error: crate::store::Error) -> Error {
    crate::outage::log_failure(format_args!("cannot load a session: {error}"));
    Error::Store(error)
}

fn remove_namespace(record: &mut Record, namespace: &str) {
    record.retain(|key, _| !in_namespace(key, namespace));
}

fn in_namespace(key: &str, namespace: &str) -> bool {
    key.strip_prefix(namespace).is_some_and(|rest| rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(entries: &[(&str, u8)]) -> Record {
        entries.iter().map(|(k, v)| (k.to_string(), vec![*v])).collect()
    }

    #[test]
    fn diff_keeps_only_changed_new_and_vanished_fields() {
        let loaded = record(&[("a.same", 1), ("a.changed", 2), ("a.gone", 3)]);
        let now = record(&[("a.same", 1), ("a.changed", 9), ("a.new", 4)]);
        let changes = Changes::between(&loaded, &now);
        assert_eq!(changes.set, record(&[("a.changed", 9), ("a.new", 4)]));
        assert_eq!(changes.remove, vec!["a.gone".to_string()]);
    }

    #[test]
    fn diff_of_equal_records_is_empty() {
        let loaded = record(&[("a.x", 1)]);
        assert!(Changes::between(&loaded, &loaded.clone()).is_empty());
    }

    #[test]
    fn remove_namespace_spares_other_namespaces_sharing_a_prefix() {
        let mut rec = record(&[("cart.a", 1), ("cart.b", 2), ("carts.a", 3), ("cart", 4)]);
        remove_namespace(&mut rec, "cart");
        assert_eq!(rec, record(&[("carts.a", 3), ("cart", 4)]));
    }
}
