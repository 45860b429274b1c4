-- KEYS[1] = key; ARGV[1] = ttl in ms, then field, value pairs.
-- Returns 1 if created, 0 if the key existed (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
