//! One round trip to Redis, built before it is sent so that it can be sent again, and the
//! round trips each store operation is made of.

use std::borrow::Cow;
use std::time::Duration;

use deadpool_redis::redis::{self, ErrorKind, FromRedisValue, RedisError, ServerErrorKind};

use super::connection::Connection;
use super::scripts::{millis, scripts, Lua, ScriptCall};
use crate::store::framing::unframe;
use crate::store::{touch_interval, Changes, Record};

/// What is sent in one round trip.
pub(super) enum RoundTrip {
    One(Call),
    /// A write followed by `WAIT`; the reply is the write's and the replicas that acknowledged.
    Replicated(Call, Wait),
    /// Commands without scripts, sent together; the reply is one value per command.
    Pipeline(redis::Pipeline),
}

/// A command, or a call of one of the scripts.
pub(super) enum Call {
    Script(ScriptCall),
    Command(redis::Cmd),
}

/// `WAIT replicas within`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wait {
    pub(super) replicas: u32,
    pub(super) within: Duration,
}

impl Call {
    /// The command to send; with `by_source`, a script call as `EVAL` (see
    /// [`ScriptCall::by_source`]).
    fn command(&self, by_source: bool) -> Cow<'_, redis::Cmd> {
        match self {
            Call::Script(call) if by_source => Cow::Owned(call.by_source()),
            Call::Script(call) => Cow::Borrowed(&call.evalsha),
            Call::Command(command) => Cow::Borrowed(command),
        }
    }
}

impl RoundTrip {
    /// Sends the round trip; a script the node does not know is sent again by source.
    pub(super) async fn send<T: FromRedisValue>(
        &self,
        connection: &mut Connection,
    ) -> Result<T, RedisError> {
        match self.send_as(false, connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.send_as(true, connection).await
            }
            result => result,
        }
    }

    async fn send_as<T: FromRedisValue>(
        &self,
        by_source: bool,
        connection: &mut Connection,
    ) -> Result<T, RedisError> {
        match self {
            RoundTrip::One(call) => call.command(by_source).query_async(connection).await,
            RoundTrip::Replicated(write, wait) => {
                let mut pipeline = redis::pipe();
                pipeline.add_command(write.command(by_source).into_owned());
                pipeline.cmd("WAIT").arg(wait.replicas).arg(millis(wait.within));
                pipeline.query_async(connection).await
            }
            RoundTrip::Pipeline(pipeline) => pipeline.query_async(connection).await,
        }
    }
}

/// `PING`.
pub(super) fn ping() -> RoundTrip {
    RoundTrip::One(Call::Command(redis::cmd("PING")))
}

/// `HGETALL key`.
pub(super) fn read(key: &str) -> RoundTrip {
    let mut command = redis::cmd("HGETALL");
    command.arg(key);
    RoundTrip::One(Call::Command(command))
}

/// `HGETALL key` and `PTTL key` for each of `keys`: their records and how long each has
/// left, in one round trip. On a cluster all `keys` must share a slot.
pub(super) fn peek<'k>(keys: impl IntoIterator<Item = &'k String>) -> RoundTrip {
    let mut pipeline = redis::pipe();
    for key in keys {
        pipeline.cmd("HGETALL").arg(key).cmd("PTTL").arg(key);
    }
    RoundTrip::Pipeline(pipeline)
}

/// A session's values as the read-touching script returns them, framed in one string (see
/// [`framing`](crate::store::framing)): the client parses one reply element, not two per value.
pub(super) struct Framed(pub(super) Record);

impl FromRedisValue for Framed {
    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        let redis::Value::BulkString(framed) = value else {
            return Err("the session's values are not one string".into());
        };
        unframe(&framed).map(Framed).ok_or_else(|| "the session's values are not framed".into())
    }
}

/// What the read scripts return: whether the read reset the expiry, the values, and the
/// server's time when it was asked for.
pub(super) struct ReadReply {
    pub(super) reset: bool,
    pub(super) record: Record,
    pub(super) server_ms: Option<i64>,
}

impl FromRedisValue for ReadReply {
    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        let redis::Value::Array(items) = value else {
            return Err("the read's reply is not an array".into());
        };
        let mut items = items.into_iter();
        let (Some(reset), Some(framed)) = (items.next(), items.next()) else {
            return Err("the read's reply is cut short".into());
        };
        let server_ms = items.next().map(i64::from_redis_value).transpose()?;
        let Framed(record) = Framed::from_redis_value(framed)?;
        Ok(ReadReply { reset: i64::from_redis_value(reset)? == 1, record, server_ms })
    }
}

/// The read-touching script on `key`; with `clock`, its reply ends with the server's time.
pub(super) fn read_touching(key: &str, ttl: Duration, clock: bool) -> RoundTrip {
    let mut call = ScriptCall::new(&scripts().read_touching, &[key], ttl);
    call.arg(millis(touch_interval(ttl))).arg(u8::from(clock));
    RoundTrip::One(Call::Script(call))
}

/// The read script that moves no expiry and ends its reply with the server's time.
pub(super) fn read_clocked(key: &str) -> RoundTrip {
    RoundTrip::One(Call::Script(ScriptCall::new(&scripts().read_clocked, &[key], Duration::ZERO)))
}

/// The create script: `fields` under `key`, only if it is absent.
pub(super) fn create(key: &str, fields: &Record, ttl: Duration) -> Call {
    let mut call = ScriptCall::new(&scripts().create, &[key], ttl);
    for (field, value) in fields {
        call.arg(field.as_str()).arg(value.as_slice());
    }
    Call::Script(call)
}

/// `DEL key`; its reply is how many keys it deleted.
pub(super) fn delete(key: &str) -> Call {
    let mut command = redis::cmd("DEL");
    command.arg(key);
    Call::Command(command)
}

/// The update script on `key`, which writes nothing past `deadline` (see [`fence`]).
///
/// [`fence`]: crate::store::fence
pub(super) fn update(key: &str, changes: &Changes, ttl: Duration, deadline: i64) -> Call {
    change(&scripts().update, &[key], changes, ttl, deadline)
}

/// The regenerate script from `old` to `new`, which moves nothing past `deadline`.
pub(super) fn regenerate(
    old: &str,
    new: &str,
    changes: &Changes,
    ttl: Duration,
    deadline: i64,
) -> Call {
    change(&scripts().regenerate, &[old, new], changes, ttl, deadline)
}

/// A script that takes the touch interval, the deadline, then the changes: the count of
/// fields set, the pairs, then the removals.
fn change(
    lua: &'static Lua,
    keys: &[&str],
    changes: &Changes,
    ttl: Duration,
    deadline: i64,
) -> Call {
    let mut call = ScriptCall::new(lua, keys, ttl);
    call.arg(millis(touch_interval(ttl))).arg(deadline).arg(changes.set.len());
    for (field, value) in &changes.set {
        call.arg(field.as_str()).arg(value.as_slice());
    }
    for field in &changes.remove {
        call.arg(field.as_str());
    }
    Call::Script(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_values_decode_into_the_record() {
        let reply = redis::Value::BulkString(b"3:a.x2:ab3:a.y0:".to_vec());
        let Framed(record) = Framed::from_redis_value(reply).unwrap();
        let expected = [("a.x".to_owned(), b"ab".to_vec()), ("a.y".to_owned(), Vec::new())];
        assert_eq!(record, expected.into());
    }

    #[test]
    fn values_in_another_shape_are_an_error_not_a_record_cut_short() {
        let cut = redis::Value::BulkString(b"3:a.x9:ab".to_vec());
        let pairs = redis::Value::Array(vec![redis::Value::BulkString(b"a.x".to_vec())]);
        for reply in [cut, pairs, redis::Value::Nil] {
            assert!(Framed::from_redis_value(reply).is_err());
        }
    }
}
