-- What the scripts below share: each of them is sent with this prelude in front.

-- The server's time in Unix milliseconds.
local function now_ms()
    local time = redis.call('TIME')
    return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- A hash's fields and values (HGETALL's reply) framed in one string,
-- `<bytes>:<field><bytes>:<value>` each: one reply element for the client to parse instead
-- of two per field.
local function framed(fields)
    local parts = {}
    for i = 1, #fields do
        parts[i] = #fields[i] .. ':' .. fields[i]
    end
    return table.concat(parts)
end

-- Whether a save's deadline (the server's Unix milliseconds, 0 for none) has passed: a save
-- its client gave up on must not land later over a newer one.
local function past(deadline)
    deadline = tonumber(deadline)
    return deadline > 0 and now_ms() > deadline
end

-- Resets the TTL of `key` to `ttl` ms, unless it was set to that ttl within `interval` ms;
-- returns whether it did. Reads and updates share the rule, so that the expiry moves, and a
-- rolling cookie is re-sent, together at a read that is due.
local function touch(key, ttl, interval)
    ttl = tonumber(ttl)
    local left = redis.call('PTTL', key)
    if left <= ttl and left >= ttl - tonumber(interval) then return false end
    redis.call('PEXPIRE', key, ttl)
    return true
end

-- Applies a save's changes to `key`: ARGV[4] = n, then n field, value pairs to set, then the
-- fields to delete.
local function apply_changes(key)
    local last_set = 4 + 2 * tonumber(ARGV[4])
    for i = 5, last_set, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
    for i = last_set + 1, #ARGV do redis.call('HDEL', key, ARGV[i]) end
end
