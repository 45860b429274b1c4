-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms.
-- Returns {1, fields} if the TTL was reset, {0, fields} if it was left alone: when it was
-- set to this ttl within the interval, or when there is no record (no fields).
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {0, fields} end
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left <= ttl and left >= ttl - tonumber(ARGV[2]) then return {0, fields} end
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, fields}
