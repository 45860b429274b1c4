//! A cookie value from a client: parsing never panics, and accepts only ids that are exactly
//! what generation produces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocket_typed_session::SessionId;

fuzz_target!(|value: &str| {
    for length in [16, 32, 64] {
        if let Some(id) = SessionId::parse(value, length) {
            assert_eq!(id.expose(), value);
            assert_eq!(SessionId::parse(id.expose(), length).as_ref(), Some(&id));
            let _ = id.storage_key("session:");
        }
    }
});
