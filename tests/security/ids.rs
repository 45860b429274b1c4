use std::collections::HashSet;

use rocket_typed_session::SessionId;

#[test]
fn a_million_ids_are_unique_of_one_length_and_base64url() {
    let mut seen = HashSet::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        let id = SessionId::generate(32);
        let text = id.expose();
        assert_eq!(text.len(), 43);
        assert!(
            text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{text}"
        );
        assert!(seen.insert(text.to_owned()), "a repeated id");
    }
}

#[test]
fn fewer_than_128_bits_of_entropy_stop_the_launch() {
    let figment = crate::support::figment(&[("session_id_length", "15")]);
    assert!(rocket_typed_session::SessionConfig::from_figment(&figment).is_err());
    let figment = crate::support::figment(&[("session_id_length", "16")]);
    assert!(rocket_typed_session::SessionConfig::from_figment(&figment).is_ok());
}
