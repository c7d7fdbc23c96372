import { TopicSyntax } from '@switchboard/protocol';

const { separator: topicSeparator, singleSegmentWildcard, tailWildcard } = TopicSyntax;

/**
 * Where the Redis engine keeps a topic's state and how topics map to pub/sub channels. Pure: no I/O.
 *
 * Keys (prefix `sb:` by default; `<tag>` is empty on a single Redis, `{<bucket>}:` in cluster mode):
 *
 * | key / channel                  | type    | holds                                                        |
 * |--------------------------------|---------|--------------------------------------------------------------|
 * | `sb:<tag>m:<topic>`            | hash    | `epoch`, `offset` (last), `floor` (first recoverable offset), `barrier` (why recovery before `floor` fails), `size` (retention), `kept` (the stream exists in this epoch), `until` (expiry), `head` (front entry's expiry) |
 * | `sb:<tag>s:<topic>`            | stream  | retained publications; entry id `<offset>-0`, fields `x` (expiry ms), `b` (body), `t` (time ms) |
 * | `sb:<tag>i:<topic>><key>`      | string  | an idempotency key's first result, `<offset> <epoch> <expiry ms>`, with PX = the window |
 * | `sb:lineage`                   | string  | single Redis with durable persistence: the history its data belongs to (redis-lineage.ts) |
 * | `sb:<tag>t:<topic>`            | channel | every publication of the topic                               |
 * | `sb:<tag>p:<prefix>`           | channel | every publication whose topic starts with `<prefix>.` (prefixes of 0 to `wildcardChannelDepth` segments; the root prefix is empty, and skipped by topics under a reserved root) |
 * | `sb:<tag>c:<node id>`          | channel | the node's readiness canary                                  |
 * | `sb:<ctl>cmd`, `sb:<ctl>r:<node id>` | channel | admin commands to every node, and the answers to one (redis-commands.ts); `<ctl>` is `{ctl}:` in cluster mode |
 *
 * Presence (docs/design/presence.md §3.1; `redis-presence-scripts.ts`): `e:<topic>` (stream of entries, id
 * `<seq>-0`), `pc:<topic>` (counters), `pu:<topic>` (user → members), `pn:<topic>` (nodes with members),
 * `pm:<topic>><node>` (a node's members), all on the topic's tag; `pt:<node>` (topics where the node has
 * members) and `live:<node>` (the node is alive) once per bucket tag; `nodes` (zset) and `sweep:<node>`
 * (lease) on the control tag `{ctl}:` (none on a single Redis). Presence entries travel on the topic channel.
 *
 * `>` separates topic and idempotency key because a topic never contains it (it is a wildcard), so the
 * pair is unambiguous whatever the key holds. Meta and stream share one expiry (`until`: the idle TTL after
 * the last publish, or the newest retained publication's expiry if later), so a topic's state goes as one.
 *
 * Channel mapping, and why. An exact pattern (`orders.eu.1`) subscribes to its topic's channel. A wildcard
 * pattern subscribes to the prefix channel of its literal segments before the first wildcard, cut to
 * `wildcardChannelDepth` (`orders.*.eu` → `p:orders`; `*.eu` and `>` → the root `p:`), and the node
 * filters what arrives with the broker's own matcher (`TopicTrie`). Every publish goes to its topic channel
 * plus its prefix channels, at most `wildcardChannelDepth + 2` channels, from inside the publish script.
 * We do not use PSUBSCRIBE with a glob translation because:
 * - Redis globs cannot say "one segment" (`*` crosses dots), so a glob is only a coarse pre-filter anyway,
 *   exactly like a prefix channel;
 * - every PUBLISH costs Redis a match against every pattern subscription of every node (O(patterns) per
 *   message, server-side), while a prefix channel costs O(1) lookups per publish whatever the subscriptions;
 * - sharded pub/sub (Redis Cluster, SSUBSCRIBE) has no pattern subscriptions at all, and one mapping for
 *   both modes means one code path and one set of tests.
 * The cost is that a node subscribed to `a.*.c` also receives (and drops) the rest of `a.>`; the depth
 * bounds how coarse that is. A node may receive one publication on several channels (topic channel and
 * prefix channels of overlapping patterns): copies come back to back on one connection, and the engine
 * delivers each offset once.
 *
 * Cluster mode: every key and channel of a topic carries the hash tag of the topic's bucket
 * (`crc16(topic) % buckets`), so a topic's meta, stream, idempotency keys and channels live in one slot:
 * the publish script may touch them all, and the shard that runs it SPUBLISHes. Tagging per bucket rather
 * than per topic is what makes wildcards possible with sharded pub/sub: a wildcard pattern subscribes to
 * its prefix channel once per bucket (a fixed, small number of SSUBSCRIBEs), instead of once per slot.
 * Changing `buckets`, `prefix` or `wildcardChannelDepth` relocates or renames state: every node must use
 * the same values, and a change starts new epochs (old history is not found).
 */
export interface RedisKeyspaceOptions {
  /** Prepended to every key and channel. Must not contain `{` or `}` (they are hash tag delimiters). */
  readonly prefix: string;
  /** Cluster mode: the number of buckets topics are spread over. Undefined: a single Redis (no tags). */
  readonly buckets: number | undefined;
  /** Most leading segments a prefix channel names. */
  readonly wildcardChannelDepth: number;
  /**
   * First segments no wildcard-first pattern reaches (the user topic prefix, protocol.md §14.2): their
   * publications skip the root prefix channel `p:`, so a node subscribed to `>` never receives them.
   */
  readonly reservedRoots?: readonly string[];
}

export class RedisKeyspace {
  readonly prefix: string;
  readonly buckets: number | undefined;
  readonly wildcardChannelDepth: number;
  readonly reservedRoots: readonly string[];

  constructor(options: RedisKeyspaceOptions) {
    if (/[{}]/.test(options.prefix)) throw new RangeError(`key prefix must not contain { or }, got ${JSON.stringify(options.prefix)}`);
    if (options.buckets !== undefined && !(Number.isInteger(options.buckets) && options.buckets >= 1 && options.buckets <= 16_384)) {
      throw new RangeError(`buckets must be an integer from 1 to 16384, got ${options.buckets}`);
    }
    if (!(Number.isInteger(options.wildcardChannelDepth) && options.wildcardChannelDepth >= 0)) {
      throw new RangeError(`wildcardChannelDepth must be an integer >= 0, got ${options.wildcardChannelDepth}`);
    }
    this.prefix = options.prefix;
    this.buckets = options.buckets;
    this.wildcardChannelDepth = options.wildcardChannelDepth;
    this.reservedRoots = options.reservedRoots ?? [];
  }

  /** The hash tag part of a topic's keys: empty on a single Redis. */
  tagOf(topic: string): string {
    return this.buckets === undefined ? '' : `{${crc16(Buffer.from(topic)) % this.buckets}}:`;
  }

  metaKey(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}m:${topic}`;
  }

  streamKey(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}s:${topic}`;
  }

  idempotencyKey(topic: string, key: string): string {
    return `${this.prefix}${this.tagOf(topic)}i:${topic}${tailWildcard}${key}`;
  }

  topicChannel(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}t:${topic}`;
  }

  /** Every channel a publication on `topic` goes to: its topic channel, then its prefix channels. */
  publishChannels(topic: string): string[] {
    const tag = this.tagOf(topic);
    const segments = topic.split(topicSeparator);
    const channels = [`${this.prefix}${tag}t:${topic}`];
    const deepest = Math.min(this.wildcardChannelDepth, segments.length - 1);
    // Only wildcard-first patterns listen on the root channel, and they never see a reserved root.
    const shallowest = this.reservedRoots.includes(segments[0] as string) ? 1 : 0;
    for (let depth = shallowest; depth <= deepest; depth++) {
      channels.push(`${this.prefix}${tag}p:${segments.slice(0, depth).join(topicSeparator)}`);
    }
    return channels;
  }

  /**
   * The channels a node subscribes to for a valid pattern: the topic channel for an exact pattern; for a
   * wildcard pattern, its prefix channel (once per bucket in cluster mode).
   */
  subscribeChannels(pattern: string): string[] {
    const segments = pattern.split(topicSeparator);
    const firstWildcard = segments.findIndex((segment) => segment === singleSegmentWildcard || segment === tailWildcard);
    if (firstWildcard === -1) return [this.topicChannel(pattern)];
    const literal = segments.slice(0, Math.min(firstWildcard, this.wildcardChannelDepth)).join(topicSeparator);
    if (this.buckets === undefined) return [`${this.prefix}p:${literal}`];
    return Array.from({ length: this.buckets }, (_, bucket) => `${this.prefix}{${bucket}}:p:${literal}`);
  }

  // --- presence (docs/design/presence.md §3.1): a topic's keys on its slot, a node's per bucket --------

  /** The topic's presence entries: a stream with ids `<seq>-0`. */
  presenceStreamKey(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}e:${topic}`;
  }

  /** The topic's counters: `c` members, `a` anonymous members. */
  presenceCountsKey(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}pc:${topic}`;
  }

  /** User → its members in the topic; `HLEN` is the distinct user count. */
  presenceUsersKey(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}pu:${topic}`;
  }

  /** The nodes that hold members of the topic. */
  presenceNodesKey(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}pn:${topic}`;
  }

  /** One node's members of the topic: connection id → member. */
  presenceMembersKey(topic: string, nodeId: string): string {
    return `${this.presenceMembersPrefix(topic)}${nodeId}`;
  }

  /** `presenceMembersKey` without the node, for scripts that read every node's members of a topic. */
  presenceMembersPrefix(topic: string): string {
    return `${this.prefix}${this.tagOf(topic)}pm:${topic}${tailWildcard}`;
  }

  /** The topics of one bucket (`tag`, from `tagOf` or `bucketTags`) where the node has members: the sweep index. */
  nodeTopicsKey(tag: string, nodeId: string): string {
    return `${this.prefix}${tag}pt:${nodeId}`;
  }

  /** The node is alive in one bucket (`tag`) while this key exists; its expiry is the node TTL. */
  liveKey(tag: string, nodeId: string): string {
    return `${this.prefix}${tag}live:${nodeId}`;
  }

  /** Every bucket's tag: `['']` on a single Redis, `{0}:` to `{buckets-1}:` in cluster mode. */
  bucketTags(): string[] {
    if (this.buckets === undefined) return [''];
    return Array.from({ length: this.buckets }, (_, bucket) => `{${bucket}}:`);
  }

  /** Node → liveness deadline (Redis clock): which nodes exist, and which are due for a sweep. */
  nodesKey(): string {
    return `${this.prefix}${this.controlTag()}nodes`;
  }

  /** Who sweeps a dead node: `SET NX PX`, so one node does it at a time. */
  sweepLeaseKey(nodeId: string): string {
    return `${this.prefix}${this.controlTag()}sweep:${nodeId}`;
  }

  /** Admin commands to every node (redis-commands.ts); on the control slot, so SPUBLISH reaches them all. */
  commandChannel(): string {
    return `${this.prefix}${this.controlTag()}cmd`;
  }

  /** Where the nodes answer a command of node `nodeId`. */
  answerChannel(nodeId: string): string {
    return `${this.prefix}${this.controlTag()}r:${nodeId}`;
  }

  /** The tag of the cluster-wide keys and channels (`nodes`, sweep leases, commands): one slot in cluster mode, none on a single Redis. */
  private controlTag(): string {
    return this.buckets === undefined ? '' : '{ctl}:';
  }

  /** A single Redis's history lineage (redis-lineage.ts): one string for the whole deployment. */
  lineageKey(): string {
    return `${this.prefix}lineage`;
  }

  /** The canary channel of a node; in cluster mode `hashTag` puts it on a chosen shard (see `tagForSlots`). */
  canaryChannel(nodeId: string, hashTag?: string): string {
    return hashTag === undefined ? `${this.prefix}c:${nodeId}` : `${this.prefix}{${hashTag}}:c:${nodeId}`;
  }
}

/**
 * A hash tag whose slot satisfies `wanted`: `c0`, `c1`, ... tried in order, so every node picks the same
 * one. Used to place a canary channel on a given shard. Undefined if none of the first 100000 qualifies.
 */
export function tagForSlots(wanted: (slot: number) => boolean): string | undefined {
  for (let index = 0; index < 100_000; index++) {
    const tag = `c${index}`;
    if (wanted(crc16(Buffer.from(tag)) % clusterSlots)) return tag;
  }
  return undefined;
}

/** Number of hash slots in a Redis Cluster. */
export const clusterSlots = 16_384;

/** The Redis Cluster hash slot of a key or shard channel, honouring `{hash tags}` (Redis Cluster spec, "Hash tags"). */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    // "If there is a { ... and a } on the right of the {, and there are one or more characters between":
    // only then is the tag hashed instead of the whole key.
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % clusterSlots;
  }
  return crc16(bytes) % clusterSlots;
}

const crcTable = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/**
 * CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the checksum Redis Cluster hashes keys with.
 *
 * Ours rather than the `cluster-key-slot` package that ioredis 5 uses: that one hashes a key with an empty
 * first tag and a later one (`foo{}{bar}`) differently from Redis, its repository is archived (ioredis 6
 * and node-redis now carry their own fixed copy), and it returns only the 14-bit slot, while a topic's
 * bucket is the full CRC modulo `buckets`. `test/engine/engine-redis-cluster.test.ts` checks our slots
 * against `CLUSTER KEYSLOT`.
 */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (crcTable[((crc >> 8) ^ byte) & 0xff] as number);
  return crc;
}
