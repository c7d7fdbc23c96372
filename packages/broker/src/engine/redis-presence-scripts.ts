import type { Cluster, Redis } from 'ioredis';
import { historyRead, scriptPrelude } from './redis-scripts.js';

/**
 * The Redis engine's presence scripts (docs/design/presence.md §3.3). Each runs atomically on the shard that
 * owns the topic's slot, and every topic script starts with the publish prelude's `load`, so epochs and
 * lineage follow the publish rules exactly; `adopt_presence` then resets the topic's presence stream when the
 * epoch changed, so positions of two epochs never mix and the publish script stays as it is.
 *
 * Presence state in the meta hash: `pe` (the epoch `e:` belongs to), `pseq` (last entry's seq), `pw`/`pn`/`pq`
 * (the rate window: its start on the script clock, entries written in it, changes coalesced in it) and
 * `prate`/`psize`/`pttl` (the last writer's settings, which a sweep applies). No floor is stored: entries are
 * contiguous from the first retained one to `pseq`, so a read checks that the ids it got are exactly
 * `since+1, since+2, ...` (trimmed, expired, evicted or not kept all fail it the same way, as `expired`).
 *
 * A member is stored as `-<info>` (anonymous) or `<byte length of user>:<user><info>`: the user may hold any
 * byte, newlines included, and the info is JSON text or empty. Entry bodies are JSON (`cjson`):
 * `{"t":topic,"k":"j","c":conn,"u":user,"i":info,"f":first}`, `"k":"l"` with `"l":last,"r":reason`, and
 * `{"t":topic,"k":"s","n":[connections,users,anonymous],"q":coalesced}`. An entry is appended to `e:` (id
 * `<seq>-0`, fields `o` anchor offset, `x` expiry, `t` time, `b` body) and published on the topic channel as
 * `<offset>-<seq> <epoch> <time> <body>`; an older node's offset parser rejects `42-3`, so it drops entries.
 *
 * Write scripts (join, leave, flush, sweep). KEYS: 1 meta, 2 stream, 3 presence stream, 4 counters, 5 users,
 * 6 nodes of the topic, 7 the node's members of the topic, 8 the node's topics (its bucket), 9 the node's
 * liveness (its bucket), 10 topic channel. ARGV: 1 clock (`''`: Redis's), 2 epoch if a new one starts, 3 idle
 * TTL ms, 4 lineage (`''`: not checked), 5 node, 6 topic, 7 `PUBLISH` or `SPUBLISH`, 8-10 event rate,
 * history size and history TTL ms (`''`: the stored ones), then the script's own. They return
 * `{outcome, epoch, offset, seq, flushAt}` (`flushAt` empty unless coalesced), or a one-word answer.
 *
 * Read scripts (list, stats, merged history). KEYS: 1-6 as above. ARGV: 1-4 as above, then their own.
 */

type ScriptCall = (...args: (string | Buffer)[]) => Promise<unknown>;

/** The presence scripts as ioredis defines them on the command connection (`definePresenceScripts`). */
export interface PresenceScripts {
  switchboardPresenceJoin: ScriptCall;
  switchboardPresenceLeave: ScriptCall;
  switchboardPresenceFlush: ScriptCall;
  switchboardPresenceSweep: ScriptCall;
  switchboardPresenceStats: ScriptCall;
  switchboardPresenceList: ScriptCall;
  switchboardPresenceHistoryBuffer: ScriptCall;
  switchboardPresenceHeartbeat: ScriptCall;
  switchboardPresenceSwept: ScriptCall;
}

export type PresenceConnection = (Redis | Cluster) & PresenceScripts;

/** Defines the presence scripts on the engine's command connection (EVALSHA, loaded on first use). */
export function definePresenceScripts(connection: Redis | Cluster): PresenceConnection {
  const define = (name: string, lua: string, numberOfKeys: number): void => connection.defineCommand(name, { lua, numberOfKeys });
  define('switchboardPresenceJoin', presenceJoinScript, writeKeyCount);
  define('switchboardPresenceLeave', presenceLeaveScript, writeKeyCount);
  define('switchboardPresenceFlush', presenceFlushScript, writeKeyCount);
  define('switchboardPresenceSweep', presenceSweepScript, writeKeyCount);
  define('switchboardPresenceStats', presenceStatsScript, readKeyCount);
  define('switchboardPresenceList', presenceListScript, readKeyCount);
  define('switchboardPresenceHistory', presenceHistoryScript, readKeyCount);
  define('switchboardPresenceHeartbeat', presenceHeartbeatScript, 1);
  define('switchboardPresenceSwept', presenceSweptScript, 2);
  return connection as PresenceConnection;
}

const writeKeyCount = 10;
const readKeyCount = 6;

/** Length of the rate cap's window, as `topic-presence.ts`'s `presenceWindowMs`. */
const windowMs = 1000;

const presencePrelude = `
local K = { meta = KEYS[1], s = KEYS[2], e = KEYS[3], pc = KEYS[4], pu = KEYS[5], pn = KEYS[6], pm = KEYS[7],
            pt = KEYS[8], live = KEYS[9], channel = KEYS[10] }
local pfields = { 'pe', 'pseq', 'pw', 'pn', 'pq', 'prate', 'psize', 'pttl' }

local function adopt_presence(st)
  local f = redis.call('HMGET', K.meta, unpack(pfields))
  local ps = { pe = f[1] or false, retained_until = 0, was = {} }
  for i = 2, #pfields do ps[pfields[i]] = tonumber(f[i] or '0') end
  for _, name in ipairs(pfields) do ps.was[name] = ps[name] end
  if ps.pe ~= st.epoch then
    redis.call('DEL', K.e)
    ps.pe = st.epoch; ps.pseq = 0; ps.pw = 0; ps.pn = 0; ps.pq = 0
  end
  return ps
end

local function settings(ps)
  if ARGV[8] == '' then return end
  ps.prate = tonumber(ARGV[8]); ps.psize = tonumber(ARGV[9]); ps.pttl = tonumber(ARGV[10])
end

local function save_presence(ps)
  local args = {}
  for _, name in ipairs(pfields) do
    if ps[name] ~= ps.was[name] then
      args[#args + 1] = name
      args[#args + 1] = type(ps[name]) == 'number' and n2s(ps[name]) or ps[name]
    end
  end
  if #args > 0 then redis.call('HSET', K.meta, unpack(args)) end
end

local function counts()
  local f = redis.call('HMGET', K.pc, 'c', 'a')
  return tonumber(f[1] or '0'), redis.call('HLEN', K.pu), tonumber(f[2] or '0')
end

local function append(st, ps, now, body)
  ps.pseq = ps.pseq + 1
  if ps.psize > 0 then
    local expiry = now + ps.pttl
    redis.call('XADD', K.e, n2s(ps.pseq) .. '-0', 'o', n2s(st.offset), 'x', n2s(expiry), 't', n2s(now), 'b', body)
    redis.call('XTRIM', K.e, 'MAXLEN', n2s(ps.psize))
    ps.retained_until = expiry
  else
    redis.call('DEL', K.e)
  end
  redis.call(ARGV[7], K.channel, n2s(st.offset) .. '-' .. n2s(ps.pseq) .. ' ' .. st.epoch .. ' ' .. n2s(now) .. ' ' .. body)
end

local function write_stats(st, ps, now)
  local c, u, a = counts()
  local coalesced = ps.pq
  ps.pq = 0
  append(st, ps, now, cjson.encode({ t = ARGV[6], k = 's', n = { c, u, a }, q = coalesced }))
end

-- A change in a new window first writes the old window's pending stats entry (counters before the change).
local function roll(st, ps, now)
  if now < ps.pw + ${windowMs} then return end
  if ps.pq > 0 then write_stats(st, ps, now) end
  ps.pw = now; ps.pn = 0
end

local function emit(st, ps, now, body)
  if ps.prate > 0 and ps.pn >= ps.prate then
    ps.pq = ps.pq + 1
    return 'coalesced'
  end
  ps.pn = ps.pn + 1
  append(st, ps, now, body)
  return 'written'
end

local function parse_member(value)
  if string.sub(value, 1, 1) == '-' then return false, string.sub(value, 2) end
  local colon = string.find(value, ':', 1, true)
  local length = tonumber(string.sub(value, 1, colon - 1))
  return string.sub(value, colon + 1, colon + length), string.sub(value, colon + length + 1)
end

local function member_body(kind, conn, user, info, flag_name, flag, reason)
  local body = { t = ARGV[6], k = kind, c = conn }
  if user then body.u = user end
  if info ~= '' then body.i = info end
  body[flag_name] = flag
  if reason then body.r = reason end
  return cjson.encode(body)
end

-- The member is already gone from the node's hash: counters, user count, entry.
local function remove_member(st, ps, now, conn, value, reason)
  local user, info = parse_member(value)
  local left = redis.call('HINCRBY', K.pc, 'c', -1)
  local last = true
  if user then
    if redis.call('HINCRBY', K.pu, user, -1) > 0 then last = false else redis.call('HDEL', K.pu, user) end
  else
    redis.call('HINCRBY', K.pc, 'a', -1)
  end
  local outcome = emit(st, ps, now, member_body('l', conn, user, info, 'l', last, reason))
  if left <= 0 then redis.call('DEL', K.pc, K.pu, K.pn) end
  return outcome
end

local function unindex_if_empty()
  if redis.call('EXISTS', K.pm) == 0 then
    redis.call('SREM', K.pn, ARGV[5])
    redis.call('SREM', K.pt, ARGV[6])
  end
end

-- Presence writes keep the topic's state alive like publishes, and its retained entries with it.
local function finish_write(st, ps, now)
  extend(st, now, tonumber(ARGV[3]), ps.retained_until)
  save(st, K.meta)
  save_presence(ps)
  expire(st, K.meta, K.s, now)
  if ps.retained_until > 0 then redis.call('PEXPIRE', K.e, n2s(math.max(1, st.ttl_until - now))) end
end

local function finish_read(st, ps, now)
  if st.fresh then st.ttl_until = now + tonumber(ARGV[3]) end
  save(st, K.meta)
  save_presence(ps)
  expire(st, K.meta, K.s, now)
end

local function reply(outcome, st, ps)
  local flush_at = outcome == 'coalesced' and n2s(ps.pw + ${windowMs}) or ''
  return { outcome, st.epoch, n2s(st.offset), n2s(ps.pseq), flush_at }
end
`;

const begin = `
local now = clock(ARGV[1])
local st = load(K.meta, K.s, ARGV[2], ARGV[4])
local ps = adopt_presence(st)
`;

const topicScript = (body: string): string => `${scriptPrelude}${presencePrelude}${body}`;

/** Join. ARGV 11 connection id, 12 member (as stored). Answers `dead` when the node's liveness is gone. */
export const presenceJoinScript = topicScript(`
if redis.call('EXISTS', K.live) == 0 then return { 'dead' } end
${begin}
settings(ps)
local outcome = 'unchanged'
if redis.call('HSETNX', K.pm, ARGV[11], ARGV[12]) == 1 then
  roll(st, ps, now)
  redis.call('SADD', K.pn, ARGV[5])
  redis.call('SADD', K.pt, ARGV[6])
  redis.call('HINCRBY', K.pc, 'c', 1)
  local user, info = parse_member(ARGV[12])
  local first = true
  if user then first = redis.call('HINCRBY', K.pu, user, 1) == 1 else redis.call('HINCRBY', K.pc, 'a', 1) end
  outcome = emit(st, ps, now, member_body('j', ARGV[11], user, info, 'f', first))
end
finish_write(st, ps, now)
return reply(outcome, st, ps)
`);

/** Leave. ARGV 11 connection id, 12 reason. No liveness check: a late leave of a swept node is harmless. */
export const presenceLeaveScript = topicScript(`
${begin}
settings(ps)
local outcome = 'unchanged'
local value = redis.call('HGET', K.pm, ARGV[11])
if value then
  roll(st, ps, now)
  redis.call('HDEL', K.pm, ARGV[11])
  outcome = remove_member(st, ps, now, ARGV[11], value, ARGV[12])
  unindex_if_empty()
end
finish_write(st, ps, now)
return reply(outcome, st, ps)
`);

/** Flush: the pending stats entry, if the window it belongs to has ended. */
export const presenceFlushScript = topicScript(`
${begin}
settings(ps)
if ps.pq > 0 and now >= ps.pw + ${windowMs} then write_stats(st, ps, now) end
finish_write(st, ps, now)
return reply('unchanged', st, ps)
`);

/**
 * Sweep: up to a batch of the node's members of the topic leave, `expired` (`disconnected` for the node's own
 * clean unregister), each through the rate cap with the stored settings. ARGV 11 `1` for the node itself (no
 * liveness check), 12 batch. Answers `alive` (the node's liveness is back: stop) or `{'done', members left,
 * then connection id and stored member of each one removed}`: the caller alone removed those (webhooks).
 */
export const presenceSweepScript = topicScript(`
if ARGV[11] ~= '1' and redis.call('EXISTS', K.live) == 1 then return { 'alive' } end
if redis.call('EXISTS', K.pm) == 0 then
  unindex_if_empty()
  return { 'done', 0 }
end
${begin}
local reason = ARGV[11] == '1' and 'disconnected' or 'expired'
local batch = tonumber(ARGV[12])
local removed = 0
local answer = { 'done', 0 }
local cursor = '0'
repeat
  local page = redis.call('HSCAN', K.pm, cursor, 'COUNT', batch)
  cursor = page[1]
  local fields = page[2]
  for i = 1, #fields, 2 do
    if redis.call('HDEL', K.pm, fields[i]) == 1 then
      roll(st, ps, now)
      remove_member(st, ps, now, fields[i], fields[i + 1], reason)
      removed = removed + 1
      answer[#answer + 1] = fields[i]
      answer[#answer + 1] = fields[i + 1]
    end
  end
until cursor == '0' or removed >= batch
answer[2] = redis.call('HLEN', K.pm)
unindex_if_empty()
finish_write(st, ps, now)
return answer
`);

/** Stats: `{epoch, offset, seq, connections, users, anonymous}`, O(1). */
export const presenceStatsScript = topicScript(`
${begin}
finish_read(st, ps, now)
local c, u, a = counts()
return { st.epoch, n2s(st.offset), n2s(ps.pseq), c, u, a }
`);

/**
 * List. ARGV 5 most members, 6 the prefix of the topic's member keys (a node id completes one). Returns
 * `{stats as above, truncated (0 | 1), {{connection, member, ...} per node}}`; over the limit the members are never read.
 */
export const presenceListScript = topicScript(`
${begin}
finish_read(st, ps, now)
local c, u, a = counts()
local head = { st.epoch, n2s(st.offset), n2s(ps.pseq), c, u, a }
if c > tonumber(ARGV[5]) then return { head, 1, {} } end
local members = {}
for _, node in ipairs(redis.call('SMEMBERS', K.pn)) do members[#members + 1] = redis.call('HGETALL', ARGV[6] .. node) end
return { head, 0, members }
`);

/**
 * History and presence in one read (design §2.2). ARGV 5 since offset (-1: not a position), 6 since epoch,
 * 7 limit, 8 presence since (-1: not a position). Returns the history script's four parts, then the presence
 * seq, its status (`ok`, `epoch-mismatch`, `expired`) and its entries as XRANGE gives them.
 */
export const presenceHistoryScript = topicScript(`${historyRead}
local function presence_read(st, ps, now, since, limit)
  if ARGV[6] ~= st.epoch or since < 0 or since > ps.pseq then return 'epoch-mismatch', {} end
  if limit == 0 or since == ps.pseq then return 'ok', {} end
  local entries = redis.call('XRANGE', K.e, n2s(since + 1) .. '-0', '+', 'COUNT', limit)
  local expected = since + 1
  for _, entry in ipairs(entries) do
    if entry_offset(entry[1]) ~= expected or tonumber(entry[2][4]) <= now then return 'expired', {} end
    expected = expected + 1
  end
  if #entries < limit and expected ~= ps.pseq + 1 then return 'expired', {} end
  return 'ok', entries
end
${begin}
trim(st, K.s, now)
finish_read(st, ps, now)
local limit = tonumber(ARGV[7])
local history = history_read(st, K.s, 'since', tonumber(ARGV[5]), ARGV[6], limit)
local status, entries = presence_read(st, ps, now, tonumber(ARGV[8]), limit)
return { history[1], history[2], history[3], history[4], n2s(ps.pseq), status, entries }
`);

/**
 * Heartbeat, on the control tag. KEYS: 1 nodes. ARGV: 1 node, 2 node TTL ms. The node's deadline is Redis's
 * clock + TTL + 1 s (slack for the clocks of other shards, where its liveness keys lapse); returns up to 16
 * nodes whose deadline has passed: candidates for a sweep.
 */
export const presenceHeartbeatScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2]) + 1000), ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now), 'LIMIT', 0, 16)
`;

/**
 * After a sweep, on the control tag. KEYS: 1 nodes, 2 the sweep lease. ARGV: 1 swept node, 2 sweeper, 3 `1` to
 * forget the node. Forgets it only if its deadline is still past (it did not come back meanwhile), and releases
 * the lease only if the sweeper still holds it.
 */
export const presenceSweptScript = `
if ARGV[3] == '1' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if deadline and tonumber(deadline) <= now then redis.call('ZREM', KEYS[1], ARGV[1]) end
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
`;
