//! The `session_*` keys this crate reads, and the nearest one to a key it does not.

use rocket::figment::value::Dict;

use super::Error;

/// Every key this crate reads.
pub const KNOWN_KEYS: &[&str] = &[
    "session_type",
    "session_permanent",
    "session_lifetime",
    "session_absolute_lifetime",
    "session_refresh_each_request",
    "session_key_prefix",
    "session_id_length",
    "session_serialization_format",
    "session_max_size",
    "session_use_signer",
    "session_secret_key",
    "session_secret_key_fallbacks",
    "session_cookie_name",
    "session_cookie_domain",
    "session_cookie_path",
    "session_cookie_httponly",
    "session_cookie_secure",
    "session_cookie_samesite",
    "session_cookie_partitioned",
    "session_memory_capacity",
    "session_redis_url",
    "session_redis_cluster_urls",
    "session_redis_sentinel_urls",
    "session_redis_sentinel_master",
    "session_redis_sentinel_master_username",
    "session_redis_sentinel_master_password",
    "session_redis_sentinel_master_db",
    "session_redis_sentinel_master_tls",
    "session_redis_tls_ca_file",
    "session_redis_tls_cert_file",
    "session_redis_tls_key_file",
    "session_redis_pool_size",
    "session_redis_timeout",
    "session_redis_wait_replicas",
    "session_filesystem_dir",
    "session_filesystem_threshold",
    "session_cleanup_n_requests",
    "session_store_timeout",
    "session_sql_url",
    "session_sql_table",
    "session_sql_pool_size",
    "session_sql_create_table",
    "session_max_per_user",
    "session_track_ip",
];

pub(super) fn reject_unknown_keys(keys: &Dict) -> Result<(), Error> {
    let unknown =
        keys.keys().find(|key| key.starts_with("session_") && !KNOWN_KEYS.contains(&key.as_str()));
    match unknown {
        None => Ok(()),
        Some(key) => Err(Error::UnknownKey { key: key.clone(), suggestion: closest_key(key) }),
    }
}

/// Keys outside `session_*` one edit away from a known key (`sesion_lifetime`): Rocket
/// ignores them, so the setting the user meant silently keeps its default.
pub(super) fn near_misses(keys: &Dict) -> Vec<(&str, &'static str)> {
    keys.keys()
        .filter(|key| !key.starts_with("session_"))
        .filter_map(|key| {
            let known = KNOWN_KEYS.iter().find(|known| edit_distance(key, known) == 1)?;
            Some((key.as_str(), *known))
        })
        .collect()
}

fn closest_key(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .map(|known| (edit_distance(key, known), *known))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes; keys are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use serde::de::{self, Deserialize, Visitor};

    use super::*;
    use crate::config::SessionConfig;

    #[test]
    fn close_typos_get_a_suggestion() {
        assert_eq!(closest_key("session_lifetme"), Some("session_lifetime"));
        assert_eq!(closest_key("session_cookie_same_site"), Some("session_cookie_samesite"));
        assert_eq!(closest_key("session_completely_different"), None);
    }

    #[test]
    fn keys_one_edit_from_a_session_key_are_near_misses() {
        let keys: Dict = ["sesion_lifetime", "sessions_type", "port", "secret_key", "session_x"]
            .into_iter()
            .map(|key| (key.to_owned(), 1.into()))
            .collect();
        let mut misses = near_misses(&keys);
        misses.sort_unstable();
        assert_eq!(
            misses,
            [("sesion_lifetime", "session_lifetime"), ("sessions_type", "session_type")]
        );
    }

    /// A deserializer that records the field names a struct asks for, then stops.
    struct FieldNames(Vec<&'static str>);

    #[derive(Debug)]
    struct Stop;

    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }

    impl std::error::Error for Stop {}

    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    impl<'de> de::Deserializer<'de> for &mut FieldNames {
        type Error = Stop;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.extend(fields);
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    #[test]
    fn the_known_keys_are_exactly_the_keys_the_configuration_reads() {
        let mut names = FieldNames(Vec::new());
        let _ = SessionConfig::deserialize(&mut names);
        let mut read = names.0;
        let mut known = KNOWN_KEYS.to_vec();
        read.sort_unstable();
        known.sort_unstable();
        assert_eq!(known, read);
    }
}
