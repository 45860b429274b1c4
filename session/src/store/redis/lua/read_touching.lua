-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms.
-- Returns {1, values, now} if the TTL was reset, {0, values, now} if it was left alone: when
-- it was set to this ttl within the interval, or when there is no record (no fields). The
-- values come framed in one string, `<bytes>:<field><bytes>:<value>` each: one reply element
-- for the client to parse instead of two per field. `now` is the server's time in Unix
-- milliseconds, from which the client learns the clock its saves' deadlines use.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {0, '', now} end
local framed = {}
for i = 1, #fields do
    framed[i] = #fields[i] .. ':' .. fields[i]
end
local values = table.concat(framed)
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left <= ttl and left >= ttl - tonumber(ARGV[2]) then return {0, values, now} end
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, values, now}
