//! The Lua scripts every write (and a rolling read, and a read sampling the clock) runs as, and how a call of one is encoded.

use std::sync::OnceLock;
use std::time::Duration;

use deadpool_redis::redis::{self, Script};

/// A Lua script: its source, and the SHA-1 `EVALSHA` names it by.
pub(super) struct Lua {
    source: &'static str,
    sha: String,
}

/// The scripts, each hashed once per process.
pub(super) struct Scripts {
    pub(super) read_touching: Lua,
    pub(super) read_clocked: Lua,
    pub(super) create: Lua,
    pub(super) update: Lua,
    pub(super) regenerate: Lua,
}

/// The script at `path` behind the functions the scripts share (`lua/shared.lua`): Redis
/// runs each script alone, so the prelude travels with each one that uses it.
macro_rules! with_shared {
    ($path:literal) => {
        concat!(include_str!("lua/shared.lua"), "\n", include_str!($path))
    };
}

pub(super) fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    let lua = |source| Lua { source, sha: Script::new(source).get_hash().to_owned() };
    SCRIPTS.get_or_init(|| Scripts {
        read_touching: lua(with_shared!("lua/read_touching.lua")),
        read_clocked: lua(with_shared!("lua/read_clocked.lua")),
        create: lua(include_str!("lua/create.lua")),
        update: lua(with_shared!("lua/update.lua")),
        regenerate: lua(with_shared!("lua/regenerate.lua")),
    })
}

/// A duration as the whole milliseconds Redis takes, at least one (zero would mean "now").
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A call of one of the scripts: `EVALSHA` with its keys and arguments, encoded once, as it
/// is sent.
pub(super) struct ScriptCall {
    lua: &'static Lua,
    pub(super) evalsha: redis::Cmd,
}

impl ScriptCall {
    /// A call of `lua` on `keys`, whose first argument is `ttl`.
    pub(super) fn new(lua: &'static Lua, keys: &[&str], ttl: Duration) -> ScriptCall {
        // Room for a read's whole call, so that building it never grows a buffer (it did,
        // once per argument: a quarter of a rolling read's own instructions); a write's
        // fields grow it as they come.
        let key_bytes: usize = keys.iter().map(|key| key.len()).sum();
        let mut evalsha = redis::Cmd::with_capacity(keys.len() + 6, key_bytes + 96);
        evalsha.arg("EVALSHA").arg(&lua.sha).arg(keys.len()).arg(keys).arg(millis(ttl));
        ScriptCall { lua, evalsha }
    }

    pub(super) fn arg(&mut self, arg: impl redis::ToRedisArgs) -> &mut Self {
        self.evalsha.arg(arg);
        self
    }

    /// The same call as `EVAL` with the whole script: what a node that does not know the
    /// script yet (first use, a restart, a failover) gets instead. Both route by the same
    /// key, so the fallback reaches the node that refused, unlike a `SCRIPT LOAD`.
    pub(super) fn by_source(&self) -> redis::Cmd {
        let mut eval = redis::cmd("EVAL");
        eval.arg(self.lua.source);
        // Past `EVALSHA` and the digest, the arguments are the same.
        for arg in self.evalsha.args_iter().skip(2) {
            if let redis::Arg::Simple(bytes) = arg {
                eval.arg(bytes);
            }
        }
        eval
    }
}
