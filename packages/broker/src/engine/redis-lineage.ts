import type { Redis } from 'ioredis';
import { parseDurability, parseReplication } from './redis-replies.js';

/**
 * Which history a single Redis's data belongs to: the `gen` the scripts store with every topic, a topic
 * written under another one starting a new epoch (redis-scripts.ts). It must change whenever the data may
 * lack acknowledged publications, or their offsets would be handed out again; it should not change when the
 * data is whole, or every client resyncs for nothing.
 *
 * - Without durable persistence (`appendonly yes` and `appendfsync always`, read with `CONFIG GET`; a Redis
 *   that refuses CONFIG counts as not durable) it is the master's `master_replid`, new after every restart
 *   and every failover: topics start new epochs after either.
 * - With it, a restart loses nothing that was acknowledged (Redis syncs the AOF before it replies), so the
 *   lineage is kept in Redis itself, in the lineage key, and survives the restart: topics keep their epochs.
 *   It is set to the `master_replid` when the key is missing (then so is the data written before), or when
 *   the server took over from another master (`master_replid2` is set: a promoted replica may lack the last
 *   writes, replication being asynchronous). Every node writes the same value, so nodes never disagree.
 *   Not covered: a promoted replica restarted before any node reconnected to it keeps the old lineage.
 */

/** What the engine reads from Redis to decide. */
export interface ServerFacts {
  /** `master_replid`. */
  readonly replicationId: string;
  /** `master_replid2` is set: the server took over from another master (a failover). */
  readonly promoted: boolean;
  /** `appendonly yes` with `appendfsync always`. */
  readonly durable: boolean;
  /** The lineage key's value; undefined when it is missing. */
  readonly stored: string | undefined;
}

export interface Lineage {
  /** Passed to the scripts as `gen`. */
  readonly gen: string;
  /** Whether to write `gen` to the lineage key. */
  readonly store: boolean;
}

export function decideLineage(facts: ServerFacts): Lineage {
  const { replicationId, promoted, durable, stored } = facts;
  if (!durable) return { gen: replicationId, store: false };
  if (stored === undefined || stored === '' || (promoted && stored !== replicationId)) return { gen: replicationId, store: true };
  return { gen: stored, store: false };
}

/** Reads the facts, writes the lineage key if needed, and returns the `gen` for the scripts. */
export async function readLineage(redis: Redis, key: string): Promise<string> {
  const { replicationId, promoted } = parseReplication(String(await redis.info('replication')));
  const durable = parseDurability(await redis.config('GET', 'append*').catch(() => undefined));
  const stored = durable ? ((await redis.get(key)) ?? undefined) : undefined;
  const lineage = decideLineage({ replicationId, promoted, durable, stored });
  if (lineage.store) await redis.set(key, lineage.gen);
  return lineage.gen;
}
