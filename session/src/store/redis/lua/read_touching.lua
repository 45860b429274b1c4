-- KEYS[1] = key; ARGV[1] = ttl in ms, ARGV[2] = the touch interval in ms, ARGV[3] = 1 to
-- sample the server's clock. Returns {1, values} if the TTL was reset, {0, values} if it was
-- left alone (see `touch`), or when there is no record (no fields); with ARGV[3] = 1, the
-- server's time in Unix milliseconds follows, the clock the saves' deadlines use. The values
-- come framed (see `framed`).
local reply = {0, ''}
if ARGV[3] == '1' then reply[3] = now_ms() end
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return reply end
reply[2] = framed(fields)
if touch(KEYS[1], ARGV[1], ARGV[2]) then reply[1] = 1 end
return reply
