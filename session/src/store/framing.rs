//! A session's values framed into one byte string, `<bytes>:<field><bytes>:<value>` for each
//! value: how the SQLite and PostgreSQL reads and Redis's rolling read return a whole session
//! as one item, where each item a client hands over costs it more than the framing (sqlx
//! copies each row and looks up its columns one by one, and on SQLite passes it from the
//! connection's thread; redis-rs parses each element of a reply).

use super::Record;

/// The record `framed` holds, or `None` if it is not in this framing: an error for the
/// caller, never a record cut short.
pub(crate) fn unframe(mut framed: &[u8]) -> Option<Record> {
    let mut record = Record::new();
    while !framed.is_empty() {
        let field = String::from_utf8(next_framed(&mut framed)?.to_vec()).ok()?;
        record.insert(field, next_framed(&mut framed)?.to_vec());
    }
    Some(record)
}

/// Takes one `<bytes>:<item>` off the front of `framed`.
fn next_framed<'f>(framed: &mut &'f [u8]) -> Option<&'f [u8]> {
    let mut length: usize = 0;
    let mut digits = 0;
    while let Some(digit) = framed.get(digits).filter(|byte| byte.is_ascii_digit()) {
        length = length.checked_mul(10)?.checked_add(usize::from(digit - b'0'))?;
        digits += 1;
    }
    let rest = framed.get(digits..).filter(|_| digits > 0)?.strip_prefix(b":")?;
    let (item, rest) = rest.split_at_checked(length)?;
    *framed = rest;
    Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_another_framing_are_refused_rather_than_cut_short() {
        for framed in [
            &b"5:ab"[..],
            b"1:a",
            b"1:a1",
            b"x:a1:b",
            b":a1:b",
            b"+1:a1:b",
            b"99999999999999999999999:a",
            b"1:\xff1:b",
        ] {
            assert_eq!(unframe(framed), None, "{}", String::from_utf8_lossy(framed));
        }
    }

    #[test]
    fn framed_values_read_back_with_empty_values_and_digits_in_them() {
        let two = unframe(b"1:a2:bc3:def0:").unwrap();
        assert_eq!(two.get("a"), Some(&b"bc".to_vec()));
        assert_eq!(two.get("def"), Some(&Vec::new()));
        let digits = unframe(b"2:1:3:2:x").unwrap();
        assert_eq!(digits.get("1:"), Some(&b"2:x".to_vec()));
    }

    #[test]
    fn nothing_framed_is_a_record_without_values() {
        assert_eq!(unframe(b""), Some(Record::new()));
    }
}
