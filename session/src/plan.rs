//! Planning a save, as a pure function: from what a request loaded, changed and asked for
//! ([`Facts`]) and the rules in force ([`Rules`]) to the one store write and cookie change it
//! needs ([`Plan`]). Nothing here touches a store or a request.

use std::time::Duration;

use crate::codec::Format;
use crate::data::Fields;
use crate::error::Error;
use crate::id::{KeyedId, SessionId};
use crate::reserved;
use crate::state::{Facts, LoadFacts};
use crate::store::{self, record_size, Changes, Record};

/// The settings a plan follows, fixed for the request.
pub(crate) struct Rules {
    /// The store expiry and the permanent cookie's `Max-Age`: the lifetime, capped by what is
    /// left of the absolute lifetime.
    pub(crate) ttl: Duration,
    /// `session_max_size`.
    pub(crate) max_size: usize,
    /// `session_refresh_each_request`.
    pub(crate) rolling: bool,
    pub(crate) id_length: usize,
    pub(crate) format: Format,
    /// The creation time a new record is stored with, when an absolute timeout applies.
    pub(crate) created: Option<(String, Vec<u8>)>,
}

/// What the save must do: at most one store write, and the cookie.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) write: Write,
    /// The user whose index must list the session once it is written.
    pub(crate) index_user: Option<String>,
    /// Whether the request bound the session (`bind_user`), rather than only moved a bound
    /// one.
    pub(crate) binds: bool,
    /// The store expiry, and the cookie's `Max-Age` when permanent.
    pub(crate) ttl: Duration,
    pub(crate) permanent: bool,
    /// Whether a kept session's cookie is re-sent with a fresh `Max-Age`.
    pub(crate) refresh_cookie: bool,
}

/// The store write a request needs.
#[derive(Debug)]
pub(crate) enum Write {
    /// Nothing to store; `kept` is an existing session, whose cookie may be refreshed.
    Nothing {
        kept: Option<KeyedId>,
    },
    Create {
        id: SessionId,
        fields: Record,
    },
    Update {
        id: KeyedId,
        changes: Changes,
    },
    Regenerate {
        old: KeyedId,
        new: SessionId,
        changes: Changes,
    },
    Delete {
        old: KeyedId,
    },
    /// Destroyed, then written again in the same request: delete the old, create a new one.
    Replace {
        old: KeyedId,
        new: SessionId,
        fields: Record,
    },
}

impl Write {
    /// The session a regeneration moves away from.
    pub(crate) fn replaced(&self) -> Option<&KeyedId> {
        match self {
            Write::Regenerate { old, .. } => Some(old),
            _ => None,
        }
    }

    /// The session a destroy ends.
    pub(crate) fn destroyed(&self) -> Option<&KeyedId> {
        match self {
            Write::Delete { old } | Write::Replace { old, .. } => Some(old),
            _ => None,
        }
    }

    fn stores_data(&self) -> bool {
        !matches!(self, Write::Nothing { .. } | Write::Delete { .. })
    }
}

/// The plan for a request's `facts` under `rules`.
///
/// # Errors
/// [`store::Error::TooLarge`] when the write would leave a record over `max_size` that is
/// larger than the one loaded (a record already over the limit may still shrink).
pub(crate) fn plan(facts: Facts, rules: &Rules) -> Result<Plan, Error> {
    let Facts { stored, mut next_id, loaded, pending, working, permanent, load, intent, .. } =
        facts;
    let stored = match (pending, stored) {
        (Some(changes), Some(id)) => {
            debug_assert!(intent.destroyed.is_none() && !intent.regenerate && !intent.bound);
            return plan_update(id, changes, &loaded, permanent, load, rules);
        }
        (pending, stored) => {
            debug_assert!(pending.is_none(), "pending changes are settled before planning");
            stored
        }
    };
    let view = working.as_ref().unwrap_or(&loaded);
    let mut new_id = || next_id.take().unwrap_or_else(|| SessionId::generate(rules.id_length));
    let write = match (intent.destroyed, stored) {
        (Some(old), _) if view.is_empty() => Write::Delete { old },
        (Some(old), _) => Write::Replace { old, new: new_id(), fields: new_record(view, rules) },
        (None, None) if view.is_empty() => Write::Nothing { kept: None },
        (None, None) => Write::Create { id: new_id(), fields: new_record(view, rules) },
        (None, Some(old)) if intent.regenerate => {
            Write::Regenerate { old, new: new_id(), changes: Changes::between(&loaded, view) }
        }
        (None, Some(id)) if working.is_some() => match Changes::between(&loaded, view) {
            changes if changes.is_empty() => Write::Nothing { kept: Some(id) },
            changes => Write::Update { id, changes },
        },
        (None, Some(id)) => Write::Nothing { kept: Some(id) },
    };
    if write.stores_data() {
        size_rule(record_size(view), record_size(&loaded), rules.max_size)?;
    }
    let permanence_changed = view.get(reserved::PERMANENT) != loaded.get(reserved::PERMANENT);
    let refresh_cookie = refreshes_cookie(permanent, permanence_changed, load, rules.rolling);
    // The index must follow a bound session to a new id, or learn of a new binding.
    let moves = matches!(write, Write::Regenerate { .. } | Write::Replace { .. });
    let index_user = (intent.bound || moves)
        .then(|| Fields::new(view, rules.format).value::<String>(reserved::USER))
        .flatten();
    Ok(Plan { write, index_user, binds: intent.bound, ttl: rules.ttl, permanent, refresh_cookie })
}

/// The plan for a kept session whose one change is `changes` to the `loaded` record: the
/// update itself, found without a copy of the record.
fn plan_update(
    id: KeyedId,
    changes: Changes,
    loaded: &Record,
    permanent: bool,
    load: LoadFacts,
    rules: &Rules,
) -> Result<Plan, Error> {
    // Only a record that grows can be refused.
    if let Some(growth) = changes.growth(loaded) {
        let loaded_size = record_size(loaded);
        size_rule(loaded_size + growth, loaded_size, rules.max_size)?;
    }
    let permanence_changed = changes.names(reserved::PERMANENT);
    let refresh_cookie = refreshes_cookie(permanent, permanence_changed, load, rules.rolling);
    let write = match changes.is_empty() {
        true => Write::Nothing { kept: Some(id) },
        false => Write::Update { id, changes },
    };
    Ok(Plan { write, index_user: None, binds: false, ttl: rules.ttl, permanent, refresh_cookie })
}

/// Whether a kept session's cookie is sent again, `rolling` being
/// `session_refresh_each_request`.
pub(crate) fn refreshes_cookie(
    permanent: bool,
    permanence_changed: bool,
    load: LoadFacts,
    rolling: bool,
) -> bool {
    // A rolling cookie restarts its Max-Age when the record's expiry restarts: at a load that
    // reset it, at most once per touch interval, and an update within the interval leaves
    // both where they are.
    let rolling = permanent && rolling && load.expiry_reset;
    load.resign || permanence_changed || rolling
}

/// A record of `size` bytes may be stored when it is within `max_size`, or no larger than the
/// `loaded` one: a record already over the limit (the limit was lowered) may still shrink.
///
/// # Errors
/// [`store::Error::TooLarge`] otherwise.
pub(crate) fn size_rule(size: usize, loaded: usize, max_size: usize) -> Result<(), store::Error> {
    if size > max_size && size > loaded {
        return Err(store::Error::TooLarge { size, limit: max_size });
    }
    Ok(())
}

/// The record a new session is stored with: what guards wrote, and its creation time.
fn new_record(view: &Record, rules: &Rules) -> Record {
    let mut record = view.clone();
    record.extend(rules.created.clone());
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use std::sync::Arc;

    use crate::state::Intent;

    const TTL: Duration = Duration::from_secs(3600);

    fn rules() -> Rules {
        Rules {
            ttl: TTL,
            max_size: 64,
            rolling: true,
            id_length: 32,
            format: Format::Msgpack,
            created: None,
        }
    }

    fn record(entries: &[(&str, &[u8])]) -> Record {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect()
    }

    fn stored() -> KeyedId {
        KeyedId::new(SessionId::generate(32), "session:")
    }

    /// A stored session that loaded `loaded` and that guards left as `now`.
    fn existing(loaded: Record, now: Option<Record>) -> Facts {
        let mut facts = Facts::new(Some(stored()), Arc::new(loaded), true);
        facts.working = now;
        facts
    }

    /// A visitor without a stored session whose guards left `now`.
    fn visitor(now: Option<Record>) -> Facts {
        let mut facts = Facts::new(None, Arc::default(), true);
        facts.working = now;
        facts
    }

    #[test]
    fn a_record_of_exactly_the_limit_may_be_stored() {
        assert!(size_rule(64, 0, 64).is_ok());
        assert!(size_rule(65, 0, 64).is_err());
    }

    #[test]
    fn a_record_over_a_lowered_limit_may_keep_its_size() {
        assert!(size_rule(100, 100, 64).is_ok());
        assert!(size_rule(101, 100, 64).is_err());
    }

    #[test]
    fn a_visitor_who_wrote_nothing_gets_no_write() {
        let plan = plan(visitor(None), &rules()).unwrap();
        assert!(matches!(plan.write, Write::Nothing { kept: None }), "{plan:?}");
    }

    #[test]
    fn a_visitor_who_wrote_a_field_gets_a_session_created_with_it() {
        let fields = record(&[("a.x", b"1")]);
        let plan = plan(visitor(Some(fields.clone())), &rules()).unwrap();
        assert!(matches!(plan.write, Write::Create { fields: ref f, .. } if *f == fields));
    }

    #[test]
    fn a_new_session_is_created_with_its_creation_time_under_an_absolute_lifetime() {
        let created = ("__created".to_owned(), vec![7]);
        let rules = Rules { created: Some(created.clone()), ..rules() };
        let plan = plan(visitor(Some(record(&[("a.x", b"1")]))), &rules).unwrap();
        let Write::Create { fields, .. } = plan.write else { panic!("{plan:?}") };
        assert_eq!(fields.get(&created.0), Some(&created.1));
    }

    #[test]
    fn the_id_a_guard_was_shown_is_the_id_a_new_session_is_created_under() {
        let mut facts = visitor(Some(record(&[("a.x", b"1")])));
        let shown = SessionId::generate(32);
        facts.next_id = Some(shown.clone());
        let plan = plan(facts, &rules()).unwrap();
        assert!(matches!(plan.write, Write::Create { ref id, .. } if *id == shown));
    }

    #[test]
    fn a_session_touched_without_a_change_gets_no_write() {
        let loaded = record(&[("a.x", b"1")]);
        let plan = plan(existing(loaded.clone(), Some(loaded)), &rules()).unwrap();
        assert!(matches!(plan.write, Write::Nothing { kept: Some(_) }), "{plan:?}");
    }

    #[test]
    fn an_update_names_only_the_changed_and_the_vanished_fields() {
        let loaded = record(&[("a.same", b"1"), ("a.changed", b"2"), ("a.gone", b"3")]);
        let now = record(&[("a.same", b"1"), ("a.changed", b"9"), ("a.new", b"4")]);
        let plan = plan(existing(loaded, Some(now)), &rules()).unwrap();
        let Write::Update { changes, .. } = plan.write else { panic!("{plan:?}") };
        assert_eq!(changes.set, record(&[("a.changed", b"9"), ("a.new", b"4")]));
        assert_eq!(changes.remove, ["a.gone"]);
    }

    /// A stored session that loaded `loaded`, which one guard's commit changed by `changes`.
    fn pending(loaded: Record, changes: Changes) -> Facts {
        let mut facts = Facts::new(Some(stored()), Arc::new(loaded), true);
        facts.pending = Some(changes);
        facts
    }

    fn setting(entries: &[(&str, &[u8])]) -> Changes {
        Changes { set: record(entries), remove: Vec::new() }
    }

    #[test]
    fn one_commits_changes_to_a_kept_session_are_its_update() {
        let changes = Changes { set: record(&[("a.x", b"2")]), remove: vec!["a.y".into()] };
        let facts = pending(record(&[("a.x", b"1"), ("a.y", b"1")]), changes.clone());
        let plan = plan(facts, &rules()).unwrap();
        assert!(matches!(plan.write, Write::Update { changes: ref c, .. } if *c == changes));
        assert!(!plan.refresh_cookie);
    }

    #[test]
    fn one_commit_that_changed_nothing_gets_no_write() {
        let plan = plan(pending(record(&[("a.x", b"1")]), Changes::default()), &rules()).unwrap();
        assert!(matches!(plan.write, Write::Nothing { kept: Some(_) }), "{plan:?}");
    }

    #[test]
    fn one_commit_that_grows_the_record_past_the_limit_is_refused() {
        let facts = pending(record(&[("a.x", b"1")]), setting(&[("a.y", &[0; 64])]));
        let error = plan(facts, &rules()).unwrap_err();
        assert!(matches!(error, Error::Store(store::Error::TooLarge { limit: 64, .. })));
    }

    #[test]
    fn one_commit_may_replace_a_field_up_to_the_limit() {
        // 3 + 61 bytes once the 40-byte value is replaced, not added to.
        let facts = pending(record(&[("a.x", &[0; 40])]), setting(&[("a.x", &[1; 61])]));
        assert!(matches!(plan(facts, &rules()).unwrap().write, Write::Update { .. }));
    }

    #[test]
    fn a_commit_that_changes_the_permanence_sends_the_cookie_again() {
        let facts = pending(record(&[("a.x", b"1")]), setting(&[("__permanent", b"0")]));
        assert!(plan(facts, &rules()).unwrap().refresh_cookie);
    }

    #[test]
    fn a_regeneration_moves_from_the_stored_key_to_a_new_id() {
        let mut facts = existing(record(&[("a.x", b"1")]), None);
        let old = facts.stored.clone().unwrap();
        facts.intent = Intent { regenerate: true, ..Intent::default() };
        let plan = plan(facts, &rules()).unwrap();
        let Write::Regenerate { old: from, new, changes } = plan.write else { panic!() };
        assert_eq!((from, changes.is_empty()), (old.clone(), true));
        assert_ne!(new, old.id());
    }

    #[test]
    fn a_destroy_with_nothing_written_afterwards_deletes() {
        let mut facts = visitor(None);
        facts.intent.destroyed = Some(stored());
        let plan = plan(facts, &rules()).unwrap();
        assert!(matches!(plan.write, Write::Delete { .. }), "{plan:?}");
    }

    #[test]
    fn a_destroy_followed_by_a_write_replaces_the_session_under_a_new_id() {
        let mut facts = visitor(Some(record(&[("a.x", b"1")])));
        let old = stored();
        facts.intent.destroyed = Some(old.clone());
        let plan = plan(facts, &rules()).unwrap();
        let Write::Replace { old: deleted, new, .. } = plan.write else { panic!("{plan:?}") };
        assert_eq!(deleted, old);
        assert_ne!(new, old.id());
    }

    #[test]
    fn a_write_that_grows_a_record_past_the_limit_is_refused() {
        let big = record(&[("a.x", &[0; 100])]);
        let error = plan(existing(record(&[("a.x", b"1")]), Some(big)), &rules()).unwrap_err();
        assert!(matches!(error, Error::Store(store::Error::TooLarge { limit: 64, .. })));
    }

    #[test]
    fn a_record_already_over_the_limit_may_still_shrink() {
        let loaded = record(&[("a.x", &[0; 100])]);
        let smaller = record(&[("a.x", &[0; 90])]);
        let plan = plan(existing(loaded, Some(smaller)), &rules()).unwrap();
        assert!(matches!(plan.write, Write::Update { .. }), "{plan:?}");
    }

    #[test]
    fn a_rolling_permanent_cookie_is_refreshed_when_the_load_reset_the_expiry() {
        let mut facts = existing(record(&[("a.x", b"1")]), None);
        facts.load = LoadFacts { expiry_reset: true, resign: false };
        assert!(plan(facts, &rules()).unwrap().refresh_cookie);
    }

    #[test]
    fn a_read_within_the_touch_interval_refreshes_no_cookie() {
        let facts = existing(record(&[("a.x", b"1")]), None);
        assert!(!plan(facts, &rules()).unwrap().refresh_cookie);
    }

    #[test]
    fn an_update_within_the_touch_interval_refreshes_no_cookie() {
        let facts = existing(record(&[("a.x", b"1")]), Some(record(&[("a.x", b"2")])));
        let plan = plan(facts, &rules()).unwrap();
        assert!(matches!(plan.write, Write::Update { .. }), "{plan:?}");
        assert!(!plan.refresh_cookie);
    }

    #[test]
    fn a_browser_session_cookie_is_not_refreshed_by_a_rolling_reset() {
        let mut facts = existing(record(&[("a.x", b"1")]), None);
        facts.permanent = false;
        facts.load.expiry_reset = true;
        assert!(!plan(facts, &rules()).unwrap().refresh_cookie);
    }

    #[test]
    fn a_cookie_signed_with_a_fallback_key_is_sent_again() {
        let mut facts = existing(record(&[("a.x", b"1")]), None);
        facts.load.resign = true;
        let rules = Rules { rolling: false, ..rules() };
        assert!(plan(facts, &rules).unwrap().refresh_cookie);
    }

    #[test]
    fn a_binding_names_the_user_whose_index_lists_the_session() {
        let user = codec::encode(Format::Msgpack, "ada").unwrap();
        let mut facts = visitor(Some(record(&[("__user", &user)])));
        facts.intent.bound = true;
        assert_eq!(plan(facts, &rules()).unwrap().index_user.as_deref(), Some("ada"));
    }

    #[test]
    fn an_ordinary_update_of_a_bound_session_leaves_the_index_alone() {
        let user = codec::encode(Format::Msgpack, "ada").unwrap();
        let loaded = record(&[("__user", &user), ("a.x", b"1")]);
        let now = record(&[("__user", &user), ("a.x", b"2")]);
        assert_eq!(plan(existing(loaded, Some(now)), &rules()).unwrap().index_user, None);
    }
}
