-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms, ARGV[3] = the
-- deadline in the server's Unix milliseconds (0 for none), ARGV[4] = n, then n field, value
-- pairs to set, then the fields to delete. Returns 1 if updated, 0 if the key was gone, -1
-- if the deadline had passed (nothing written either way): a save its client gave up on
-- must not land later over a newer one. The TTL is reset as a touching read resets it: not
-- when it was set to this ttl within the interval, so that it moves, and a rolling cookie
-- is re-sent, together at a read that is due.
local deadline = tonumber(ARGV[3])
if deadline > 0 then
    local time = redis.call('TIME')
    if tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) > deadline then
        return -1
    end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last_set = 4 + 2 * tonumber(ARGV[4])
for i = 5, last_set, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left <= ttl and left >= ttl - tonumber(ARGV[2]) then return 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
