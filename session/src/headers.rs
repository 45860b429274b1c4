//! Header lookups by walking the map: a request or response carries a handful of headers, and
//! Rocket's `HeaderMap` hashes a name byte by byte (names are case-insensitive) on every keyed
//! lookup, which costs several times more than comparing a few names.

use std::borrow::Cow;

use rocket::http::HeaderMap;

/// Every value of the header `name` (any case), in the order the map holds them.
pub(crate) fn values<'h>(
    headers: &'h HeaderMap<'_>,
    name: &'h str,
) -> impl Iterator<Item = &'h str> {
    headers.iter().filter(move |header| header.name == name).filter_map(|header| {
        // `HeaderMap::iter` lends each value; an owned one would not outlive this closure.
        match header.value {
            Cow::Borrowed(value) => Some(value),
            Cow::Owned(_) => None,
        }
    })
}

/// Whether the header `name` (any case) is present.
pub(crate) fn contains(headers: &HeaderMap<'_>, name: &str) -> bool {
    headers.iter().any(|header| header.name == name)
}

#[cfg(test)]
mod tests {
    use rocket::http::Header;

    use super::*;

    fn map(headers: &[(&'static str, &'static str)]) -> HeaderMap<'static> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.add(Header::new(*name, *value));
        }
        map
    }

    #[test]
    fn values_are_found_by_name_in_any_case_and_in_order() {
        let headers = map(&[("vary", "Accept"), ("Content-Type", "text/plain"), ("VARY", "X")]);
        assert_eq!(values(&headers, "Vary").collect::<Vec<_>>(), ["Accept", "X"]);
        assert_eq!(values(&headers, "Cookie").count(), 0);
    }

    #[test]
    fn contains_finds_a_name_in_any_case() {
        let headers = map(&[("cache-control", "no-store")]);
        assert!(contains(&headers, "Cache-Control"));
        assert!(!contains(&headers, "Vary"));
    }
}
