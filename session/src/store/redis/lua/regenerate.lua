-- KEYS[1] = old, KEYS[2] = new; ARGV as for update.lua (the touch interval unused: a moved
-- record's expiry is always reset, its new cookie sent).
-- Returns 1 if moved, 0 if the old key was gone, 2 if the new key was taken, -1 if the
-- deadline had passed.
if past(ARGV[3]) then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
apply_changes(KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
