import type { Cluster, Redis } from 'ioredis';
import { type ConnectionSettings, createSubscriberConnection } from './redis-connections.js';
import { unavailable, withTimeout } from './redis-errors.js';
import { clusterSlots, keySlot, type RedisKeyspace, tagForSlots } from './redis-keyspace.js';
import { parseClusterSlots } from './redis-replies.js';

/**
 * Which subscriber connections the engine needs and which one carries each channel.
 *
 * - A single Redis: one subscriber connection, classic pub/sub (SUBSCRIBE / PUBLISH). A Sentinel-managed
 *   Redis is the same to the engine: ioredis finds the master through the Sentinels given in its options,
 *   and a failover is a lost connection like any other.
 * - A Redis Cluster: sharded pub/sub (SSUBSCRIBE / SPUBLISH), whose messages stay on the shard that owns
 *   the channel's slot, so one subscriber connection per master, each carrying the channels of its slots
 *   (read from `CLUSTER SLOTS` at every rebuild) and a canary channel of its own, so readiness covers every
 *   shard. A slot that moves is an interruption (Redis unsubscribes us with `sunsubscribe`, or answers
 *   MOVED): the engine rebuilds the topology.
 */

export type RedisMode = 'single' | 'cluster';

/** One subscriber connection: the only one on a single Redis, one per master in a cluster. */
export interface Shard {
  readonly id: string;
  readonly connection: Redis;
  /** Channels subscribed (or being subscribed) on this connection. */
  readonly channels: Set<string>;
  readonly canaryChannel: string;
}

/** The subscriber connections of one link generation; replaced whole at every rebuild, never repaired. */
export interface Topology {
  readonly mode: RedisMode;
  /** The link generation that built it (see `RedisLink`). */
  readonly generation: number;
  readonly shards: readonly Shard[];
  /** The shard whose connection carries `channel`; undefined if no master serves its slot. */
  shardFor(channel: string): Shard | undefined;
}

/** What the engine hears from its subscriber connections; only from the topology in use. */
export interface ShardEvents {
  /** A pub/sub message (a publication or a canary). */
  message(message: Buffer): void;
  /** The connection of shard `id` closed: pub/sub is broken. */
  closed(id: string): void;
  /** Any connection error, even from a replaced topology (for the message of the next interruption). */
  error(error: Error): void;
}

/** What building a topology needs from the engine. */
export interface TopologyContext {
  readonly connections: ConnectionSettings;
  readonly keyspace: RedisKeyspace;
  readonly nodeId: string;
  /** The topology in use: events from any other are ignored. */
  readonly current: () => Topology | undefined;
  readonly events: ShardEvents;
}

/** A new topology with unconnected subscribers, for link generation `generation`. */
export async function buildTopology(context: TopologyContext, commands: Redis | Cluster, generation: number): Promise<Topology> {
  if (context.connections.target.mode === 'single') {
    const shard = openShard(context, generation, 'redis', undefined, context.keyspace.canaryChannel(context.nodeId));
    return { mode: 'single', generation, shards: [shard], shardFor: () => shard };
  }
  const { commandTimeoutMs } = context.connections;
  const reply = (await withTimeout((commands as Cluster).cluster('SLOTS'), commandTimeoutMs, 'CLUSTER SLOTS')) as unknown;
  const owners = new Int32Array(clusterSlots).fill(-1);
  const targets: { host: string; port: number }[] = [];
  const indexById = new Map<string, number>();
  for (const range of parseClusterSlots(reply)) {
    const { host, port } = mapAddress(context, range.host, range.port);
    const id = `${host}:${port}`;
    let index = indexById.get(id);
    if (index === undefined) {
      index = targets.length;
      indexById.set(id, index);
      targets.push({ host, port });
    }
    owners.fill(index, range.first, range.last + 1);
  }
  if (owners.includes(-1)) throw unavailable('the cluster does not serve every slot');
  const shards = targets.map((target, index) => {
    const tag = tagForSlots((slot) => owners[slot] === index);
    if (tag === undefined) throw unavailable(`no canary slot found for ${target.host}:${target.port}`);
    return openShard(context, generation, `${target.host}:${target.port}`, target, context.keyspace.canaryChannel(context.nodeId, tag));
  });
  return { mode: 'cluster', generation, shards, shardFor: (channel) => shards[owners[keySlot(channel)] as number] };
}

export function disposeTopology(topology: Topology | undefined): void {
  for (const shard of topology?.shards ?? []) shard.connection.disconnect();
}

export function subscribeShard(topology: Topology, shard: Shard, channels: string[]): Promise<unknown> {
  if (topology.mode === 'single') return shard.connection.subscribe(...channels);
  // SSUBSCRIBE takes channels of one slot per call.
  return Promise.all([...groupBySlot(channels).values()].map((group) => shard.connection.ssubscribe(...group)));
}

export function unsubscribeShard(topology: Topology, shard: Shard, channels: string[]): Promise<unknown> {
  if (topology.mode === 'single') return shard.connection.unsubscribe(...channels);
  return Promise.all([...groupBySlot(channels).values()].map((group) => shard.connection.sunsubscribe(...group)));
}

/**
 * Subscribes each shard to exactly the channels in `needed`: subscribes what is missing, unsubscribes what
 * is no longer needed. `needed` is read live: patterns may come and go while we subscribe, so this repeats
 * until a pass finds nothing to subscribe. `assertCurrent` throws to stop a pass that was overtaken.
 */
export async function syncChannels(topology: Topology, needed: ReadonlyMap<string, unknown>, assertCurrent: () => void): Promise<void> {
  for (;;) {
    assertCurrent();
    const toSubscribe = new Map<Shard, string[]>();
    for (const channel of needed.keys()) {
      const shard = topology.shardFor(channel);
      if (shard === undefined) throw unavailable(`no Redis node serves channel ${channel}`);
      if (shard.channels.has(channel)) continue;
      shard.channels.add(channel);
      let list = toSubscribe.get(shard);
      if (list === undefined) toSubscribe.set(shard, (list = []));
      list.push(channel);
    }
    for (const shard of topology.shards) {
      const stale = [...shard.channels].filter((channel) => !needed.has(channel));
      for (const channel of stale) shard.channels.delete(channel);
      if (stale.length > 0) unsubscribeShard(topology, shard, stale).catch(() => undefined);
    }
    if (toSubscribe.size === 0) return;
    await Promise.all([...toSubscribe].map(([shard, channels]) => subscribeShard(topology, shard, channels)));
  }
}

/** Publishes on a channel the way this mode's subscribers listen: PUBLISH, or SPUBLISH in a cluster. */
export function publishOn(mode: RedisMode, commands: Redis | Cluster, channel: string, message: Buffer): Promise<unknown> {
  return mode === 'cluster' ? (commands as Cluster).spublish(channel, message) : commands.publish(channel, message);
}

function openShard(
  context: TopologyContext,
  generation: number,
  id: string,
  target: { host: string; port: number } | undefined,
  canaryChannel: string,
): Shard {
  const connection = createSubscriberConnection(context.connections, target);
  const shard: Shard = { id, connection, channels: new Set(), canaryChannel };
  const { events } = context;
  const current = (): boolean => {
    const topology = context.current();
    return topology?.generation === generation && topology.shards.includes(shard);
  };
  const cluster = context.connections.target.mode === 'cluster';
  connection.on(cluster ? 'smessageBuffer' : 'messageBuffer', (_channel: Buffer, message: Buffer) => {
    if (current()) events.message(message);
  });
  connection.on('close', () => {
    if (current()) events.closed(id);
  });
  connection.on('error', (error: Error) => {
    events.error(error);
    // A reply ioredis could not pair with a command (e.g. Redis unsubscribed us from a slot that moved):
    // the connection's state is unknown, so drop it and rebuild.
    if (current() && error.message.includes('Command queue state error')) connection.disconnect();
  });
  connection.on('moved', () => {
    if (current()) connection.disconnect();
  });
  return shard;
}

/** A master's address as this node reaches it: through `clusterOptions.natMap`, as the cluster client does. */
function mapAddress(context: TopologyContext, host: string, port: number): { host: string; port: number } {
  const { target } = context.connections;
  const natMap = target.mode === 'cluster' ? target.cluster.clusterOptions?.natMap : undefined;
  const key = `${host}:${port}`;
  const mapped = typeof natMap === 'function' ? natMap(key) : natMap?.[key];
  return mapped === undefined || mapped === null ? { host, port } : { host: mapped.host, port: mapped.port };
}

function groupBySlot(channels: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const channel of channels) {
    const slot = keySlot(channel);
    let group = groups.get(slot);
    if (group === undefined) groups.set(slot, (group = []));
    group.push(channel);
  }
  return groups;
}
