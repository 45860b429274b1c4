-- KEYS[1] = old, KEYS[2] = new; ARGV as for update.lua (the touch interval unused: a moved
-- record's expiry is always reset, its new cookie sent).
-- Returns 1 if moved, 0 if the old key was gone, 2 if the new key was taken.
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
local last_set = 3 + 2 * tonumber(ARGV[3])
for i = 4, last_set, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
