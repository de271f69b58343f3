-- Writes a plan unless the stored one is at least as new, and announces the change.
-- KEYS[1]  the workload's plan key
-- ARGV[1]  the encoded plan
-- ARGV[2]  its generation
-- ARGV[3]  TTL in milliseconds
-- ARGV[4]  the change channel
-- ARGV[5]  the workload, "namespace/name"
-- Returns {1, 0} when written, {0, stored generation} when refused.
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, old = pcall(cjson.decode, stored)
  if ok and type(old) == 'table' and type(old.generation) == 'number'
      and tonumber(ARGV[2]) <= old.generation then
    return {0, old.generation}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, 0}
