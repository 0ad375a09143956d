/**
 * The Lua scripts of the `redis` backend. Every write that must be atomic is one script, so it runs
 * as one step on the server. Writes carry a unique token: ioredis re-sends a command whose reply was
 * lost to a dropped connection, and the token (remembered for a while under `applied:<token>`) turns
 * that replay into a no-op instead of a second append or a second read-modify-write.
 *
 * All keys a script touches are passed in KEYS and share the scope's hash tag (one cluster slot).
 * Numbers that must survive exactly (times) travel as strings and are stored as given.
 *
 * Lease clock: an argument named `now` is either a time in ms (the caller injected a clock, e.g. a
 * test's fake one) or '' meaning "ask the server": `redis.call('TIME')`, so every gateway judges
 * lease expiry by one clock however skewed the hosts' clocks are. Redis 7 replicates a script's
 * effects rather than the script, so TIME before a write is allowed.
 */
import { createHash } from "node:crypto";

export interface LuaScript {
  name: string;
  lua: string;
  sha: string;
}

function script(name: string, body: string): LuaScript {
  return { name, lua: body, sha: createHash("sha1").update(body).digest("hex") };
}

/** How long a write token is remembered for replay detection (ms). */
export const APPLIED_TTL_MS = 120_000;

/** Shared prelude: the lease clock, replay detection and the fence check. */
const PRELUDE = `
local function clock(now)
  if now == '' then
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return tonumber(now)
end
local function ms(n)
  return string.format('%d', n)
end
local function replayed(appliedKey)
  return redis.call('EXISTS', appliedKey) == 1
end
local function remember(appliedKey, value)
  redis.call('SET', appliedKey, value, 'PX', ${APPLIED_TTL_MS})
end
-- Writes (json ~= nil) or deletes one row with its version and its listing-index member.
local function writeRow(rows, vers, pos, idx, key, json, version, member)
  local old = redis.call('HGET', pos, key)
  if old then redis.call('ZREM', idx, old) end
  if json == nil then
    redis.call('HDEL', rows, key)
    redis.call('HDEL', vers, key)
    redis.call('HDEL', pos, key)
  else
    redis.call('HSET', rows, key, json)
    redis.call('HSET', vers, key, version)
    redis.call('HSET', pos, key, member)
    redis.call('ZADD', idx, 0, member)
  end
end
local function fenceOk(leaseKey, owner, epoch, now)
  local h = redis.call('HMGET', leaseKey, 'owner', 'epoch', 'expiresAt', 'free')
  if not h[1] then return false end
  return h[1] == owner and h[2] == epoch and h[4] ~= '1' and clock(now) < tonumber(h[3])
end
`;

/** KEYS: rows, vers. ARGV: key. Returns {json|false, version|false}. */
export const READ_ROW = script(
  "readRow",
  `return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('HGET', KEYS[2], ARGV[1])}`,
);

/**
 * Compare-and-set of one row. KEYS: rows, vers, pos, idx, applied.
 * ARGV: key, expected version ('' = absent), op ('put'|'del'), new version, json, index member.
 * Returns 1 when applied (or already applied by this token), 0 when the version moved.
 */
export const CAS_ROW = script(
  "casRow",
  `${PRELUDE}
if replayed(KEYS[5]) then return 1 end
local cur = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
writeRow(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3] ~= 'del' and ARGV[5] or nil, ARGV[4], ARGV[6])
remember(KEYS[5], '1')
return 1
`,
);

/**
 * Several rows in one step. KEYS: rows, vers, pos, idx, applied.
 * ARGV: token, then per change: key, json ('' deletes), index member.
 */
export const PUT_MANY = script(
  "putMany",
  `${PRELUDE}
if replayed(KEYS[5]) then return 1 end
local n = 0
for i = 2, #ARGV, 3 do
  local key, json, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if json == '' then
    writeRow(KEYS[1], KEYS[2], KEYS[3], KEYS[4], key, nil)
  else
    n = n + 1
    writeRow(KEYS[1], KEYS[2], KEYS[3], KEYS[4], key, json, ARGV[1] .. ':' .. n, member)
  end
end
remember(KEYS[5], '1')
return 1
`,
);

/**
 * One page of the listing index. KEYS: idx, rows. ARGV: min, max (ZRANGEBYLEX bounds), limit
 * (-1 = all), key prefix ('' = any). Index members are `<16 hex>:<key>`.
 * Returns {more (0|1), key1, json1, key2, json2, ...}.
 */
export const LIST_PAGE = script(
  "listPage",
  `
local min, max, limit, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local plen = #prefix
local out = {0}
local found = 0
local offset = 0
while true do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, max, 'LIMIT', offset, 500)
  if #batch == 0 then break end
  offset = offset + #batch
  for i = 1, #batch do
    local key = string.sub(batch[i], 18)
    if plen == 0 or string.sub(key, 1, plen) == prefix then
      if limit >= 0 and found == limit then
        out[1] = 1
        return out
      end
      local json = redis.call('HGET', KEYS[2], key)
      if json then
        found = found + 1
        out[#out + 1] = key
        out[#out + 1] = json
      end
    end
  end
end
return out
`,
);

/**
 * Appends lines, optionally fenced. KEYS: transcript list, live-transcripts set, lease, applied.
 * ARGV: session id, fence ('1'|'0'), owner, epoch, now (ms, or '' = server TIME), lines...
 * Returns 1, or 0 when the fence is not current.
 */
export const APPEND = script(
  "append",
  `${PRELUDE}
if replayed(KEYS[4]) then return 1 end
if ARGV[2] == '1' and not fenceOk(KEYS[3], ARGV[3], ARGV[4], ARGV[5]) then return 0 end
if #ARGV >= 6 then
  for i = 6, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  redis.call('SADD', KEYS[2], ARGV[1])
end
remember(KEYS[4], '1')
return 1
`,
);

/**
 * A fenced append and a row compare-and-set in one step (a turn's message or reply and its row),
 * which can also renew the fence's lease and publish waiting events (both ride along: no command of
 * their own). KEYS: rows, vers, pos, idx, applied, transcript list, live-transcripts set, lease.
 * ARGV: key, expected version ('' = absent), op ('put'|'del'|'keep'), new version, json, index
 * member, session id, fence ('0' none, '1' fenced, '2' fenced and free the lease once written),
 * owner, epoch, now (ms, or '' = server TIME), renew ttl (ms, '' = no renewal), event channel, event
 * count n, n events, then the lines.
 * Returns {1, new expiresAt or '', '1' when the lease was freed else ''} when applied (or already
 * applied by this token: {1, '', ''}), 0 when
 * the row's version moved, -1 when the fence is not current; nothing is written unless applied. The
 * events are published whenever the script runs (not on a replay: the first run sent them), so
 * events handed to successive calls go out in call order whatever each write's outcome.
 */
export const APPEND_AND_PATCH = script(
  "appendAndPatch",
  `${PRELUDE}
if replayed(KEYS[5]) then return {1, '', ''} end
local nEvents = tonumber(ARGV[14])
for i = 15, 14 + nEvents do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
local fenced = ARGV[8] ~= '0'
local now = 0
if fenced then
  now = clock(ARGV[11])
  if not fenceOk(KEYS[8], ARGV[9], ARGV[10], ms(now)) then return -1 end
end
local cur = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
if ARGV[3] ~= 'keep' then
  writeRow(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[3] ~= 'del' and ARGV[5] or nil, ARGV[4], ARGV[6])
end
local first = 15 + nEvents
if #ARGV >= first then
  for i = first, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[6], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  redis.call('SADD', KEYS[7], ARGV[7])
end
local expiresAt = ''
if fenced and ARGV[12] ~= '' then
  expiresAt = ms(now + tonumber(ARGV[12]))
  redis.call('HSET', KEYS[8], 'expiresAt', expiresAt)
end
local freed = ''
if ARGV[8] == '2' then
  redis.call('HSET', KEYS[8], 'free', '1')
  freed = '1'
end
remember(KEYS[5], '1')
return {1, expiresAt, freed}
`,
);

/** Publishes waiting events no write carried. ARGV: channel, events... */
export const PUBLISH_MANY = script(
  "publishMany",
  `for i = 2, #ARGV do redis.call('PUBLISH', ARGV[1], ARGV[i]) end
return #ARGV - 1
`,
);

/** KEYS: transcript list. Returns {total length, lines...} of the last ARGV[1] + 1 lines (all when -1). */
export const READ_TAIL = script(
  "readTail",
  `
local n = redis.call('LLEN', KEYS[1])
local lines
if tonumber(ARGV[1]) < 0 then lines = redis.call('LRANGE', KEYS[1], 0, -1)
else lines = redis.call('LRANGE', KEYS[1], -(tonumber(ARGV[1]) + 1), -1) end
table.insert(lines, 1, n)
return lines
`,
);

/**
 * Moves a transcript aside. KEYS: transcript list, archive list, live set, archives hash, applied.
 * ARGV: session id, archive name. Returns the name, or false when there is no transcript.
 */
export const ARCHIVE = script(
  "archive",
  `${PRELUDE}
local done = redis.call('GET', KEYS[5])
if done then
  if done == '' then return false end
  return done
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  remember(KEYS[5], '')
  return false
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
remember(KEYS[5], ARGV[2])
return ARGV[2]
`,
);

/** Replaces a transcript. KEYS: transcript list, live set. ARGV: session id, lines... (none = delete). */
export const IMPORT = script(
  "import",
  `
redis.call('DEL', KEYS[1])
if #ARGV >= 2 then
  for i = 2, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  redis.call('SADD', KEYS[2], ARGV[1])
else
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
`,
);

/**
 * Acquires a lease. KEYS: lease hash [, rows, vers [, transcript list]]. ARGV: owner, now (ms, or
 * '' = server TIME), ttl (ms) [, row key [, tail lines n]]. Returns {1|0 (got it), owner, epoch,
 * expiresAt}: on 0, the current holder. Times are strings. With the row keys, a 1 also carries the
 * row's json and version (false if absent); with the transcript, then its length and its last n + 1
 * lines.
 */
export const ACQUIRE = script(
  "acquire",
  `${PRELUDE}
local function got(owner, epoch, expiresAt)
  if #KEYS < 3 then return {1, owner, epoch, expiresAt} end
  local r = {1, owner, epoch, expiresAt, redis.call('HGET', KEYS[2], ARGV[4]), redis.call('HGET', KEYS[3], ARGV[4])}
  if #KEYS >= 4 then
    table.insert(r, redis.call('LLEN', KEYS[4]))
    table.insert(r, redis.call('LRANGE', KEYS[4], -(tonumber(ARGV[5]) + 1), -1))
  end
  return r
end
local now = clock(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'expiresAt', 'free')
if h[1] and h[4] ~= '1' and now < tonumber(h[3]) then
  if h[1] ~= ARGV[1] then return {0, h[1], h[2], h[3]} end
  return got(h[1], h[2], h[3])
end
local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local expiresAt = ms(now + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'expiresAt', expiresAt, 'free', '0')
return got(ARGV[1], tostring(e), expiresAt)
`,
);

/**
 * KEYS: lease hash. ARGV: owner, epoch, now (ms, or '' = server TIME), ttl (ms).
 * Returns the new expiresAt (a string), or 0 when the lease was lost.
 */
export const RENEW = script(
  "renew",
  `${PRELUDE}
local now = clock(ARGV[3])
if not fenceOk(KEYS[1], ARGV[1], ARGV[2], ms(now)) then return 0 end
local expiresAt = ms(now + tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'expiresAt', expiresAt)
return expiresAt
`,
);

/**
 * KEYS: lease hash. ARGV: owner, epoch. Frees the lease when still held by that owner and epoch
 * (expired or not: no clock needed, an expired lease is up for grabs either way).
 */
export const RELEASE = script(
  "release",
  `
local h = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if h[1] == ARGV[1] and h[2] == ARGV[2] then redis.call('HSET', KEYS[1], 'free', '1') end
return 1
`,
);
