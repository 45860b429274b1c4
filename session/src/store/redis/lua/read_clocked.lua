-- KEYS[1] = key. A read that moves no expiry (without rolling expiry) and samples the
-- server's clock, as about one read a second does: returns {0, values, the server's time in
-- Unix milliseconds}, the values framed (see `framed`), '' when there is no record.
return {0, framed(redis.call('HGETALL', KEYS[1])), now_ms()}
