-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms, ARGV[3] = the
-- deadline in the server's Unix milliseconds (0 for none), then the changes (see
-- `apply_changes`). Returns 1 if updated, 0 if the key was gone, -1 if the deadline had
-- passed (nothing written either way). The TTL is reset as a touching read resets it.
if past(ARGV[3]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
apply_changes(KEYS[1])
touch(KEYS[1], ARGV[1], ARGV[2])
return 1
