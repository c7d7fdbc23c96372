/**
 * The Redis engine's Lua scripts. A script runs atomically on the Redis that owns its keys, so assigning
 * an offset, appending to the stream, trimming and PUBLISHing happen as one step in one order: the order of
 * a topic's publications is Redis's order, whichever node published them. In cluster mode every key and
 * channel a script touches carries the topic's hash tag (see `redis-keyspace.ts`), so it runs on one shard.
 *
 * State per topic (meta hash): `epoch`, `offset` (last assigned), `floor` (every publication at or above it
 * is retained, or not yet published), `barrier` (`expired` | `no-history`: why recovery from below `floor`
 * fails), `size` (the latest retention size), `kept` (`1` once the stream got an entry in this epoch),
 * `until` (when the topic's state may be forgotten, on the script's clock) and `head` (the expiry of the
 * stream's front entry, 0 if none: trimming reads the stream only once something may have expired). The same rules as the memory
 * engine's `TopicStream`, so both engines pass one contract.
 *
 * A new epoch starts whenever stored history may be gone: the meta hash is missing (never published,
 * expired, flushed, evicted), or it says the stream was written but the stream key is missing (expired or
 * evicted on its own), or it was written under another lineage (`gen`, as the engine read it, redis-lineage.ts:
 * a failover promoted a replica, or a Redis without durable persistence restarted, and may lack the last writes
 * and hand their offsets out again). The leftover stream of a lost epoch is deleted, so epochs never mix.
 */

export const scriptPrelude = `
local function n2s(n) return string.format('%.0f', n) end

local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function entry_offset(id) return tonumber(string.match(id, '^(%d+)')) end

-- Meta fields as the script names them, and as the hash stores them.
local fields = { 'epoch', 'offset', 'floor', 'barrier', 'size', 'kept', 'ttl_until', 'head', 'gen' }
local stored = { 'epoch', 'offset', 'floor', 'barrier', 'size', 'kept', 'until', 'head', 'gen' }

-- gen: the caller's replication history ('' when it does not check one). State written before gen existed
-- (no field) is adopted.
local function load(meta, stream, new_epoch, gen)
  local f = redis.call('HMGET', meta, unpack(stored))
  local same_history = gen == '' or not f[9] or f[9] == gen
  if f[1] and same_history and (f[6] ~= '1' or redis.call('EXISTS', stream) == 1) then
    local st = { epoch = f[1], offset = tonumber(f[2]), floor = tonumber(f[3]), barrier = f[4], size = tonumber(f[5]),
                 kept = f[6], ttl_until = tonumber(f[7]), head = tonumber(f[8] or '0'), gen = f[9] or false, fresh = false }
    st.was = { epoch = st.epoch, offset = st.offset, floor = st.floor, barrier = st.barrier, size = st.size,
               kept = st.kept, ttl_until = st.ttl_until, head = st.head, gen = st.gen }
    if gen ~= '' then st.gen = gen end
    return st
  end
  redis.call('DEL', stream)
  return { epoch = new_epoch, offset = 0, floor = 1, barrier = 'expired', size = 0, kept = '0', ttl_until = 0, head = 0,
           gen = gen ~= '' and gen or false, fresh = true, was = {} }
end

-- Drops entries beyond the retention size, then expired ones from the front, stopping at the first one still
-- within its TTL (a stream has one window, not holes), and moves the floor past whatever is gone. 'head' is
-- the front entry's expiry (0: unknown or no entry), so a publish reads the front only when it changed or
-- expired, never the whole stream.
local function trim(st, stream, now)
  if st.kept ~= '1' then return end
  local changed = false
  if redis.call('XLEN', stream) > st.size then
    redis.call('XTRIM', stream, 'MAXLEN', n2s(st.size))
    changed = true
  end
  if not changed and st.head > now then return end
  local front = nil
  while true do
    front = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
    if not front or tonumber(front[2][2]) > now then break end
    redis.call('XTRIM', stream, 'MINID', n2s(entry_offset(front[1]) + 1) .. '-0')
  end
  st.head = front and tonumber(front[2][2]) or 0
  local candidate = front and entry_offset(front[1]) or (st.offset + 1)
  if candidate > st.floor then st.floor = candidate; st.barrier = 'expired' end
end

-- Writes the fields that changed (usually just the offset).
local function save(st, meta)
  local args = {}
  for i, name in ipairs(fields) do
    local value = st[name]
    if value ~= st.was[name] and value ~= false then
      args[#args + 1] = stored[i]
      args[#args + 1] = type(value) == 'number' and n2s(value) or value
    end
  end
  if #args > 0 then redis.call('HSET', meta, unpack(args)) end
end

-- Moves the topic's expiry to cover the idle TTL and the newest retained entry. The idle part moves only
-- when it gains more than 1% of the idle TTL (at most a second), so a busy topic is not re-expired on every
-- publish; retention moves it exactly, so a kept entry never goes before its time.
local function extend(st, now, idle, retained_until)
  if now + idle > st.ttl_until + math.min(1000, idle / 100) then st.ttl_until = now + idle end
  if retained_until > st.ttl_until then st.ttl_until = retained_until end
end

local function expire(st, meta, stream, now)
  local created = st.kept == '1' and st.was.kept ~= '1'
  if st.ttl_until == st.was.ttl_until and not created then return end
  local ttl = n2s(math.max(1, st.ttl_until - now))
  redis.call('PEXPIRE', meta, ttl)
  if st.kept == '1' then redis.call('PEXPIRE', stream, ttl) end
end
`;

/**
 * Publish. KEYS: meta, stream, [idempotency key,] channels... ARGV: 1 clock (`''`: Redis's TIME),
 * 2 epoch to use if a new one starts, 3 idle TTL ms, 4 retention size (`''`: not kept), 5 retention TTL ms,
 * 6 idempotency window ms (`''`: no key; then KEYS has no idempotency key), 7 body, 8 `PUBLISH` or
 * `SPUBLISH`, 9 replication history (`''`: not checked).
 *
 * Returns `{0, offset, epoch, time}` for a new publication, `{1, offset, epoch}` for a duplicate key.
 */
export const publishScript = `${scriptPrelude}
local now = clock(ARGV[1])
local first_channel = 3
if ARGV[6] ~= '' then
  first_channel = 4
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local offset, epoch, expires = string.match(seen, '^(%d+) (%S+) (%d+)$')
    if offset and tonumber(expires) > now then return { 1, offset, epoch } end
  end
end
local st = load(KEYS[1], KEYS[2], ARGV[2], ARGV[9])
st.offset = st.offset + 1
local retained_until = 0
if ARGV[4] ~= '' and tonumber(ARGV[4]) > 0 then
  retained_until = now + tonumber(ARGV[5])
  redis.call('XADD', KEYS[2], n2s(st.offset) .. '-0', 'x', n2s(retained_until), 'b', ARGV[7], 't', n2s(now))
  if st.head == 0 then st.head = retained_until end
  st.kept = '1'
  st.size = tonumber(ARGV[4])
else
  st.floor = st.offset + 1
  st.barrier = 'no-history'
end
trim(st, KEYS[2], now)
extend(st, now, tonumber(ARGV[3]), retained_until)
save(st, KEYS[1])
expire(st, KEYS[1], KEYS[2], now)
local message = n2s(st.offset) .. ' ' .. st.epoch .. ' ' .. n2s(now) .. ' ' .. ARGV[7]
for i = first_channel, #KEYS do redis.call(ARGV[8], KEYS[i], message) end
if ARGV[6] ~= '' then
  local window = tonumber(ARGV[6])
  if window > 0 then
    redis.call('SET', KEYS[3], n2s(st.offset) .. ' ' .. st.epoch .. ' ' .. n2s(now + window), 'PX', n2s(window))
  end
end
return { 0, n2s(st.offset), st.epoch, n2s(now) }
`;

/**
 * The read part of the history script, for the scripts that read history (`historyScript`, and
 * `redis-presence-scripts.ts`'s merged read): `{epoch, offset, status, entries}` for a loaded and trimmed
 * state `st`. `mode` is `latest` or `since`; `since` is -1 when not a position.
 */
export const historyRead = `
local function history_read(st, stream, mode, since, since_epoch, limit)
  local position = n2s(st.offset)
  if mode == 'latest' then
    if limit == 0 or st.kept ~= '1' then return { st.epoch, position, 'ok', {} } end
    return { st.epoch, position, 'ok', redis.call('XREVRANGE', stream, '+', '-', 'COUNT', limit) }
  end
  if since_epoch ~= st.epoch or since < 0 or since > st.offset then return { st.epoch, position, 'epoch-mismatch', {} } end
  if since + 1 < st.floor then return { st.epoch, position, st.barrier, {} } end
  if limit == 0 or since == st.offset then return { st.epoch, position, 'ok', {} } end
  return { st.epoch, position, 'ok', redis.call('XRANGE', stream, n2s(since + 1) .. '-0', '+', 'COUNT', limit) }
end
`;

/**
 * History. KEYS: meta, stream. ARGV: 1 clock, 2 epoch to use if a new one starts, 3 idle TTL ms,
 * 4 `latest` or `since`, 5 since offset (`-1`: not a position), 6 since epoch, 7 limit, 8 replication
 * history (`''`: not checked).
 *
 * Returns `{epoch, offset, status, entries}`: status `ok`, `epoch-mismatch`, `expired` or `no-history` (the
 * stored spelling; `parseHistoryReply` gives the engine's);
 * entries as XRANGE returns them (ascending for `since`, descending for `latest`).
 */
export const historyScript = `${scriptPrelude}${historyRead}
local now = clock(ARGV[1])
local st = load(KEYS[1], KEYS[2], ARGV[2], ARGV[8])
if st.fresh then st.ttl_until = now + tonumber(ARGV[3]) end
trim(st, KEYS[2], now)
save(st, KEYS[1])
expire(st, KEYS[1], KEYS[2], now)
return history_read(st, KEYS[2], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]))
`;
