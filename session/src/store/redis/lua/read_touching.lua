-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms, ARGV[3] = 1 to
-- sample the server's clock. Returns {1, values} if the TTL was reset, {0, values} if it was
-- left alone: when it was set to this ttl within the interval, or when there is no record
-- (no fields); with ARGV[3] = 1, the server's time in Unix milliseconds follows, the clock
-- the saves' deadlines use. The values come framed in one string,
-- `<bytes>:<field><bytes>:<value>` each: one reply element for the client to parse instead
-- of two per field.
local reply = {0, ''}
if ARGV[3] == '1' then
    local time = redis.call('TIME')
    reply[3] = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return reply end
local framed = {}
for i = 1, #fields do
    framed[i] = #fields[i] .. ':' .. fields[i]
end
reply[2] = table.concat(framed)
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left <= ttl and left >= ttl - tonumber(ARGV[2]) then return reply end
redis.call('PEXPIRE', KEYS[1], ttl)
reply[1] = 1
return reply
