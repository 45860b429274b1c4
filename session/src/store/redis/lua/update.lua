-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = n, then n field, value pairs to set, then
-- the fields to delete. Returns 1 if updated, 0 if the key was gone (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last_set = 2 + 2 * tonumber(ARGV[2])
for i = 3, last_set, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
