// The cost of presence on Redis (docs/design/presence.md §3.2, §6): a topic with 10,000 members held by two
// engine instances, beside Centrifugo's layout (centrifugal/centrifuge `presence_add.lua`: one hash of client
// id → protobuf ClientInfo, and one sorted set of client id → expiry) filled with the same users and info on the
// same private redis-server. Memory per member by `MEMORY USAGE`, listing latency, and stats calls per second.
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { type Engine, type EnginePresence, type PresenceOptions, createEngine } from '@switchboard/broker';
import { startRedisServer } from '@switchboard/broker/testing/redis-server';
import { compare, comparisonLine, median, percentile, type BenchResult } from './harness.js';

const MEMBERS = 10_000;
const SMALL_ROOM = 100;
const STATS_IN_FLIGHT = 64;
const LIST_ROUNDS = 40;
const options: PresenceOptions = { eventRate: 0, history: { size: 1000, ttlMs: 5 * 60_000 } };

/** Centrifugo's presence read (`presence_get.lua`): drop expired clients, then the whole hash. */
const centrifugoPresenceLua = `
local expired = redis.call('zrangebyscore', KEYS[2], '0', ARGV[1])
for _, client in ipairs(expired) do redis.call('hdel', KEYS[1], client); redis.call('zrem', KEYS[2], client) end
return redis.call('hgetall', KEYS[1])
`;

interface Member {
  readonly user: string;
  readonly info: string;
  /** Ours: `c_` + 16 characters, as the broker's connection ids. */
  readonly connectionId: string;
  /** Centrifugo's: a UUID. */
  readonly clientId: string;
}

export async function benchPresence(): Promise<BenchResult> {
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const engines: Engine[] = [];
  try {
    for (let index = 0; index < 2; index++) {
      const engine = createEngine({ redisUrl: server.url, redisClusterNodes: [], redisSentinels: [], redisSentinelMaster: 'mymaster', redisWaitReplicas: 0, idempotencyWindowMs: 120_000, presenceNodeTtlMs: 15_000 });
      await engine.start({ onPublication: () => undefined });
      engines.push(engine);
    }
    const presences = engines.map((engine) => engine.presence as EnginePresence);
    const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
    const rooms = [SMALL_ROOM, MEMBERS].map((count) => ({ count, topic: `bench.presence.${count}`, members: makeMembers(count) }));
    for (const room of rooms) {
      await fill(presences, room.topic, room.members);
      await fillCentrifugo(admin, room.topic, room.members);
    }
    const lines = [`Redis ${version}; ${MEMBERS} members over 2 engine instances; info {"name":"User n"}, one user per connection`];
    for (const room of rooms) {
      const ours = await oursBytes(admin, room.topic);
      const theirs = await centrifugoBytes(admin, room.topic);
      lines.push(
        `memory per member, ${String(room.count).padStart(5)} members   ours ${(ours / room.count).toFixed(0).padStart(4)} B   centrifugo ${(theirs / room.count).toFixed(0).padStart(4)} B   ratio ${(ours / theirs).toFixed(2)}x`,
      );
    }
    const large = rooms[1]!;
    lines.push(`entry stream (per topic, capped at ${options.history.size} entries): ${(await usage(admin, `sb:e:${large.topic}`)) / 1024 | 0} KiB`);
    lines.push(...(await listing(presences[0]!, admin, large.topic)));
    lines.push(await stats(presences[0]!, admin, large.topic));
    return { name: 'presence on Redis: memory, listing and stats at 10,000 members, beside Centrifugo’s hash + zset', lines };
  } finally {
    for (const engine of engines) await engine.close();
    admin.disconnect();
    await server.destroy();
  }
}

function makeMembers(count: number): Member[] {
  return Array.from({ length: count }, (_, index) => ({
    user: `user-${index}`,
    info: JSON.stringify({ name: `User ${index}` }),
    connectionId: `c_${randomBytes(12).toString('base64url').slice(0, 16)}`,
    clientId: randomUUID(),
  }));
}

async function fill(presences: EnginePresence[], topic: string, members: readonly Member[]): Promise<void> {
  for (let start = 0; start < members.length; start += 500) {
    await Promise.all(
      members.slice(start, start + 500).map((member, index) =>
        presences[index % presences.length]!.join(topic, { connectionId: member.connectionId, user: member.user, info: member.info }, options),
      ),
    );
  }
}

/** A protobuf `ClientInfo` (user = 1, client = 2, conn_info = 3), as centrifuge stores it. */
function clientInfo(member: Member): Buffer {
  const field = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([tag, value.length]), value]);
  return Buffer.concat([field(0x0a, Buffer.from(member.user)), field(0x12, Buffer.from(member.clientId)), field(0x1a, Buffer.from(member.info))]);
}

async function fillCentrifugo(redis: Redis, topic: string, members: readonly Member[]): Promise<void> {
  const expireAt = Math.floor(Date.now() / 1000) + 60;
  const pipeline = redis.pipeline();
  for (const member of members) {
    pipeline.hset(`centrifugo.presence.data.${topic}`, member.clientId, clientInfo(member));
    pipeline.zadd(`centrifugo.presence.expire.${topic}`, expireAt, member.clientId);
  }
  await pipeline.exec();
}

async function usage(redis: Redis, key: string): Promise<number> {
  return Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
}

/** `pm` (every node's), `pu`, `pc`, `pn`: what members cost; `e:` is per topic and capped, so apart. */
async function oursBytes(redis: Redis, topic: string): Promise<number> {
  const memberKeys = await redis.keys(`sb:pm:${topic}>*`);
  const keys = [...memberKeys, `sb:pu:${topic}`, `sb:pc:${topic}`, `sb:pn:${topic}`];
  return (await Promise.all(keys.map((key) => usage(redis, key)))).reduce((sum, bytes) => sum + bytes, 0);
}

async function centrifugoBytes(redis: Redis, topic: string): Promise<number> {
  return (await usage(redis, `centrifugo.presence.data.${topic}`)) + (await usage(redis, `centrifugo.presence.expire.${topic}`));
}

function centrifugoPresence(redis: Redis, topic: string): Promise<Buffer[]> {
  const now = String(Math.floor(Date.now() / 1000));
  return redis.callBuffer('EVAL', centrifugoPresenceLua, 2, `centrifugo.presence.data.${topic}`, `centrifugo.presence.expire.${topic}`, now) as Promise<Buffer[]>;
}

/** Users of a hash read, as Centrifugo's stats count them: every ClientInfo decoded for its user. */
function distinctUsers(flat: readonly Buffer[]): number {
  const users = new Set<string>();
  for (let index = 1; index < flat.length; index += 2) {
    const info = flat[index]!;
    users.add(info.toString('utf8', 2, 2 + info[1]!));
  }
  return users.size;
}

async function listing(presence: EnginePresence, redis: Redis, topic: string): Promise<string[]> {
  const ours: number[] = [];
  const theirs: number[] = [];
  const timed = async (run: () => Promise<unknown>, into: number[]): Promise<void> => {
    const start = performance.now();
    await run();
    into.push(performance.now() - start);
  };
  for (let round = 0; round < LIST_ROUNDS; round++) {
    await timed(() => presence.list(topic, { maxMembers: MEMBERS }), ours);
    await timed(async () => distinctUsers(await centrifugoPresence(redis, topic)), theirs);
  }
  ours.sort((a, b) => a - b);
  theirs.sort((a, b) => a - b);
  const row = (label: string, a: number, b: number): string => `${label.padEnd(34)} ours ${a.toFixed(2).padStart(7)} ms   centrifugo ${b.toFixed(2).padStart(7)} ms   ratio ${(a / b).toFixed(2)}x`;
  return [
    row(`listing ${MEMBERS}, p50 (${LIST_ROUNDS} reads)`, median(ours), median(theirs)),
    row(`listing ${MEMBERS}, p99`, percentile(ours, 99), percentile(theirs, 99)),
  ];
}

async function stats(presence: EnginePresence, redis: Redis, topic: string): Promise<string> {
  const inFlight = async (calls: number, call: () => Promise<unknown>): Promise<number> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: STATS_IN_FLIGHT }, async () => {
        while (next++ < calls) await call();
      }),
    );
    return calls;
  };
  const result = await compare(
    3,
    () => inFlight(STATS_IN_FLIGHT * 100, () => presence.stats(topic)),
    () => inFlight(STATS_IN_FLIGHT * 2, async () => distinctUsers(await centrifugoPresence(redis, topic))),
  );
  return comparisonLine(`presence_stats, ${STATS_IN_FLIGHT} in flight`, result, 'call', 'centrifugo');
}
