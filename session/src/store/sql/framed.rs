//! A session read as one row, its header's expiry and its values framed into one blob (see
//! [`framing`](crate::store::framing)): how the SQLite and PostgreSQL reads return a session,
//! since each row sqlx hands over costs far more than framing a value (a row's columns are
//! copied and looked up by type one by one; on SQLite the row also crosses threads).

use sqlx::{Database, Decode, Type};

use crate::store::framing::unframe;
use crate::store::Record;

/// A session's header expiry and its values as a read frames them: an aggregate, so one row
/// always, with NULLs where the session has no rows.
pub(crate) type Framed = (Option<i64>, Option<Values>);

/// The values of the session `row` holds, with its expiry; `None` when it has expired or
/// holds no value (a record without fields does not exist).
pub(crate) fn live_values((expires_at, values): Framed, now: i64) -> Option<(Record, i64)> {
    let expires_at = expires_at.filter(|expires_at| *expires_at > now)?;
    let record = values.map(|values| values.0).filter(|record| !record.is_empty())?;
    Some((record, expires_at))
}

/// A session's values from one blob: for each, `<bytes>:<field><bytes>:<value>` with the
/// lengths in decimal. Bytes in another shape fail the decode, so the request gets an error
/// instead of a session missing values.
pub(crate) struct Values(Record);

impl<DB: Database> Type<DB> for Values
where
    Vec<u8>: Type<DB>,
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Vec<u8> as Type<DB>>::type_info()
    }

    /// SQLite's `group_concat` gives text, whose bytes are read as they are.
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Vec<u8> as Type<DB>>::compatible(ty) || <str as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Values
where
    &'r [u8]: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let framed = <&[u8] as Decode<DB>>::decode(value)?;
        unframe(framed).map(Values).ok_or_else(|| "session values not in their framing".into())
    }
}
