//! [`SessionInfo`]: what a device list shows of one session, and the fields a login stores
//! for it.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::codec::{self, Format};
use crate::data::Fields;
use crate::reserved;
use crate::store::{Peeked, Record};

use super::SessionHandle;

/// The most bytes of a `User-Agent` or a label a session keeps.
pub(crate) const MAX_TEXT: usize = 256;

/// One live session of a user, as [`Sessions::sessions_of`](crate::Sessions::sessions_of)
/// lists it: enough for a "where you're signed in" page, nothing that opens the session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Names the session for [`Sessions::revoke_session`](crate::Sessions::revoke_session).
    pub handle: SessionHandle,
    /// When the session began, or, for one that began anonymous, when it was bound to the
    /// user (the login).
    pub created: Option<SystemTime>,
    /// When the session was last active: when its idle expiry was last reset, which happens
    /// at most once per [`touch_interval`](crate::store::touch_interval) (a second by
    /// default) on reads with `session_refresh_each_request`, and on every save. `None` when
    /// the store cannot tell how long a record has left (a store's default
    /// [`peek`](crate::store::SessionStore::peek)).
    pub last_seen: Option<SystemTime>,
    /// The `User-Agent` the client sent at login, cut to 256 bytes.
    pub user_agent: Option<String>,
    /// The client's address at login, recorded only with `session_track_ip = true`.
    pub address: Option<IpAddr>,
    /// The label the app gave the session with
    /// [`Session::set_label`](crate::Session::set_label).
    pub label: Option<String>,
    /// Whether this is the session of the request that asked
    /// ([`Session::sessions_of_user`](crate::Session::sessions_of_user)); always `false` from
    /// [`Sessions::sessions_of`](crate::Sessions::sessions_of).
    pub current: bool,
}

impl SessionInfo {
    /// What `peeked`, the record stored under `key`, says of its session at `now`, for an
    /// idle `lifetime`.
    pub(crate) fn read(
        key: &str,
        peeked: &Peeked,
        format: Format,
        lifetime: Duration,
        now: SystemTime,
    ) -> SessionInfo {
        let fields = Fields::new(&peeked.record, format);
        let created = fields
            .value::<u64>(reserved::CREATED)
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        // The expiry was last reset to `lifetime` from now; under an absolute lifetime that
        // capped it, this is the earliest the reset can have been.
        let last_seen = peeked
            .expires_in
            .and_then(|left| (now + left).checked_sub(lifetime))
            .map(|seen| seen.min(now).max(created.unwrap_or(UNIX_EPOCH)));
        SessionInfo {
            handle: SessionHandle::of(key),
            created,
            last_seen,
            user_agent: fields.value(reserved::AGENT),
            address: fields.value::<String>(reserved::ADDRESS).and_then(|text| text.parse().ok()),
            label: fields.value(reserved::LABEL),
            current: false,
        }
    }
}

/// What a login records about the client.
pub(crate) struct Login<'a> {
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) address: Option<IpAddr>,
    pub(crate) now: SystemTime,
}

/// The fields a login stores in `record`: the client's user agent and address (each replacing
/// or removing what an earlier login stored) and, when the record has none, its creation
/// time.
pub(crate) fn login_fields(record: &mut Record, login: &Login<'_>, format: Format) {
    let mut put = |key: &str, value: Option<String>| match value {
        Some(text) => {
            let bytes = codec::encode(format, &text).expect("a string always encodes");
            record.insert(key.to_owned(), bytes);
        }
        None => drop(record.remove(key)),
    };
    put(reserved::AGENT, login.user_agent.map(truncated));
    put(reserved::ADDRESS, login.address.map(|address| address.to_string()));
    if !record.contains_key(reserved::CREATED) {
        let secs = login.now.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        let bytes = codec::encode(format, &secs).expect("an integer always encodes");
        record.insert(reserved::CREATED.to_owned(), bytes);
    }
}

/// `text` cut to at most [`MAX_TEXT`] bytes, at a character boundary.
pub(crate) fn truncated(text: &str) -> String {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn long_text_is_cut_at_a_character_boundary_within_256_bytes() {
        let text = "é".repeat(200);
        let cut = truncated(&text);
        assert!(cut.len() <= MAX_TEXT && cut.len() >= MAX_TEXT - 1);
        assert!(text.starts_with(&cut));
    }

    #[test]
    fn a_cut_inside_a_character_steps_back_to_its_start() {
        // Three bytes a character: byte 256 falls inside the 86th.
        let text = "€".repeat(100);
        assert_eq!(truncated(&text), "€".repeat(85));
    }

    #[test]
    fn last_seen_is_when_the_expiry_was_last_reset() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let lifetime = Duration::from_secs(3600);
        let peeked =
            Peeked { record: Arc::default(), expires_in: Some(lifetime - Duration::from_secs(60)) };
        let info = SessionInfo::read("k", &peeked, Format::Msgpack, lifetime, now);
        assert_eq!(info.last_seen, Some(now - Duration::from_secs(60)));
    }

    #[test]
    fn a_store_that_cannot_tell_the_expiry_gives_no_last_seen() {
        let peeked = Peeked { record: Arc::default(), expires_in: None };
        let info =
            SessionInfo::read("k", &peeked, Format::Msgpack, Duration::from_secs(60), UNIX_EPOCH);
        assert_eq!(info.last_seen, None);
    }

    #[test]
    fn a_second_login_replaces_the_client_but_keeps_the_creation_time() {
        let mut record = Record::new();
        let first = Login {
            user_agent: Some("one"),
            address: None,
            now: UNIX_EPOCH + Duration::from_secs(5),
        };
        login_fields(&mut record, &first, Format::Msgpack);
        let second = Login {
            user_agent: None,
            address: Some([127, 0, 0, 1].into()),
            now: UNIX_EPOCH + Duration::from_secs(9),
        };
        login_fields(&mut record, &second, Format::Msgpack);
        let info = SessionInfo::read(
            "k",
            &Peeked { record: Arc::new(record), expires_in: None },
            Format::Msgpack,
            Duration::from_secs(60),
            UNIX_EPOCH,
        );
        assert_eq!(info.user_agent, None);
        assert_eq!(info.address, Some([127, 0, 0, 1].into()));
        assert_eq!(info.created, Some(UNIX_EPOCH + Duration::from_secs(5)));
    }
}
