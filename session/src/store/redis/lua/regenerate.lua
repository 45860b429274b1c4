-- KEYS[1] = old, KEYS[2] = new; ARGV as for update.lua (the touch interval unused: a moved
-- record's expiry is always reset, its new cookie sent).
-- Returns 1 if moved, 0 if the old key was gone, 2 if the new key was taken, -1 if the
-- deadline had passed.
local deadline = tonumber(ARGV[3])
if deadline > 0 then
    local time = redis.call('TIME')
    if tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) > deadline then
        return -1
    end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
local last_set = 4 + 2 * tonumber(ARGV[4])
for i = 5, last_set, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = last_set + 1, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
